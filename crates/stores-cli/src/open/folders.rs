//! The folder a file store is made in must exist: said in one line, not with the engine's own
//! error (SQLite's "unable to open database file", five times over).

use std::path::Path;

use store_core::StoreError;

/// The error for a `folder` that does not exist.
pub(super) fn missing_folder(folder: &Path) -> StoreError {
    StoreError::not_found(format!(
        "the folder {} does not exist; create it first",
        folder.display()
    ))
}

/// Refuses a file `path` whose folder does not exist (a bare file name is in the current one).
pub(super) fn parent_folder_exists(path: &Path) -> store_core::Result<()> {
    match path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty() && !folder.exists())
    {
        Some(folder) => Err(missing_folder(folder)),
        None => Ok(()),
    }
}
