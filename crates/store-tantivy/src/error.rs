//! tantivy errors mapped to [`StoreError`] kinds.

use std::path::Path;

use store_core::{ErrorKind, StoreError};
use tantivy::TantivyError;
use tantivy::directory::error::LockError;

/// The backend name errors, health reports and
/// [`SearchIndex::backend`](store_core::SearchIndex::backend) carry.
pub const BACKEND: &str = "tantivy";

/// The [`ErrorKind`] of a tantivy error.
///
/// | tantivy error | kind |
/// |---|---|
/// | `LockFailure(LockBusy)` (another writer holds the index) | `Conflict` |
/// | `IoError`, `OpenDirectoryError`, `OpenReadError`, `OpenWriteError`, other lock failures | `Unavailable` |
/// | `InvalidArgument`, `SchemaError`, `FieldNotFound`, `IndexBuilderMissingArgument` | `InvalidInput` |
/// | `IndexAlreadyExists` | `AlreadyExists` |
/// | `DataCorruption`, anything else | `Internal` |
pub fn kind_of_error(e: &TantivyError) -> ErrorKind {
    match e {
        TantivyError::LockFailure(LockError::LockBusy, _) => ErrorKind::Conflict,
        TantivyError::LockFailure(..)
        | TantivyError::IoError(_)
        | TantivyError::OpenDirectoryError(_)
        | TantivyError::OpenReadError(_)
        | TantivyError::OpenWriteError(_) => ErrorKind::Unavailable,
        TantivyError::InvalidArgument(_)
        | TantivyError::SchemaError(_)
        | TantivyError::FieldNotFound(_)
        | TantivyError::IndexBuilderMissingArgument(_) => ErrorKind::InvalidInput,
        TantivyError::IndexAlreadyExists => ErrorKind::AlreadyExists,
        _ => ErrorKind::Internal,
    }
}

/// A tantivy error as a [`StoreError`] of its kind.
pub(crate) fn from_tantivy(e: TantivyError) -> StoreError {
    StoreError::new(kind_of_error(&e), format!("tantivy: {e}")).with_backend(BACKEND)
}

/// `?`-friendly conversion of tantivy results.
pub(crate) trait OrStore<T> {
    /// The result with a tantivy error turned into a [`StoreError`].
    fn or_store(self) -> store_core::Result<T>;
}

impl<T, E: Into<TantivyError>> OrStore<T> for Result<T, E> {
    fn or_store(self) -> store_core::Result<T> {
        self.map_err(|e| from_tantivy(e.into()))
    }
}

/// The error of opening a writer on the index in `dir` when tantivy refused it.
pub(crate) fn writer_error(dir: &Path, e: TantivyError) -> StoreError {
    match e {
        TantivyError::LockFailure(LockError::LockBusy, _) => StoreError::conflict(format!(
            "the search index in {} is already open for writing (by another process, or by \
             another TantivyIndex in this process); one writer per index: stop the other, or \
             share the open index (TantivyIndex is Clone)",
            dir.display()
        ))
        .with_retryable(false)
        .with_backend(BACKEND),
        other => from_tantivy(other),
    }
}

/// The error of an I/O call on the index directory.
pub(crate) fn io_error(what: &str, dir: &Path, e: &std::io::Error) -> StoreError {
    StoreError::unavailable(format!("cannot {what} {}: {e}", dir.display())).with_backend(BACKEND)
}
