//! [`StoredTable`]: what a store file holds, read without knowing its key, so a tool can open
//! any store file as it is ([`StoredTable::config`]).

use std::path::{Path, PathBuf};

use store_core::{KeySchema, Result, StoreError};

use crate::config::RedbConfig;
use crate::db::join_error;
use crate::error::{BACKEND, open_error};
use crate::layout;

/// The table a store file holds: its name, key and secondary indexes, as recorded in the file.
///
/// ```no_run
/// # async fn demo() -> store_core::Result<()> {
/// use store_redb::StoredTable;
///
/// let stored = StoredTable::read("data/orders.redb").await?;
/// println!("{} keyed by {}", stored.table, stored.key_schema.partition.name);
/// // Opened as it is: the same name, key and indexes (none is dropped).
/// let store = stored.config("data/orders.redb").build().await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredTable {
    /// The table's name.
    pub table: String,
    /// Its primary key.
    pub key_schema: KeySchema,
    /// Its secondary indexes.
    pub indexes: Vec<StoredIndex>,
}

/// A secondary index of a [`StoredTable`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredIndex {
    /// The index's name.
    pub name: String,
    /// Its key (for a local index, the table's partition key and the index's sort key).
    pub key_schema: KeySchema,
    /// Whether it is a local index (queried with strong consistency).
    pub local: bool,
}

impl StoredTable {
    /// Reads the table recorded in the store file at `path`, on a blocking thread; the file is
    /// opened read-only and not changed. `NotFound` when there is no file (or an empty one), `InvalidInput` when
    /// it holds no store-redb table, `Unsupported` for a file of a newer format, and
    /// `Conflict` while another process has it open for writing.
    ///
    /// A file whose writer stopped without closing it (a crash) needs a repair that only a
    /// writer's open makes: reading it is `Unavailable` saying so; [`read_repairing`](Self::read_repairing)
    /// repairs it first.
    pub async fn read(path: impl AsRef<Path>) -> Result<Self> {
        Self::read_with(path.as_ref(), false).await
    }

    /// [`read`](Self::read), but a file left unclean by a crash is repaired first: opened for
    /// writing once, which rolls it back to its last commit (nothing acknowledged is lost)
    /// and needs the writer's lock (`Conflict` while another process writes it).
    pub async fn read_repairing(path: impl AsRef<Path>) -> Result<Self> {
        Self::read_with(path.as_ref(), true).await
    }

    async fn read_with(path: &Path, repair: bool) -> Result<Self> {
        let path: PathBuf = path.to_path_buf();
        let shown = path.display().to_string();
        tokio::task::spawn_blocking(move || read_now(&path, repair))
            .await
            .map_err(join_error)?
            .map_err(|e| e.with_target(shown).in_context(BACKEND, "inspect"))
    }

    /// Settings that open the file as it is: its table name, key and every index (an index
    /// left out of a [`RedbConfig`] would be deleted by a writer's open).
    pub fn config(&self, path: impl AsRef<Path>) -> RedbConfig {
        let mut config = RedbConfig::new(path, &self.table, self.key_schema.clone());
        for index in &self.indexes {
            config = match (index.local, &index.key_schema.sort) {
                (true, Some(sort)) => config.local_index(&index.name, &sort.name, sort.key_type),
                _ => config.index(&index.name, index.key_schema.clone()),
            };
        }
        config
    }
}

fn read_now(path: &Path, repair: bool) -> Result<StoredTable> {
    if !path.try_exists().unwrap_or(false) {
        return Err(StoreError::not_found(format!(
            "no store file at {}",
            path.display()
        )));
    }
    // An empty file holds no store yet; opening it for writing makes one in it.
    if path.metadata().is_ok_and(|m| m.is_file() && m.len() == 0) {
        return Err(StoreError::not_found(format!(
            "{} is empty: it holds no store yet",
            path.display()
        )));
    }
    let db = match redb::Builder::new().open_read_only(path) {
        Err(redb::DatabaseError::RepairAborted) if repair => {
            // A writer's open repairs the file; closed again at once.
            drop(
                redb::Builder::new()
                    .open(path)
                    .map_err(|e| open_error(path, e))?,
            );
            redb::Builder::new().open_read_only(path)
        }
        opened => opened,
    }
    .map_err(|e| open_error(path, e))?;
    let record = layout::read_record(&db, path)?;
    Ok(StoredTable {
        table: record.table,
        key_schema: record.key,
        indexes: record
            .indexes
            .into_iter()
            .map(|(name, key_schema, local)| StoredIndex {
                name,
                key_schema,
                local,
            })
            .collect(),
    })
}
