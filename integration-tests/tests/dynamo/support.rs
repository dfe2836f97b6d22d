//! Temporary tables for the tests: created with their keys and indexes (on-demand, waited
//! until active) and deleted when dropped.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use integration_tests::clients::{dynamo_client, dynamo_client_at};
use integration_tests::fault_proxy::FaultProxy;
use integration_tests::services::{Service, endpoint, setting};
use store_core::document::{
    BatchWriteOptions, BatchWriteReport, DeleteItemOptions, DocumentCapabilities, DocumentStore,
    GetItemOptions, PutItemOptions, Query, Scan, TransactAction, Update, UpdateOptions, WriteOp,
};
use store_core::testkit::document::{DocumentFactory, TableSpec};
use store_core::{
    Cursor, DocKey, Document, Health, HealthReport, KeySchema, KeyType, Page, Result,
};
use store_dynamo::{DynamoStore, DynamoStoreBuilder, TableAdmin, TableDefinition};

/// A table that lives as long as this value: dropped, it deletes its table.
#[derive(Debug)]
pub(crate) struct TempTable {
    pub(crate) store: DynamoStore,
    endpoint: String,
}

impl TempTable {
    /// Creates the table `spec` describes and waits until it is active.
    pub(crate) async fn create(spec: TableSpec) -> Self {
        let endpoint = endpoint(Service::DynamoDb).await;
        let admin = TableAdmin::from_client(dynamo_client().await);
        let mut def = TableDefinition::new(&spec.name, spec.schema);
        for (name, schema) in spec.indexes {
            def = def.index(name, schema);
        }
        let store = admin
            .create(&def, Duration::from_secs(60))
            .await
            .unwrap_or_else(|e| panic!("create table {}: {e}", def.name));
        Self { store, endpoint }
    }

    /// A table named after `behaviour` with `schema`.
    pub(crate) async fn new(behaviour: &str, schema: KeySchema) -> Self {
        Self::create(TableSpec::new(behaviour, schema)).await
    }
}

impl TempTable {
    /// A builder for this table that goes through `proxy`, with the harness's region and
    /// credentials.
    pub(crate) fn builder_through(&self, proxy: &FaultProxy) -> DynamoStoreBuilder {
        DynamoStore::builder(self.store.table_name(), self.store.key_schema().clone())
            .endpoint(proxy.url())
            .region(setting("AWS_REGION").unwrap_or_else(|| "us-east-1".into()))
            .static_credentials(
                setting("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
                setting("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
            )
    }
}

impl Drop for TempTable {
    fn drop(&mut self) {
        let endpoint = self.endpoint.clone();
        let table = self.store.table_name().to_owned();
        // A fresh client on a runtime of its own: the test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let client = dynamo_client_at(&endpoint);
                let _ = client.delete_table().table_name(table).send().await;
            });
        })
        .join();
    }
}

/// The conformance suite's factory: a fresh temporary table per behaviour.
pub(crate) fn factory() -> impl DocumentFactory {
    |spec: TableSpec| async move { Arc::new(TempTable::create(spec).await) as Arc<dyn DocumentStore> }
}

#[async_trait]
impl Health for TempTable {
    async fn health(&self) -> Result<HealthReport> {
        self.store.health().await
    }
}

#[async_trait]
impl DocumentStore for TempTable {
    fn backend(&self) -> &'static str {
        self.store.backend()
    }
    fn table_name(&self) -> &str {
        self.store.table_name()
    }
    fn key_schema(&self) -> &KeySchema {
        self.store.key_schema()
    }
    fn capabilities(&self) -> DocumentCapabilities {
        self.store.capabilities()
    }
    async fn put(&self, item: Document, options: PutItemOptions) -> Result<Option<Document>> {
        self.store.put(item, options).await
    }
    async fn get(&self, key: &DocKey, options: GetItemOptions) -> Result<Option<Document>> {
        self.store.get(key, options).await
    }
    async fn update(
        &self,
        key: &DocKey,
        update: &Update,
        options: UpdateOptions,
    ) -> Result<Option<Document>> {
        self.store.update(key, update, options).await
    }
    async fn delete(&self, key: &DocKey, options: DeleteItemOptions) -> Result<Option<Document>> {
        self.store.delete(key, options).await
    }
    async fn query_page(&self, query: &Query, cursor: Option<Cursor>) -> Result<Page<Document>> {
        self.store.query_page(query, cursor).await
    }
    async fn scan_page(&self, scan: &Scan, cursor: Option<Cursor>) -> Result<Page<Document>> {
        self.store.scan_page(scan, cursor).await
    }
    async fn batch_get(&self, keys: &[DocKey], options: GetItemOptions) -> Result<Vec<Document>> {
        self.store.batch_get(keys, options).await
    }
    async fn batch_write(
        &self,
        ops: Vec<WriteOp>,
        options: BatchWriteOptions,
    ) -> Result<BatchWriteReport> {
        self.store.batch_write(ops, options).await
    }
    async fn transact_write(&self, actions: Vec<TransactAction>) -> Result<()> {
        self.store.transact_write(actions).await
    }
    async fn transact_get(&self, keys: &[DocKey]) -> Result<Vec<Option<Document>>> {
        self.store.transact_get(keys).await
    }
}

/// The key schema most tests use: text `pk`, numeric `sk`.
pub(crate) fn pk_sk() -> KeySchema {
    KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number)
}

/// An item of nothing but its key.
pub(crate) fn item(pk: &str, sk: i64) -> Document {
    Document::new().with("pk", pk).with("sk", sk)
}

/// `n` items of about `bytes` bytes each, in partition `p<i % 10>`.
pub(crate) fn many(n: i64, bytes: usize) -> Vec<Document> {
    (0..n)
        .map(|i| {
            item(&format!("p{}", i % 10), i)
                .with("payload", "x".repeat(bytes))
                .with("i", i)
        })
        .collect()
}

/// Writes `docs` in one batch write, asserting every one landed.
pub(crate) async fn put_all(store: &DynamoStore, docs: Vec<Document>) {
    let report = store
        .batch_write(
            docs.into_iter().map(WriteOp::Put).collect(),
            BatchWriteOptions::default(),
        )
        .await
        .expect("batch write");
    assert!(report.is_complete(), "unwritten: {:?}", report.failed);
}

/// Every item of `store`, by a consistent scan.
pub(crate) async fn scan_all(store: &DynamoStore) -> Vec<Document> {
    store
        .scan(Scan {
            consistent: true,
            ..Scan::new()
        })
        .try_collect()
        .await
        .expect("scan")
}

/// How many items a consistent scan of `store` returns.
pub(crate) async fn scan_count(store: &DynamoStore) -> usize {
    scan_all(store).await.len()
}
