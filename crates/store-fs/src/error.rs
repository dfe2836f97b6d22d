//! File system errors as [`StoreError`]s, and the etag comparisons every condition uses.

use std::io;
use std::path::Path;

use store_core::{ErrorKind, StoreError};

/// Maps an I/O error met while doing `action` on `path` to a [`StoreError`] whose kind a caller
/// can act on: a missing file is `NotFound`, a name the file system refuses (too long) is
/// `InvalidInput`, missing permissions are `Unauthorized`, a full disk or an interrupted call is
/// `Unavailable`, and everything else is `Internal`. The I/O error is chained as the source.
pub(crate) fn io_error(action: &str, path: &Path, e: io::Error) -> StoreError {
    let kind = match e.kind() {
        io::ErrorKind::NotFound => ErrorKind::NotFound,
        io::ErrorKind::InvalidFilename => ErrorKind::InvalidInput,
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            ErrorKind::Unauthorized
        }
        io::ErrorKind::StorageFull
        | io::ErrorKind::QuotaExceeded
        | io::ErrorKind::Interrupted
        | io::ErrorKind::TimedOut
        | io::ErrorKind::WouldBlock => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    };
    let hint = match kind {
        ErrorKind::InvalidInput => " (the key's path is too long for this file system)",
        _ => "",
    };
    StoreError::new(
        kind,
        format!("cannot {action} `{}`: {e}{hint}", path.display()),
    )
    .with_source(e)
}

/// The error of an object file that cannot be read back as written.
pub(crate) fn corrupt(path: &Path, why: impl std::fmt::Display) -> StoreError {
    StoreError::internal(format!(
        "the object file `{}` is corrupt: {why}",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_kinds_map_to_store_kinds() {
        let p = Path::new("/x");
        let kind = |k: io::ErrorKind| io_error("open", p, io::Error::from(k)).kind();
        assert_eq!(kind(io::ErrorKind::NotFound), ErrorKind::NotFound);
        assert_eq!(
            kind(io::ErrorKind::InvalidFilename),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(io::ErrorKind::PermissionDenied),
            ErrorKind::Unauthorized
        );
        assert_eq!(kind(io::ErrorKind::StorageFull), ErrorKind::Unavailable);
        assert_eq!(kind(io::ErrorKind::Other), ErrorKind::Internal);
    }
}
