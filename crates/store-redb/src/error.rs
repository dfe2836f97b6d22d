//! redb errors mapped to [`StoreError`] kinds.

use std::path::Path;

use store_core::{ErrorKind, StoreError};

/// The backend name errors, health reports and [`DocumentStore::backend`](store_core::DocumentStore::backend) carry.
pub const BACKEND: &str = "redb";

/// The [`ErrorKind`] of a redb error.
///
/// | redb error | kind |
/// |---|---|
/// | `DatabaseAlreadyOpen`, `TransactionInProgress`, savepoint conflicts | `Conflict` |
/// | `Io`, `PreviousIo`, `DatabaseClosed` | `Unavailable` |
/// | `ValueTooLarge` | `InvalidInput` |
/// | `UpgradeRequired` | `Unsupported` |
/// | `Corrupted`, table type mismatches, anything else | `Internal` |
pub fn kind_of_error(e: &redb::Error) -> ErrorKind {
    use redb::Error as E;
    match e {
        E::DatabaseAlreadyOpen
        | E::TransactionInProgress
        | E::PersistentSavepointExists
        | E::EphemeralSavepointExists => ErrorKind::Conflict,
        E::Io(_) | E::PreviousIo | E::DatabaseClosed => ErrorKind::Unavailable,
        E::ValueTooLarge(_) => ErrorKind::InvalidInput,
        E::UpgradeRequired(_) => ErrorKind::Unsupported,
        _ => ErrorKind::Internal,
    }
}

/// A redb error as a [`StoreError`] of its kind.
pub(crate) fn from_redb(e: impl Into<redb::Error>) -> StoreError {
    let e: redb::Error = e.into();
    let kind = kind_of_error(&e);
    StoreError::new(kind, format!("redb: {e}")).with_backend(BACKEND)
}

/// `?`-friendly conversion of redb results.
pub(crate) trait OrStore<T> {
    /// The result with a redb error turned into a [`StoreError`].
    fn or_store(self) -> store_core::Result<T>;
}

impl<T, E: Into<redb::Error>> OrStore<T> for Result<T, E> {
    fn or_store(self) -> store_core::Result<T> {
        self.map_err(from_redb)
    }
}

/// The error of opening `path` when redb refused it.
pub(crate) fn open_error(path: &Path, e: redb::DatabaseError) -> StoreError {
    let shown = path.display();
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::conflict(format!(
            "the store file {shown} is already open for writing (by another process, or by \
             another RedbStore in this process); one writer per file: stop the other, or share \
             the open store (RedbStore is Clone)"
        ))
        .with_retryable(false),
        redb::DatabaseError::UpgradeRequired(version) => StoreError::unsupported(format!(
            "the store file {shown} uses redb file format {version}, which this redb cannot \
             read; upgrade it with the redb version that wrote it"
        )),
        redb::DatabaseError::RepairAborted => StoreError::unavailable(format!(
            "the store file {shown} was not closed cleanly (its writer stopped without closing \
             it), and a read-only open cannot repair it; open it for writing once (or read it \
             with StoredTable::read_repairing), which rolls it back to its last commit"
        ))
        .with_retryable(false),
        redb::DatabaseError::Storage(redb::StorageError::Io(e))
            if e.kind() == std::io::ErrorKind::InvalidData =>
        {
            StoreError::invalid_input(format!(
                "{shown} is not a redb store file (its header is not redb's); open a new or \
                 empty file"
            ))
        }
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(why)) => {
            StoreError::invalid_input(format!(
                "{shown} is not a redb store file, or it is corrupt ({why})"
            ))
        }
        other => {
            let e = redb::Error::from(other);
            let kind = kind_of_error(&e);
            StoreError::new(kind, format!("cannot open the store file {shown}: {e}"))
        }
    }
    .with_backend(BACKEND)
    .with_target(path.display().to_string())
}
