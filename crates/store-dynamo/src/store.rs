//! [`DynamoStore`]: a [`DocumentStore`] on one DynamoDB table.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use store_core::document::validate::{self, check_key};
use store_core::document::{
    BatchWriteOptions, BatchWriteReport, DeleteItemOptions, DocumentCapabilities, DocumentStore,
    GetItemOptions, PutItemOptions, Query, Scan, TransactAction, Update, UpdateOptions, WriteOp,
};
use store_core::{
    Cursor, DocKey, Document, Health, HealthReport, KeySchema, Page, Result, RetryPolicy,
    StoreError, TableName,
};

use crate::convert::Item;
use crate::error::{BACKEND, map_sdk_error};

/// The most keys one `BatchGetItem` call reads.
pub const MAX_BATCH_GET_KEYS: usize = 100;
/// The most writes one `BatchWriteItem` call holds (enforced here: some emulators take more).
pub const MAX_BATCH_WRITE_ITEMS: usize = 25;

/// A secondary index the store can query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// The index's key.
    pub schema: KeySchema,
    /// Global (`true`) or local (`false`); only local indexes allow consistent reads.
    pub global: bool,
}

pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) table: TableName,
    pub(crate) schema: KeySchema,
    pub(crate) indexes: BTreeMap<String, IndexInfo>,
    pub(crate) batch_retry: RetryPolicy,
}

/// A [`DocumentStore`] on one DynamoDB table, knowing its key schema and secondary indexes.
///
/// Cheap to clone (clones share the client). Build one with [`DynamoStore::builder`] (the
/// default AWS credential chain, or an endpoint, region, static credentials and retry
/// settings), [`DynamoStore::from_client`] from a client you configured, or
/// [`TableAdmin::open`](crate::TableAdmin::open), which reads the schema from `DescribeTable`.
///
/// Every expression goes through placeholders, every input is checked as DynamoDB checks it
/// before anything is sent, and every SDK error becomes a typed [`StoreError`].
///
/// ```no_run
/// # async fn demo() -> store_core::Result<()> {
/// use store_core::document::{attr, PutItemOptions};
/// use store_core::{Document, DocumentStore, KeySchema, KeyType};
/// use store_dynamo::DynamoStore;
///
/// let schema = KeySchema::partition("user", KeyType::String).with_sort("n", KeyType::Number);
/// let store = DynamoStore::builder("orders", schema)
///     .endpoint("http://127.0.0.1:5000")
///     .region("us-east-1")
///     .static_credentials("test", "test")
///     .build()
///     .await?;
/// let item = Document::new().with("user", "u1").with("n", 1).with("status", "open");
/// store.put(item, PutItemOptions::new().condition(attr("user").not_exists())).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DynamoStore {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.inner.table.as_str())
            .field("schema", &self.inner.schema)
            .field("indexes", &self.inner.indexes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Runs `fut`, putting the backend and `operation` on its error. Spans are the job of
/// `store_layers::TraceLayer`.
pub(crate) async fn in_context<T>(
    operation: &'static str,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    fut.await.map_err(|e| e.in_context(BACKEND, operation))
}

pub(crate) fn build_error(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::internal("a DynamoDB request could not be built").with_source(e)
}

pub(crate) fn non_empty(item: Option<Item>) -> Option<Item> {
    item.filter(|i| !i.is_empty())
}

impl DynamoStore {
    /// A store on `table` configured entirely by aws-config's default chain (environment,
    /// profile, `AWS_ENDPOINT_URL`...).
    pub async fn from_env(table: impl Into<String>, schema: KeySchema) -> Result<Self> {
        Self::builder(table, schema).build().await
    }

    /// A store on `table` through a client you configured, with the table's primary key. Add
    /// secondary indexes with [`with_index`](Self::with_index).
    pub fn from_client(client: Client, table: &str, schema: KeySchema) -> Result<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                table: TableName::new(table)?,
                schema,
                indexes: BTreeMap::new(),
                batch_retry: RetryPolicy::default(),
            }),
        })
    }

    /// Starts a builder for `table` with its primary key.
    pub fn builder(table: impl Into<String>, schema: KeySchema) -> crate::DynamoStoreBuilder {
        crate::DynamoStoreBuilder::new(table, schema)
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    fn inner_mut(&mut self) -> &mut Inner {
        if Arc::get_mut(&mut self.inner).is_none() {
            self.inner = Arc::new(Inner {
                client: self.inner.client.clone(),
                table: self.inner.table.clone(),
                schema: self.inner.schema.clone(),
                indexes: self.inner.indexes.clone(),
                batch_retry: self.inner.batch_retry.clone(),
            });
        }
        Arc::get_mut(&mut self.inner).expect("unique after clone")
    }

    /// Declares a global secondary index the table has (name and key).
    pub fn with_index(mut self, name: &str, schema: KeySchema) -> Self {
        self.inner_mut().indexes.insert(
            name.to_owned(),
            IndexInfo {
                schema,
                global: true,
            },
        );
        self
    }

    /// Declares a secondary index with its kind.
    pub fn with_index_info(mut self, name: &str, info: IndexInfo) -> Self {
        self.inner_mut().indexes.insert(name.to_owned(), info);
        self
    }

    /// Sets the backoff of batch retries (unprocessed items and keys, throttled batch calls).
    pub fn with_batch_retry(mut self, policy: RetryPolicy) -> Self {
        self.inner_mut().batch_retry = policy;
        self
    }

    /// The native client, for anything this library does not cover.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The secondary indexes the store knows.
    pub fn indexes(&self) -> &BTreeMap<String, IndexInfo> {
        &self.inner.indexes
    }

    pub(crate) fn table(&self) -> &str {
        self.inner.table.as_str()
    }

    pub(crate) fn schema(&self) -> &KeySchema {
        &self.inner.schema
    }

    /// Checks an item about to be stored and returns its key (as the memory backend does).
    pub(crate) fn check_new_item(&self, item: &Document) -> Result<DocKey> {
        validate::check_new_item(item, &self.inner.schema, self.index_schemas())
    }

    /// The key schemas of the table's secondary indexes.
    pub(crate) fn index_schemas(&self) -> impl Iterator<Item = &KeySchema> + Clone {
        self.inner.indexes.values().map(|index| &index.schema)
    }

    pub(crate) fn checked_key(&self, key: &DocKey) -> Result<()> {
        check_key(&self.inner.schema, key).map_err(|e| e.with_target(key.to_string()))
    }
}

#[async_trait]
impl Health for DynamoStore {
    async fn health(&self) -> Result<HealthReport> {
        in_context("health", async {
            let start = Instant::now();
            let out = self
                .inner
                .client
                .describe_table()
                .table_name(self.table())
                .send()
                .await
                .map_err(|e| map_sdk_error(e, "health", self.table()))?;
            let status = out
                .table()
                .and_then(|t| t.table_status())
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|| "unknown".to_owned());
            Ok(HealthReport {
                backend: BACKEND,
                latency: start.elapsed(),
                detail: Some(format!("table `{}` is {status}", self.table())),
            })
        })
        .await
    }
}

#[async_trait]
impl DocumentStore for DynamoStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn table_name(&self) -> &str {
        self.table()
    }

    fn key_schema(&self) -> &KeySchema {
        self.schema()
    }

    fn capabilities(&self) -> DocumentCapabilities {
        DocumentCapabilities::all()
    }

    async fn put(&self, item: Document, options: PutItemOptions) -> Result<Option<Document>> {
        in_context("put", self.run_put(item, options)).await
    }

    async fn get(&self, key: &DocKey, options: GetItemOptions) -> Result<Option<Document>> {
        in_context("get", self.run_get(key, options))
            .await
            .map_err(|e| e.with_target(key.to_string()))
    }

    async fn update(
        &self,
        key: &DocKey,
        update: &Update,
        options: UpdateOptions,
    ) -> Result<Option<Document>> {
        in_context("update", self.run_update(key, update, options)).await
    }

    async fn delete(&self, key: &DocKey, options: DeleteItemOptions) -> Result<Option<Document>> {
        in_context("delete", self.run_delete(key, options)).await
    }

    async fn query_page(&self, query: &Query, cursor: Option<Cursor>) -> Result<Page<Document>> {
        in_context("query", self.run_query(query, cursor))
            .await
            .map_err(|e| e.with_target(self.table().to_owned()))
    }

    async fn scan_page(&self, scan: &Scan, cursor: Option<Cursor>) -> Result<Page<Document>> {
        in_context("scan", self.run_scan(scan, cursor))
            .await
            .map_err(|e| e.with_target(self.table().to_owned()))
    }

    async fn batch_get(&self, keys: &[DocKey], options: GetItemOptions) -> Result<Vec<Document>> {
        in_context("batch_get", self.run_batch_get(keys, options)).await
    }

    async fn batch_write(
        &self,
        ops: Vec<WriteOp>,
        options: BatchWriteOptions,
    ) -> Result<BatchWriteReport> {
        in_context("batch_write", self.run_batch_write(ops, options)).await
    }

    async fn transact_write(&self, actions: Vec<TransactAction>) -> Result<()> {
        in_context("transact_write", self.run_transact_write(actions)).await
    }

    async fn transact_get(&self, keys: &[DocKey]) -> Result<Vec<Option<Document>>> {
        in_context("transact_get", self.run_transact_get(keys)).await
    }
}
