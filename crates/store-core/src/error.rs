//! One error type for every backend: [`StoreError`] with a matchable [`ErrorKind`].

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::document::CancellationReason;
use crate::value::Document;

/// Shorthand for results whose error is a [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What went wrong, in terms a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The object, item, row, table, bucket or index does not exist.
    NotFound,
    /// A create-only write found something already there.
    AlreadyExists,
    /// A condition on the write or read did not hold (etag, version, condition expression).
    PreconditionFailed,
    /// Concurrent work collided (transaction cancelled, serialization failure, deadlock).
    Conflict,
    /// The service asked us to slow down.
    Throttled,
    /// The service could not be reached or did not answer in time.
    Unavailable,
    /// The request was malformed or violated a limit; fix the input, do not retry.
    InvalidInput,
    /// Credentials are missing, wrong or lack permission.
    Unauthorized,
    /// The backend cannot perform this operation.
    Unsupported,
    /// Anything else: a bug, a surprising answer, a decoding failure.
    Internal,
}

impl ErrorKind {
    /// Whether an operation that failed with this kind may succeed when tried again unchanged.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Throttled | Self::Unavailable | Self::Conflict)
    }

    /// A short lowercase name, as used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not found",
            Self::AlreadyExists => "already exists",
            Self::PreconditionFailed => "precondition failed",
            Self::Conflict => "conflict",
            Self::Throttled => "throttled",
            Self::Unavailable => "unavailable",
            Self::InvalidInput => "invalid input",
            Self::Unauthorized => "unauthorized",
            Self::Unsupported => "unsupported",
            Self::Internal => "internal error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

struct Inner {
    kind: ErrorKind,
    message: Cow<'static, str>,
    backend: Option<Cow<'static, str>>,
    operation: Option<Cow<'static, str>>,
    target: Option<String>,
    retry_after: Option<Duration>,
    retryable: Option<bool>,
    status_code: Option<Cow<'static, str>>,
    source: Option<Source>,
    reasons: Vec<CancellationReason>,
    item: Option<Document>,
    missing_collection: bool,
}

/// The error every `stores` operation returns.
///
/// It carries a [`ErrorKind`] to match on, a message that says what failed and what to do,
/// the backend, operation and target (key, table, index) it concerns, an optional server-given
/// retry delay, and the underlying error as its [`source`](std::error::Error::source).
///
/// ```
/// use store_core::{ErrorKind, StoreError};
/// let err = StoreError::not_found("no object at this key")
///     .with_backend("memory")
///     .with_operation("get")
///     .with_target("reports/2024.csv");
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert!(!err.is_retryable());
/// assert_eq!(
///     err.to_string(),
///     "memory get `reports/2024.csv`: not found: no object at this key"
/// );
/// ```
pub struct StoreError(Box<Inner>);

impl StoreError {
    /// A new error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self(Box::new(Inner {
            kind,
            message: message.into(),
            backend: None,
            operation: None,
            target: None,
            retry_after: None,
            retryable: None,
            status_code: None,
            source: None,
            reasons: Vec::new(),
            item: None,
            missing_collection: false,
        }))
    }

    /// A [`ErrorKind::NotFound`] error.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// A [`ErrorKind::AlreadyExists`] error.
    pub fn already_exists(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::AlreadyExists, message)
    }

    /// A [`ErrorKind::PreconditionFailed`] error.
    pub fn precondition_failed(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::PreconditionFailed, message)
    }

    /// A [`ErrorKind::Conflict`] error.
    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// A [`ErrorKind::Throttled`] error.
    pub fn throttled(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Throttled, message)
    }

    /// A [`ErrorKind::Unavailable`] error.
    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// A [`ErrorKind::InvalidInput`] error.
    pub fn invalid_input(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// A [`ErrorKind::Unauthorized`] error.
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unauthorized, message)
    }

    /// A [`ErrorKind::Unsupported`] error.
    pub fn unsupported(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// A [`ErrorKind::Internal`] error.
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Names the backend (`"s3"`, `"dynamodb"`, `"memory"`, ...).
    pub fn with_backend(mut self, backend: impl Into<Cow<'static, str>>) -> Self {
        self.0.backend = Some(backend.into());
        self
    }

    /// Names the operation (`"put"`, `"query"`, ...).
    pub fn with_operation(mut self, operation: impl Into<Cow<'static, str>>) -> Self {
        self.0.operation = Some(operation.into());
        self
    }

    /// Names what the operation worked on: a key, table, index or bucket.
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.0.target = Some(target.into());
        self
    }

    /// Records the delay the server asked for before a retry (for example `Retry-After`).
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.0.retry_after = Some(delay);
        self
    }

    /// Records the status the server answered with, as the service writes it: an HTTP status
    /// (`"404"`), a PostgreSQL SQLSTATE (`"23505"`). It is the OpenTelemetry
    /// `db.response.status_code` of the failed call.
    pub fn with_status_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.0.status_code = Some(code.into());
        self
    }

    /// The status the server answered with, when it answered ([`with_status_code`](Self::with_status_code)).
    pub fn status_code(&self) -> Option<&str> {
        self.0.status_code.as_deref()
    }

    /// Overrides whether the error is retryable, when the kind alone does not decide it.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.0.retryable = Some(retryable);
        self
    }

    /// Chains the underlying error.
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// Marks a [`ErrorKind::NotFound`] as being about the collection itself (the bucket,
    /// table or index) rather than an entry in it, so that a caller asking whether an entry
    /// exists gets this error instead of "no" ([`ObjectStoreExt::exists`](crate::ObjectStoreExt::exists)).
    ///
    /// ```
    /// use store_core::StoreError;
    /// let err = StoreError::not_found("bucket `logs` does not exist").with_missing_collection();
    /// assert!(err.is_missing_collection());
    /// assert!(!StoreError::not_found("no object at this key").is_missing_collection());
    /// ```
    pub fn with_missing_collection(mut self) -> Self {
        self.0.missing_collection = true;
        self
    }

    /// Whether the error says the collection itself (bucket, table, index) does not exist
    /// ([`with_missing_collection`](Self::with_missing_collection)).
    pub fn is_missing_collection(&self) -> bool {
        self.0.missing_collection
    }

    /// Attaches the per-action reasons of a cancelled transaction.
    pub fn with_cancellation_reasons(mut self, reasons: Vec<CancellationReason>) -> Self {
        self.0.reasons = reasons;
        self
    }

    /// Attaches the item as it stood when a condition failed.
    pub fn with_current_item(mut self, item: Document) -> Self {
        self.0.item = Some(item);
        self
    }

    /// Per-action reasons of a cancelled transaction, in action order (empty otherwise).
    pub fn cancellation_reasons(&self) -> &[CancellationReason] {
        &self.0.reasons
    }

    /// The item as it stood when a condition failed, if the backend returned it.
    pub fn current_item(&self) -> Option<&Document> {
        self.0.item.as_ref()
    }

    /// Fills backend and operation where they are not yet set (adapters call this at their edge).
    pub fn in_context(
        mut self,
        backend: impl Into<Cow<'static, str>>,
        operation: impl Into<Cow<'static, str>>,
    ) -> Self {
        if self.0.backend.is_none() {
            self.0.backend = Some(backend.into());
        }
        if self.0.operation.is_none() {
            self.0.operation = Some(operation.into());
        }
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The human-readable message, without context.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The backend the error came from, if known.
    pub fn backend(&self) -> Option<&str> {
        self.0.backend.as_deref()
    }

    /// The operation that failed, if known.
    pub fn operation(&self) -> Option<&str> {
        self.0.operation.as_deref()
    }

    /// The key, table, index or bucket concerned, if known.
    pub fn target(&self) -> Option<&str> {
        self.0.target.as_deref()
    }

    /// The delay the server asked for before a retry, if it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// Whether trying the same operation again may succeed.
    pub fn is_retryable(&self) -> bool {
        self.0
            .retryable
            .unwrap_or_else(|| self.0.kind.is_retryable())
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.0;
        let mut wrote_context = false;
        if let Some(backend) = &inner.backend {
            write!(f, "{backend}")?;
            wrote_context = true;
        }
        if let Some(operation) = &inner.operation {
            if wrote_context {
                f.write_str(" ")?;
            }
            write!(f, "{operation}")?;
            wrote_context = true;
        }
        if let Some(target) = &inner.target {
            if wrote_context {
                f.write_str(" ")?;
            }
            write!(f, "`{target}`")?;
            wrote_context = true;
        }
        if wrote_context {
            f.write_str(": ")?;
        }
        write!(f, "{}: {}", inner.kind, inner.message)
    }
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.0;
        let mut s = f.debug_struct("StoreError");
        s.field("kind", &inner.kind)
            .field("message", &inner.message);
        if let Some(backend) = &inner.backend {
            s.field("backend", backend);
        }
        if let Some(operation) = &inner.operation {
            s.field("operation", operation);
        }
        if let Some(target) = &inner.target {
            s.field("target", target);
        }
        if let Some(delay) = &inner.retry_after {
            s.field("retry_after", delay);
        }
        if let Some(code) = &inner.status_code {
            s.field("status_code", code);
        }
        if !inner.reasons.is_empty() {
            s.field("cancellation_reasons", &inner.reasons);
        }
        if let Some(source) = &inner.source {
            s.field("source", &source.to_string());
        }
        s.finish()
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl serde::ser::Error for StoreError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::invalid_input(format!("cannot convert to a document value: {msg}"))
    }
}

impl serde::de::Error for StoreError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::invalid_input(format!("cannot convert from a document value: {msg}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn retryable_follows_kind_unless_overridden() {
        assert!(StoreError::throttled("slow down").is_retryable());
        assert!(StoreError::unavailable("down").is_retryable());
        assert!(StoreError::conflict("serialization failure").is_retryable());
        assert!(!StoreError::invalid_input("bad").is_retryable());
        assert!(
            !StoreError::conflict("cancelled")
                .with_retryable(false)
                .is_retryable()
        );
    }

    #[test]
    fn display_without_context_is_kind_and_message() {
        assert_eq!(
            StoreError::unsupported("presign is not available").to_string(),
            "unsupported: presign is not available"
        );
    }

    #[test]
    fn source_is_chained_and_context_filled_once() {
        let io = std::io::Error::other("socket closed");
        let err = StoreError::unavailable("connection lost")
            .with_source(io)
            .with_operation("query")
            .in_context("postgres", "execute");
        assert_eq!(err.operation(), Some("query"));
        assert_eq!(err.backend(), Some("postgres"));
        assert_eq!(err.source().unwrap().to_string(), "socket closed");
    }
}
