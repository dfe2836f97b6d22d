//! [`RedbConfig`]: the builder of a [`RedbStore`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use store_core::{KeyAttribute, KeySchema, KeyType, Result, StoreError, TableName};

use crate::layout::{IndexDef, Layout};
use crate::store::RedbStore;

/// redb's page cache by default: 64 MiB.
pub const DEFAULT_CACHE_SIZE: usize = 64 * 1024 * 1024;

/// Settings of a [`RedbStore`], finished with [`build`](Self::build).
///
/// ```no_run
/// # async fn demo() -> store_core::Result<()> {
/// use store_core::{KeySchema, KeyType};
/// use store_redb::RedbStore;
///
/// let key = KeySchema::partition("user", KeyType::String).with_sort("order", KeyType::Number);
/// let store = RedbStore::builder("data/orders.redb", "orders", key)
///     .index("by-status", KeySchema::partition("status", KeyType::String).with_sort("due", KeyType::Number))
///     .local_index("by-total", "total", KeyType::Number)
///     .cache_size(16 << 20)
///     .build()
///     .await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RedbConfig {
    pub(crate) path: PathBuf,
    table: String,
    schema: KeySchema,
    indexes: Vec<(String, KeySchema, bool)>,
    pub(crate) cache_size: usize,
    pub(crate) create_if_missing: bool,
    pub(crate) read_only: bool,
    pub(crate) ttl_attribute: Option<String>,
    pub(crate) ttl_sweep: Option<Duration>,
}

impl RedbConfig {
    /// Settings for the table `table_name` keyed by `key_schema` in the file at `path`
    /// (created if missing), with no index, a 64 MiB cache, read-write.
    pub fn new(path: impl AsRef<Path>, table_name: &str, key_schema: KeySchema) -> Self {
        Self {
            path: path.as_ref().to_path_buf(),
            table: table_name.to_owned(),
            schema: key_schema,
            indexes: Vec::new(),
            cache_size: DEFAULT_CACHE_SIZE,
            create_if_missing: true,
            read_only: false,
            ttl_attribute: None,
            ttl_sweep: None,
        }
    }

    /// Adds a global secondary index: items that have its key attributes can be queried by
    /// them; items without them are not in it. The name follows the table-name rules. An index
    /// that the file does not hold yet is built from the items when the store opens.
    pub fn index(mut self, name: &str, key_schema: KeySchema) -> Self {
        self.indexes.push((name.to_owned(), key_schema, false));
        self
    }

    /// Adds a local secondary index: the table's partition key with another sort key
    /// (`sort_name` of `sort_type`). Unlike a global index it may be queried with strongly
    /// consistent reads (every index of this store is always consistent).
    pub fn local_index(mut self, name: &str, sort_name: &str, sort_type: KeyType) -> Self {
        let schema = KeySchema {
            partition: self.schema.partition.clone(),
            sort: Some(KeyAttribute::new(sort_name, sort_type)),
        };
        self.indexes.push((name.to_owned(), schema, true));
        self
    }

    /// Bytes of redb's page cache.
    pub fn cache_size(mut self, bytes: usize) -> Self {
        self.cache_size = bytes;
        self
    }

    /// Whether a missing file is created (the default) or is a `NotFound` error.
    pub fn create_if_missing(mut self, create: bool) -> Self {
        self.create_if_missing = create;
        self
    }

    /// Opens the file read-only: nothing is created or changed, writes fail with
    /// `InvalidInput`, and the indexes must already be in the file. Several read-only stores
    /// may share a file, but not with a writer.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Names the TTL attribute, as DynamoDB's `UpdateTimeToLive` does: an item whose value
    /// there is a number of seconds since the Unix epoch at or before now has expired, and
    /// [`RedbStore::purge_expired`] (or the sweep of [`Self::ttl_sweep_every`]) deletes it.
    /// Until then it stays readable, as on DynamoDB. See [`crate::ttl`].
    pub fn ttl_attribute(mut self, attribute: &str) -> Self {
        self.ttl_attribute = Some(attribute.to_owned());
        self
    }

    /// Deletes expired items every `every` on a background task (which needs a Tokio
    /// runtime when the store opens, and ends when the store is dropped). Without it, expired
    /// items are deleted only by [`RedbStore::purge_expired`].
    pub fn ttl_sweep_every(mut self, every: Duration) -> Self {
        self.ttl_sweep = Some(every);
        self
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the store (on a blocking thread): checks or writes the file's record, and builds
    /// new indexes.
    pub async fn build(self) -> Result<RedbStore> {
        RedbStore::with_config(self).await
    }

    /// The table this configuration describes, checked.
    pub(crate) fn layout(&self) -> Result<Layout> {
        let table = TableName::new(self.table.as_str())?;
        if self.ttl_attribute.as_deref().is_some_and(str::is_empty) {
            return Err(StoreError::invalid_input("the TTL attribute name is empty"));
        }
        if self.ttl_sweep.is_some() && self.ttl_attribute.is_none() {
            return Err(StoreError::invalid_input(
                "a TTL sweep needs a TTL attribute (RedbConfig::ttl_attribute)",
            ));
        }
        if self.ttl_sweep.is_some_and(|every| every.is_zero()) {
            return Err(StoreError::invalid_input("the TTL sweep interval is zero"));
        }
        let mut indexes: Vec<IndexDef> = Vec::with_capacity(self.indexes.len());
        for (name, schema, local) in &self.indexes {
            TableName::new(name.as_str())?;
            if indexes.iter().any(|i| i.name == *name) {
                return Err(StoreError::invalid_input(format!(
                    "the table `{table}` already has an index named `{name}`"
                )));
            }
            indexes.push(IndexDef::new(name, schema.clone(), *local));
        }
        Ok(Layout {
            table,
            schema: self.schema.clone(),
            indexes,
        })
    }
}
