//! [`MemoryDocumentStore`]: the reference [`DocumentStore`], with DynamoDB's semantics.

mod query;
#[cfg(test)]
mod tests;
mod transact;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use async_trait::async_trait;

use crate::document::eval::{apply_update, eval_condition};
use crate::document::validate::{
    check_batch, check_condition, check_key, check_new_item, check_projection, check_update,
};
use crate::document::{
    BatchWriteOptions, BatchWriteReport, Condition, DeleteItemOptions, DocumentCapabilities,
    DocumentStore, GetItemOptions, MAX_TRANSACTION_ACTIONS, PutItemOptions, Query, ReturnValues,
    Scan, TransactAction, Update, UpdateOptions, WriteOp,
};
use crate::error::{Result, StoreError};
use crate::health::{Health, HealthReport};
use crate::keys::{DocKey, KeySchema, TableName};
use crate::page::{Cursor, Page};
use crate::value::Document;

const BACKEND: &str = "memory";

/// The most keys one `batch_get` may read (DynamoDB's limit).
const MAX_BATCH_GET_KEYS: usize = 100;

type Items = BTreeMap<DocKey, Document>;

/// An in-memory table of documents with DynamoDB's semantics: typed keys, conditions,
/// updates, queries in sort-key order, global secondary indexes, scans by segment, batches
/// and all-or-nothing transactions.
///
/// Clones share the same items.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use store_core::document::{attr, PutItemOptions, Query};
/// use store_core::memory::MemoryDocumentStore;
/// use store_core::{Document, DocumentStore, ErrorKind, KeySchema, KeyType};
/// use futures::TryStreamExt;
///
/// let schema = KeySchema::partition("user", KeyType::String).with_sort("n", KeyType::Number);
/// let store = MemoryDocumentStore::new("orders", schema)?;
/// for n in [3, 1, 2] {
///     let item = Document::new().with("user", "u1").with("n", n).with("total", n * 10);
///     store.put(item, PutItemOptions::new()).await?;
/// }
/// let totals: Vec<_> = store
///     .query(Query::partition("u1"))
///     .map_ok(|doc| doc.get("total").and_then(|v| v.as_i64()).unwrap())
///     .try_collect()
///     .await?;
/// assert_eq!(totals, [10, 20, 30]);
///
/// let again = Document::new().with("user", "u1").with("n", 1);
/// let create_only = PutItemOptions::new().condition(attr("user").not_exists());
/// let err = store.put(again, create_only).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
/// # Ok::<_, store_core::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct MemoryDocumentStore {
    table: TableName,
    schema: KeySchema,
    indexes: BTreeMap<String, KeySchema>,
    items: Arc<RwLock<Items>>,
}

impl MemoryDocumentStore {
    /// An empty table; the name must be a valid [`TableName`].
    pub fn new(table_name: &str, schema: KeySchema) -> Result<Self> {
        Ok(Self {
            table: TableName::new(table_name)?,
            schema,
            indexes: BTreeMap::new(),
            items: Arc::new(RwLock::new(BTreeMap::new())),
        })
    }

    /// Adds a global secondary index: items that have its key attributes can be queried by
    /// them; items without them are not in the index. The name follows the table-name rules.
    pub fn with_index(mut self, name: &str, schema: KeySchema) -> Result<Self> {
        TableName::new(name)?;
        if self.indexes.contains_key(name) {
            return Err(StoreError::invalid_input(format!(
                "the table `{}` already has an index named `{name}`",
                self.table
            )));
        }
        self.indexes.insert(name.to_owned(), schema);
        Ok(self)
    }

    /// How many items the table holds.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the table holds no items.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    fn read(&self) -> RwLockReadGuard<'_, Items> {
        self.items.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Items> {
        self.items.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks an item about to be stored and returns its key.
    fn check_new_item(&self, item: &Document) -> Result<DocKey> {
        check_new_item(item, &self.schema, self.indexes.values())
    }

    /// The item after an update (created from its key when missing), checked.
    fn updated(&self, key: &DocKey, old: Option<&Document>, update: &Update) -> Result<Document> {
        let mut new = old
            .cloned()
            .unwrap_or_else(|| self.schema.key_document(key));
        apply_update(&mut new, update)?;
        self.check_new_item(&new)?;
        Ok(new)
    }
}

fn project(doc: &Document, projection: Option<&Vec<String>>) -> Document {
    match projection {
        Some(fields) => doc.project(fields),
        None => doc.clone(),
    }
}

fn check_optional_condition(condition: Option<&Condition>) -> Result<()> {
    condition.map_or(Ok(()), check_condition)
}

/// A failed condition on a single-item write, with the item attached when it was asked for.
fn condition_failed(key: &DocKey, old: Option<&Document>, attach: bool) -> StoreError {
    let err = StoreError::precondition_failed("the condition did not hold; nothing was changed")
        .with_target(key.to_string());
    match old {
        Some(item) if attach => err.with_current_item(item.clone()),
        _ => err,
    }
}

impl MemoryDocumentStore {
    /// The read of `get`, done at once.
    fn get_now(&self, key: &DocKey, options: &GetItemOptions) -> Result<Option<Document>> {
        let run = || {
            check_key(&self.schema, key)?;
            check_projection(options.projection.as_ref())?;
            let items = self.read();
            Ok(items
                .get(key)
                .map(|doc| project(doc, options.projection.as_ref())))
        };
        run().map_err(|e: StoreError| e.with_target(key.to_string()).in_context(BACKEND, "get"))
    }
}

impl fmt::Debug for MemoryDocumentStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDocumentStore")
            .field("table", &self.table.as_str())
            .field("schema", &self.schema)
            .field("indexes", &self.indexes.keys().collect::<Vec<_>>())
            .field("items", &self.len())
            .finish()
    }
}

#[async_trait]
impl Health for MemoryDocumentStore {
    async fn health(&self) -> Result<HealthReport> {
        let start = Instant::now();
        let items = self.len();
        Ok(HealthReport {
            backend: BACKEND,
            latency: start.elapsed(),
            detail: Some(format!("table `{}` holds {items} items", self.table)),
        })
    }
}

#[async_trait]
impl DocumentStore for MemoryDocumentStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn table_name(&self) -> &str {
        self.table.as_str()
    }

    fn key_schema(&self) -> &KeySchema {
        &self.schema
    }

    fn capabilities(&self) -> DocumentCapabilities {
        DocumentCapabilities::all()
    }

    async fn put(&self, item: Document, options: PutItemOptions) -> Result<Option<Document>> {
        let run = || {
            let key = self.check_new_item(&item)?;
            check_optional_condition(options.condition.as_ref())?;
            let mut items = self.write();
            let old = items.get(&key);
            if let Some(condition) = &options.condition
                && !eval_condition(condition, old)
            {
                return Err(condition_failed(&key, old, options.return_old));
            }
            let old = items.insert(key, item);
            Ok(old.filter(|_| options.return_old))
        };
        run().map_err(|e| e.in_context(BACKEND, "put"))
    }

    async fn get(&self, key: &DocKey, options: GetItemOptions) -> Result<Option<Document>> {
        self.get_now(key, &options)
    }

    // Not `async fn`: `#[async_trait]` would box it, which is what this method avoids.
    #[allow(clippy::manual_async_fn)]
    fn get_unboxed<'a>(
        &'a self,
        key: &'a DocKey,
        options: GetItemOptions,
    ) -> impl Future<Output = Result<Option<Document>>> + Send + 'a {
        async move { self.get_now(key, &options) }
    }

    async fn update(
        &self,
        key: &DocKey,
        update: &Update,
        options: UpdateOptions,
    ) -> Result<Option<Document>> {
        let run = || {
            check_key(&self.schema, key)?;
            check_update(update, &self.schema)?;
            check_optional_condition(options.condition.as_ref())?;
            let mut items = self.write();
            let old = items.get(key);
            if let Some(condition) = &options.condition
                && !eval_condition(condition, old)
            {
                let attach = options.returns == ReturnValues::AllOld;
                return Err(condition_failed(key, old, attach));
            }
            let new = self.updated(key, old, update)?;
            let old = items.insert(key.clone(), new.clone());
            Ok(match options.returns {
                ReturnValues::None => None,
                ReturnValues::AllOld => old,
                ReturnValues::AllNew => Some(new),
            })
        };
        run().map_err(|e: StoreError| e.with_target(key.to_string()).in_context(BACKEND, "update"))
    }

    async fn delete(&self, key: &DocKey, options: DeleteItemOptions) -> Result<Option<Document>> {
        let run = || {
            check_key(&self.schema, key)?;
            check_optional_condition(options.condition.as_ref())?;
            let mut items = self.write();
            let old = items.get(key);
            if let Some(condition) = &options.condition
                && !eval_condition(condition, old)
            {
                return Err(condition_failed(key, old, options.return_old));
            }
            let old = items.remove(key);
            Ok(old.filter(|_| options.return_old))
        };
        run().map_err(|e: StoreError| e.with_target(key.to_string()).in_context(BACKEND, "delete"))
    }

    async fn query_page(&self, query: &Query, cursor: Option<Cursor>) -> Result<Page<Document>> {
        self.run_query(query, cursor).map_err(|e| {
            e.with_target(self.table.to_string())
                .in_context(BACKEND, "query")
        })
    }

    async fn scan_page(&self, scan: &Scan, cursor: Option<Cursor>) -> Result<Page<Document>> {
        self.run_scan(scan, cursor).map_err(|e| {
            e.with_target(self.table.to_string())
                .in_context(BACKEND, "scan")
        })
    }

    async fn batch_get(&self, keys: &[DocKey], options: GetItemOptions) -> Result<Vec<Document>> {
        let run = || {
            let mut seen = HashSet::with_capacity(keys.len());
            let distinct: Vec<&DocKey> = keys.iter().filter(|k| seen.insert(*k)).collect();
            if distinct.len() > MAX_BATCH_GET_KEYS {
                return Err(StoreError::invalid_input(format!(
                    "a batch get reads at most {MAX_BATCH_GET_KEYS} distinct keys, got {}",
                    distinct.len()
                )));
            }
            for key in &distinct {
                check_key(&self.schema, key).map_err(|e| e.with_target(key.to_string()))?;
            }
            check_projection(options.projection.as_ref())?;
            let items = self.read();
            Ok(distinct
                .into_iter()
                .filter_map(|key| items.get(key))
                .map(|doc| project(doc, options.projection.as_ref()))
                .collect())
        };
        run().map_err(|e| e.in_context(BACKEND, "batch_get"))
    }

    async fn batch_write(
        &self,
        ops: Vec<WriteOp>,
        _options: BatchWriteOptions,
    ) -> Result<BatchWriteReport> {
        let batch = check_batch(ops, &self.schema, self.indexes.values());
        let mut report = BatchWriteReport {
            written: 0,
            failed: batch
                .refused
                .into_iter()
                .map(|(op, e)| (op, e.in_context(BACKEND, "batch_write")))
                .collect(),
        };
        let mut items = self.write();
        for (key, op) in batch.valid {
            match op {
                WriteOp::Put(item) => {
                    items.insert(key, item);
                }
                WriteOp::Delete(_) => {
                    items.remove(&key);
                }
            }
            report.written += 1;
        }
        Ok(report)
    }

    async fn transact_write(&self, actions: Vec<TransactAction>) -> Result<()> {
        self.run_transaction(actions)
            .map_err(|e| e.in_context(BACKEND, "transact_write"))
    }

    async fn transact_get(&self, keys: &[DocKey]) -> Result<Vec<Option<Document>>> {
        let run = || {
            if keys.len() > MAX_TRANSACTION_ACTIONS {
                return Err(StoreError::invalid_input(format!(
                    "a transaction reads at most {MAX_TRANSACTION_ACTIONS} items, got {}",
                    keys.len()
                )));
            }
            for key in keys {
                check_key(&self.schema, key).map_err(|e| e.with_target(key.to_string()))?;
            }
            let items = self.read();
            Ok(keys.iter().map(|key| items.get(key).cloned()).collect())
        };
        run().map_err(|e| e.in_context(BACKEND, "transact_get"))
    }
}
