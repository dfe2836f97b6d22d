//! Options, requests and results of [`SearchIndex`](super::SearchIndex) calls.

use crate::error::StoreError;
use crate::value::{Document, Value};

/// What a search index can do beyond the basics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SearchCapabilities {
    /// Consistent iteration over any number of hits (point in time).
    pub point_in_time: bool,
    /// Aggregations are computed.
    pub aggregations: bool,
    /// An acknowledged write survives a crash before any refresh (OpenSearch's translog).
    /// Without it (an embedded index that commits on refresh) a mover refreshes after each
    /// batch before it counts the batch as written.
    pub durable_writes: bool,
    /// A document's source comes back with the types it was written with (bytes as bytes,
    /// exact numbers, sets), not as JSON would carry it (bytes as base64 text): a comparison of
    /// its documents with a table's can then tell a BLOB from its base64 text.
    pub typed_source: bool,
}

impl SearchCapabilities {
    /// Nothing beyond the basics (the same as `default()`); add flags with the setters.
    ///
    /// ```
    /// use store_core::search::SearchCapabilities;
    /// let caps = SearchCapabilities::none().point_in_time(true);
    /// assert!(caps.point_in_time && !caps.aggregations);
    /// ```
    pub const fn none() -> Self {
        Self {
            point_in_time: false,
            aggregations: false,
            durable_writes: false,
            typed_source: false,
        }
    }

    /// Every capability this version knows.
    pub const fn all() -> Self {
        Self {
            point_in_time: true,
            aggregations: true,
            durable_writes: true,
            typed_source: true,
        }
    }

    /// Sets whether consistent iteration over any number of hits works.
    pub const fn point_in_time(mut self, on: bool) -> Self {
        self.point_in_time = on;
        self
    }

    /// Sets whether aggregations are computed.
    pub const fn aggregations(mut self, on: bool) -> Self {
        self.aggregations = on;
        self
    }

    /// Sets whether an acknowledged write survives a crash without a refresh.
    pub const fn durable_writes(mut self, on: bool) -> Self {
        self.durable_writes = on;
        self
    }

    /// Sets whether a document's source comes back with the types it was written with.
    pub const fn typed_source(mut self, on: bool) -> Self {
        self.typed_source = on;
        self
    }
}

/// The type of a mapped field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Analyzed full text.
    Text,
    /// Exact string.
    Keyword,
    /// 64-bit integer.
    Long,
    /// 64-bit float.
    Double,
    /// Boolean.
    Boolean,
    /// Date (RFC 3339 text or epoch milliseconds).
    Date,
}

impl FieldType {
    /// The name OpenSearch gives the type in a mapping (`"text"`, `"keyword"`, `"long"`...).
    ///
    /// ```
    /// use store_core::search::FieldType;
    /// assert_eq!(FieldType::Keyword.as_str(), "keyword");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Keyword => "keyword",
            FieldType::Long => "long",
            FieldType::Double => "double",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
        }
    }
}

/// Mappings and settings of a new index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndexSpec {
    /// Explicitly mapped fields; others are mapped dynamically.
    pub fields: Vec<(String, FieldType)>,
    /// Number of primary shards (backend default when unset).
    pub shards: Option<u32>,
    /// Number of replicas (backend default when unset).
    pub replicas: Option<u32>,
    /// Raw settings merged over the typed ones (OpenSearch JSON).
    pub raw_settings: Option<serde_json::Value>,
    /// Raw mappings used instead of the typed fields (OpenSearch JSON).
    pub raw_mappings: Option<serde_json::Value>,
}

impl IndexSpec {
    /// An empty spec: dynamic mapping, backend defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps a field.
    pub fn field(mut self, name: impl Into<String>, field_type: FieldType) -> Self {
        self.fields.push((name.into(), field_type));
        self
    }

    /// Sets the shard count.
    pub fn shards(mut self, n: u32) -> Self {
        self.shards = Some(n);
        self
    }

    /// Sets the replica count.
    pub fn replicas(mut self, n: u32) -> Self {
        self.replicas = Some(n);
        self
    }
}

/// The longest document id a search index accepts, in bytes (OpenSearch's limit).
pub const MAX_ID_BYTES: usize = 512;

/// Checks a document id as every search backend does before anything else: `InvalidInput`
/// when it is empty or longer than [`MAX_ID_BYTES`].
///
/// ```
/// use store_core::search::validate_id;
/// assert!(validate_id("a1").is_ok());
/// assert!(validate_id("").is_err());
/// assert!(validate_id(&"x".repeat(513)).is_err());
/// ```
pub fn validate_id(id: &str) -> Result<(), StoreError> {
    if id.is_empty() {
        return Err(StoreError::invalid_input("a document id must not be empty"));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(StoreError::invalid_input(format!(
            "a document id must be at most {MAX_ID_BYTES} bytes, this one has {}",
            id.len()
        )));
    }
    Ok(())
}

/// A document's version for optimistic concurrency (OpenSearch's `_seq_no` and `_primary_term`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocVersion {
    /// Sequence number of the last write.
    pub seq_no: u64,
    /// Primary term of the last write.
    pub primary_term: u64,
}

/// Whether an index call may replace a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpType {
    /// Create or replace.
    #[default]
    Index,
    /// Create only; an existing id is `AlreadyExists`.
    Create,
}

/// Options of a document write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexOptions {
    /// Create-or-replace, or create only.
    pub op_type: OpType,
    /// Write only if the stored document is at this version, else `PreconditionFailed`.
    pub if_version: Option<DocVersion>,
    /// Make the write visible to search before returning.
    pub refresh: bool,
}

impl IndexOptions {
    /// Create or replace, unconditionally, without refresh.
    pub fn new() -> Self {
        Self::default()
    }

    /// Create only.
    pub fn create_only(mut self) -> Self {
        self.op_type = OpType::Create;
        self
    }

    /// Only at this version.
    pub fn if_version(mut self, version: DocVersion) -> Self {
        self.if_version = Some(version);
        self
    }

    /// Refresh after the write.
    pub fn refresh(mut self) -> Self {
        self.refresh = true;
        self
    }
}

/// A stored document with its id and version.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDoc {
    /// The id.
    pub id: String,
    /// The source document.
    pub source: Document,
    /// The version.
    pub version: DocVersion,
}

/// One operation of a bulk request.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkOp {
    /// Create or replace.
    Index {
        /// The id.
        id: String,
        /// The document.
        doc: Document,
    },
    /// Create only.
    Create {
        /// The id.
        id: String,
        /// The document.
        doc: Document,
    },
    /// Merge a partial document.
    Update {
        /// The id.
        id: String,
        /// The fields to merge.
        partial: Document,
    },
    /// Delete.
    Delete {
        /// The id.
        id: String,
    },
}

impl BulkOp {
    /// The id the operation targets.
    pub fn id(&self) -> &str {
        match self {
            BulkOp::Index { id, .. }
            | BulkOp::Create { id, .. }
            | BulkOp::Update { id, .. }
            | BulkOp::Delete { id } => id,
        }
    }
}

/// One failed item of a bulk request.
#[derive(Debug)]
pub struct BulkFailure {
    /// Position of the operation in the request.
    pub position: usize,
    /// The id.
    pub id: String,
    /// HTTP-style status (404, 409, 400, 429...).
    pub status: u16,
    /// The error.
    pub error: StoreError,
}

/// What a bulk request did.
#[derive(Debug, Default)]
pub struct BulkReport {
    /// Operations that succeeded.
    pub succeeded: usize,
    /// Operations that failed, each with its reason.
    pub failed: Vec<BulkFailure>,
}

impl BulkReport {
    /// Whether every operation succeeded.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

/// One search hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The id.
    pub id: String,
    /// The relevance score, when sorting by score.
    pub score: Option<f64>,
    /// The source document.
    pub source: Document,
    /// The sort values, to pass as `search_after`.
    pub sort: Vec<Value>,
}

/// The result of a search.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchResponse {
    /// How many documents matched in all.
    pub total: u64,
    /// The hits of this page.
    pub hits: Vec<Hit>,
    /// Aggregation results as returned by the backend, if any were asked.
    pub aggregations: Option<serde_json::Value>,
}
