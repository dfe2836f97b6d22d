//! Opening a SQLite database for a location: for writing (its folder must exist), a dry run
//! (read-only, or in memory when the file does not exist yet) or reading (read-only, the file
//! must exist).

use std::path::Path;

use store_rusqlite::SqliteStore;

use super::Access;
use super::created::{Created, remember};
use super::folders::parent_folder_exists;

/// The database at `path`, opened as `access` needs it.
pub(super) async fn open_sqlite(path: &Path, access: Access) -> store_core::Result<SqliteStore> {
    match access {
        Access::Write => {
            parent_folder_exists(path)?;
            let existed = path.exists();
            let store = SqliteStore::open(path).await?;
            if !existed {
                remember(Created::Sqlite(path.to_owned()));
            }
            Ok(store)
        }
        Access::DryRun if !path.exists() => SqliteStore::memory().await,
        Access::DryRun => {
            SqliteStore::builder(path)
                .create_if_missing(false)
                .read_only(true)
                .build()
                .await
        }
        Access::Read => {
            if !path.exists() {
                return Err(store_core::StoreError::not_found(format!(
                    "{} does not exist; check the path",
                    path.display()
                )));
            }
            // Read-only: no writer lock, so readers (several partitions of one backup, or a
            // check beside a running copy) never block each other or a writer.
            SqliteStore::builder(path)
                .create_if_missing(false)
                .read_only(true)
                .build()
                .await
        }
    }
}
