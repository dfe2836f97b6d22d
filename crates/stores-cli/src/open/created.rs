//! The stores a run created (an SQLite database, a store-redb file, a tantivy index, an
//! archive or object folder), so that a command refused after it opened its destination
//! writes nothing, not even an empty store or an empty table: on failure each one that holds
//! no record is removed again. A store that received a record is kept (a resumed run
//! continues there).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use store_core::object::ListOptions;
use store_core::search::SearchQuery;
use store_core::sql::quote_ident;
use store_core::{ErrorKind, ObjectStore as _, SearchIndex, SqlStoreExt as _, Value};
use store_fs::FsStore;
use store_redb::StoredTable;
use store_rusqlite::SqliteStore;
use store_tantivy::TantivyIndex;

use crate::location::BESIDE_DATABASE;

/// A store this run made.
#[derive(Debug)]
pub(super) enum Created {
    /// An SQLite database file (and the files SQLite keeps beside it).
    Sqlite(PathBuf),
    /// A store-redb file.
    Redb(PathBuf),
    /// A tantivy index: its directory `root/index`.
    Tantivy { root: PathBuf, index: String },
    /// An archive folder (a whole backup's, not a partition's: the other partitions may be
    /// writing into it).
    ArchiveDir(PathBuf),
    /// A store-fs folder of objects.
    Objects(PathBuf),
}

static CREATED: Mutex<Vec<Created>> = Mutex::new(Vec::new());

/// Remembers a store this run made.
pub(super) fn remember(created: Created) {
    CREATED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(created);
}

/// Removes each store this run made that is still empty (called once the command failed and
/// its stores are closed).
pub(crate) async fn remove_created_if_empty() {
    let created = std::mem::take(&mut *CREATED.lock().unwrap_or_else(|e| e.into_inner()));
    for store in created {
        match store {
            Created::Sqlite(path) if sqlite_holds_no_row(&path).await => {
                for suffix in BESIDE_DATABASE {
                    let mut file = path.as_os_str().to_owned();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Created::Redb(path) if redb_holds_no_item(&path).await => {
                let _ = std::fs::remove_file(&path);
            }
            Created::Tantivy { root, index } if index_holds_no_document(&root, &index).await => {
                let _ = std::fs::remove_dir_all(root.join(index));
            }
            Created::ArchiveDir(path) if archive_holds_no_part(&path) => {
                let _ = std::fs::remove_dir_all(&path);
            }
            Created::Objects(path) => remove_folder_if_empty(&path).await,
            _ => {}
        }
    }
}

/// Whether the database at `path` opens for writing (no other process writes it: this takes
/// its writer lock) and none of its tables holds a row (a table a refused restore made before
/// its archive proved damaged is empty).
async fn sqlite_holds_no_row(path: &Path) -> bool {
    let opened = SqliteStore::builder(path)
        .create_if_missing(false)
        .build()
        .await;
    let Ok(store) = opened else {
        return false;
    };
    let Ok(tables) = store
        .query_all(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            &[],
        )
        .await
    else {
        return false;
    };
    for table in &tables {
        let Some(name) = table.get("name").and_then(Value::as_str) else {
            return false;
        };
        let probe = format!("SELECT 1 AS one FROM {} LIMIT 1", quote_ident(name));
        match store.query_all(&probe, &[]).await {
            Ok(rows) if rows.is_empty() => {}
            _ => return false,
        }
    }
    true
}

/// Whether the archive folder at `path` has no manifest, no data part and no blob (a
/// backup refused before its first batch wrote only its schema).
fn archive_holds_no_part(path: &Path) -> bool {
    let holds =
        |dir: &Path| std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    let parts = std::fs::read_dir(path.join("data"))
        .map(|collections| collections.flatten().any(|c| holds(&c.path())))
        .unwrap_or(false);
    !parts && !holds(&path.join("blobs")) && !path.join("manifest.json").exists()
}

/// Removes the store-fs folder at `path` if it opens for writing (no other process writes
/// it) and holds no object; the store stays open, so no other writer comes in meanwhile.
async fn remove_folder_if_empty(path: &Path) {
    let opened = FsStore::builder(path)
        .create_if_missing(false)
        .build()
        .await;
    let Ok(store) = opened else {
        return;
    };
    let empty = store
        .list_page(&ListOptions::new().page_size(1), None)
        .await
        .is_ok_and(|page| page.objects.is_empty() && page.next.is_none());
    if empty {
        let _ = std::fs::remove_dir_all(path);
    }
    drop(store);
}

/// Whether the store file at `path` opens and holds no item.
async fn redb_holds_no_item(path: &Path) -> bool {
    let Ok(stored) = StoredTable::read(path).await else {
        return false;
    };
    match stored.config(path).read_only(true).build().await {
        Ok(store) => store.is_empty().await.unwrap_or(false),
        Err(_) => false,
    }
}

/// Whether the index `root/index` opens for writing and holds no document. The writer of the
/// run's own handle releases the index's lock on its thread after the handle is dropped: a
/// `Conflict` is tried again for a while, as that thread finishes.
async fn index_holds_no_document(root: &Path, index: &str) -> bool {
    let mut tries = 0;
    let opened = loop {
        match TantivyIndex::open(root, index).await {
            Err(e) if e.kind() == ErrorKind::Conflict && tries < 100 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            other => break other,
        }
    };
    let Ok(opened) = opened else {
        return false;
    };
    let empty = opened
        .count(&SearchQuery::MatchAll)
        .await
        .is_ok_and(|n| n == 0);
    let closed = opened.close().await;
    empty && closed.is_ok()
}
