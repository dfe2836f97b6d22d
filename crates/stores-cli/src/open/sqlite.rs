//! Opening a SQLite database for a location: for writing (its folder must exist), a dry run
//! (read-only, or in memory when the file does not exist yet) or reading (read-only, the file
//! must exist).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use store_core::SqlStoreExt as _;
use store_rusqlite::SqliteStore;

use super::Access;

/// The database files this run created, so that a command failing before it made a table in
/// one leaves nothing behind.
static CREATED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The files SQLite and the store keep beside a database.
const BESIDE: [&str; 5] = ["", "-wal", "-shm", "-journal", ".writer-lock"];

/// The database at `path`, opened as `access` needs it.
pub(super) async fn open_sqlite(path: &Path, access: Access) -> store_core::Result<SqliteStore> {
    match access {
        Access::Write => {
            // SQLite's own error for this is "unable to open database file", five times over.
            let missing = path
                .parent()
                .filter(|folder| !folder.as_os_str().is_empty() && !folder.exists());
            if let Some(folder) = missing {
                return Err(store_core::StoreError::not_found(format!(
                    "the folder {} does not exist; create it first",
                    folder.display()
                )));
            }
            let existed = path.exists();
            let store = SqliteStore::open(path).await?;
            if !existed {
                let mut created = CREATED.lock().unwrap_or_else(|e| e.into_inner());
                created.push(path.to_owned());
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

/// Removes each database this run created that holds no table, with the files beside it: a
/// command refused after it opened its destination (a table it cannot create, a source that
/// fails before the first write) writes nothing, not even an empty database.
pub(crate) async fn remove_created_if_empty() {
    let created = std::mem::take(&mut *CREATED.lock().unwrap_or_else(|e| e.into_inner()));
    for path in created {
        if holds_no_table(&path).await {
            for suffix in BESIDE {
                let mut file = path.as_os_str().to_owned();
                file.push(suffix);
                let _ = std::fs::remove_file(file);
            }
        }
    }
}

/// Whether the database at `path` opens and has no table, view or index.
async fn holds_no_table(path: &Path) -> bool {
    let opened = SqliteStore::builder(path)
        .create_if_missing(false)
        .read_only(true)
        .build()
        .await;
    let Ok(store) = opened else {
        return false;
    };
    let counted = store
        .query_all("SELECT count(*) AS n FROM sqlite_schema", &[])
        .await;
    counted
        .ok()
        .and_then(|rows| rows.first()?.get("n")?.as_number()?.to_u64())
        == Some(0)
}
