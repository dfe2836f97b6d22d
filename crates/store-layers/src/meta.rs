//! [`OpMeta`]: what one call is, described once, so every layer decides from the same facts.

use std::fmt;

/// The kind of store a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreKind {
    /// An [`ObjectStore`](store_core::ObjectStore).
    Object,
    /// A [`DocumentStore`](store_core::DocumentStore).
    Document,
    /// A [`SqlStore`](store_core::SqlStore).
    Sql,
    /// A [`SearchIndex`](store_core::SearchIndex).
    Search,
}

impl StoreKind {
    /// A short lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Object => "object",
            Self::Document => "document",
            Self::Sql => "sql",
            Self::Search => "search",
        }
    }
}

/// What a call does to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Reads data (get, head, query, search, count).
    Read,
    /// Changes data (put, update, delete, bulk, execute).
    Write,
    /// Lists keys or pages through a collection.
    List,
    /// Changes the store's shape (create or drop an index, begin a transaction, health).
    Admin,
}

/// One call, described once: the store kind, the backend, the operation, the collection it
/// touches, whether it reads or writes, and whether running it twice leaves the same state as
/// running it once (only such calls are retried or hedged by default).
///
/// ```
/// use store_layers::{Access, OpMeta, StoreKind};
/// let meta = OpMeta::new(StoreKind::Document, "memory", "get", Access::Read).collection("users");
/// assert!(meta.idempotent);
/// assert_eq!(meta.to_string(), "get users");
/// ```
///
/// It borrows the names it carries, so describing a call allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpMeta<'a> {
    /// The kind of store.
    pub kind: StoreKind,
    /// The backend's short name (`"s3"`, `"postgres"`, `"memory"`).
    pub backend: &'static str,
    /// The operation (`"get"`, `"batch_write"`, `"search"`).
    pub operation: &'static str,
    /// The bucket, table or index, when the store names one.
    pub collection: Option<&'a str>,
    /// Read, write, list or admin.
    pub access: Access,
    /// Whether the call may safely run more than once.
    pub idempotent: bool,
    /// The statement of a SQL call (placeholders, never parameters), for a
    /// [`TraceLayer`](crate::TraceLayer) told to record it; `None` for other calls.
    pub query_text: Option<&'a str>,
}

impl<'a> OpMeta<'a> {
    /// A call of `operation`; reads and listings are idempotent, writes and admin calls are
    /// not until [`idempotent`](Self::idempotent) says so.
    pub fn new(
        kind: StoreKind,
        backend: &'static str,
        operation: &'static str,
        access: Access,
    ) -> Self {
        Self {
            kind,
            backend,
            operation,
            collection: None,
            access,
            idempotent: matches!(access, Access::Read | Access::List),
            query_text: None,
        }
    }

    /// Names the bucket, table or index.
    pub fn collection(mut self, name: &'a str) -> Self {
        self.collection = (!name.is_empty()).then_some(name);
        self
    }

    /// Says whether the call may safely run more than once.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// The statement the call runs (SQL, with its placeholders).
    pub fn query_text(mut self, text: &'a str) -> Self {
        self.query_text = Some(text);
        self
    }
}

impl fmt::Display for OpMeta<'_> {
    /// `{operation} {collection}`, the OpenTelemetry span name of a database call.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.collection {
            Some(c) => write!(f, "{} {c}", self.operation),
            None => f.write_str(self.operation),
        }
    }
}
