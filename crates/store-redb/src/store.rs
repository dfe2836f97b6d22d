//! [`RedbStore`]: opening, compaction, and the [`DocumentStore`] calls run on blocking threads.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use async_trait::async_trait;
use store_core::document::{
    BatchWriteOptions, BatchWriteReport, DeleteItemOptions, DocumentCapabilities, DocumentStore,
    GetItemOptions, PutItemOptions, Query, Scan, TransactAction, Update, UpdateOptions, WriteOp,
};
use store_core::{
    Cursor, DocKey, Document, Health, HealthReport, KeySchema, Page, Result, StoreError,
};

use crate::config::RedbConfig;
use crate::db::{Db, Inner, join_error};
use crate::error::{BACKEND, OrStore, open_error};
use crate::layout;

/// A [`DocumentStore`] in one redb file: one table with its secondary indexes, every write
/// durable when it returns. See the [crate documentation](crate) for the design.
///
/// Clones share the open file; dropping the last one closes it.
#[derive(Clone)]
pub struct RedbStore {
    pub(crate) inner: Arc<Inner>,
}

impl RedbStore {
    /// Opens (or creates) the table `table_name` keyed by `key_schema` in the file at `path`,
    /// with the defaults of [`RedbConfig`].
    pub async fn open(
        path: impl AsRef<Path>,
        table_name: &str,
        key_schema: KeySchema,
    ) -> Result<Self> {
        Self::builder(path, table_name, key_schema).build().await
    }

    /// Settings to adjust (indexes, cache, read-only) before [`RedbConfig::build`].
    pub fn builder(path: impl AsRef<Path>, table_name: &str, key_schema: KeySchema) -> RedbConfig {
        RedbConfig::new(path, table_name, key_schema)
    }

    pub(crate) async fn with_config(config: RedbConfig) -> Result<Self> {
        let layout = config.layout()?;
        let path = config.path.clone();
        let sweep = config.ttl_sweep.filter(|_| !config.read_only);
        let inner = tokio::task::spawn_blocking(move || -> Result<Inner> {
            let shown = config.path.display();
            let exists = config.path.try_exists().unwrap_or(false);
            if !exists && (!config.create_if_missing || config.read_only) {
                return Err(StoreError::not_found(format!("no store file at {shown}")));
            }
            let mut builder = redb::Builder::new();
            builder.set_cache_size(config.cache_size);
            let db = if config.read_only {
                let db = builder
                    .open_read_only(&config.path)
                    .map_err(|e| open_error(&config.path, e))?;
                layout::check_existing(&db, &layout, &config.path)?;
                Db::ReadOnly(db)
            } else {
                let db = builder
                    .create(&config.path)
                    .map_err(|e| open_error(&config.path, e))?;
                layout::prepare(&db, &layout, &config.path)?;
                Db::Writable(db)
            };
            Ok(Inner {
                db: RwLock::new(db),
                layout,
                path: config.path.clone(),
                ttl: config.ttl_attribute.clone(),
            })
        })
        .await
        .map_err(join_error)?
        .map_err(|e| {
            e.with_target(path.display().to_string())
                .in_context(BACKEND, "open")
        })?;
        let inner = Arc::new(inner);
        if let Some(every) = sweep {
            crate::ttl::spawn_sweeper(&inner, every);
        }
        Ok(Self { inner })
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// How many items the table holds.
    pub async fn len(&self) -> Result<u64> {
        self.run("len", |inner| {
            inner.read(|r| redb::ReadableTableMetadata::len(&r.items).or_store())
        })
        .await
    }

    /// Whether the table holds no items.
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }

    /// Deletes every item expired now by the TTL attribute (see [`crate::ttl`]), in one
    /// durable write transaction that also removes their index entries; returns how many.
    /// `InvalidInput` when the store has no TTL attribute or was opened read-only.
    pub async fn purge_expired(&self) -> Result<u64> {
        self.run("purge_expired", |inner| {
            inner.purge_expired(crate::ttl::now_seconds())
        })
        .await
    }

    /// Rewrites the file to release the space of deleted and replaced items; returns whether
    /// anything was reclaimed. Waits for the calls in flight and holds new ones until done.
    /// A read-only store cannot compact (`InvalidInput`).
    pub async fn compact(&self) -> Result<bool> {
        self.run("compact", |inner| {
            let mut db = inner.db.write().unwrap_or_else(PoisonError::into_inner);
            match &mut *db {
                Db::Writable(db) => db.compact().or_store(),
                Db::ReadOnly(_) => Err(StoreError::invalid_input(
                    "a store opened read-only cannot be compacted",
                )),
            }
        })
        .await
    }

    /// Runs `f` on a blocking thread, so the async runtime never waits on the file. A call
    /// whose future is dropped still finishes (and commits) on its thread.
    pub(crate) async fn run<T, F>(&self, operation: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(join_error)?
            .map_err(|e| e.in_context(BACKEND, operation))
    }
}

impl fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layout = &self.inner.layout;
        f.debug_struct("RedbStore")
            .field("path", &self.inner.path)
            .field("table", &layout.table.as_str())
            .field("schema", &layout.schema)
            .field(
                "indexes",
                &layout.indexes.iter().map(|i| &i.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[async_trait]
impl Health for RedbStore {
    async fn health(&self) -> Result<HealthReport> {
        let start = Instant::now();
        let items = self.len().await?;
        Ok(HealthReport {
            backend: BACKEND,
            latency: start.elapsed(),
            detail: Some(format!(
                "table `{}` in {} holds {items} items",
                self.inner.layout.table,
                self.inner.path.display()
            )),
        })
    }
}

#[async_trait]
impl DocumentStore for RedbStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn table_name(&self) -> &str {
        self.inner.layout.table.as_str()
    }

    fn key_schema(&self) -> &KeySchema {
        &self.inner.layout.schema
    }

    fn capabilities(&self) -> DocumentCapabilities {
        DocumentCapabilities::all()
    }

    async fn put(&self, item: Document, options: PutItemOptions) -> Result<Option<Document>> {
        self.run("put", move |inner| inner.put(item, options)).await
    }

    async fn get(&self, key: &DocKey, options: GetItemOptions) -> Result<Option<Document>> {
        let key = key.clone();
        self.run("get", move |inner| {
            inner
                .get(&key, options)
                .map_err(|e| e.with_target(key.to_string()))
        })
        .await
    }

    async fn update(
        &self,
        key: &DocKey,
        update: &Update,
        options: UpdateOptions,
    ) -> Result<Option<Document>> {
        let (key, update) = (key.clone(), update.clone());
        self.run("update", move |inner| {
            inner
                .update(&key, &update, options)
                .map_err(|e| e.with_target(key.to_string()))
        })
        .await
    }

    async fn delete(&self, key: &DocKey, options: DeleteItemOptions) -> Result<Option<Document>> {
        let key = key.clone();
        self.run("delete", move |inner| {
            inner
                .delete(&key, options)
                .map_err(|e| e.with_target(key.to_string()))
        })
        .await
    }

    async fn query_page(&self, query: &Query, cursor: Option<Cursor>) -> Result<Page<Document>> {
        let query = query.clone();
        self.run("query", move |inner| {
            inner
                .query(&query, cursor)
                .map_err(|e| e.with_target(inner.layout.table.to_string()))
        })
        .await
    }

    async fn scan_page(&self, scan: &Scan, cursor: Option<Cursor>) -> Result<Page<Document>> {
        let scan = scan.clone();
        self.run("scan", move |inner| {
            inner
                .scan(&scan, cursor)
                .map_err(|e| e.with_target(inner.layout.table.to_string()))
        })
        .await
    }

    async fn batch_get(&self, keys: &[DocKey], options: GetItemOptions) -> Result<Vec<Document>> {
        let keys = keys.to_vec();
        self.run("batch_get", move |inner| inner.batch_get(&keys, options))
            .await
    }

    async fn batch_write(
        &self,
        ops: Vec<WriteOp>,
        _options: BatchWriteOptions,
    ) -> Result<BatchWriteReport> {
        self.run("batch_write", move |inner| Ok(inner.batch_write(ops)))
            .await
    }

    async fn transact_write(&self, actions: Vec<TransactAction>) -> Result<()> {
        self.run("transact_write", move |inner| inner.transact_write(actions))
            .await
    }

    async fn transact_get(&self, keys: &[DocKey]) -> Result<Vec<Option<Document>>> {
        let keys = keys.to_vec();
        self.run("transact_get", move |inner| inner.transact_get(&keys))
            .await
    }
}
