//! The store-core document conformance suite and its model check on `RedbStore`: each table
//! in its own file in a temporary directory that is removed with the store.

#[path = "support/temp.rs"]
mod temp;

use std::sync::Arc;

use async_trait::async_trait;
use store_core::document::{
    BatchWriteOptions, BatchWriteReport, DeleteItemOptions, DocumentCapabilities, DocumentStore,
    GetItemOptions, PutItemOptions, Query, Scan, TransactAction, Update, UpdateOptions, WriteOp,
};
use store_core::testkit::document::{DocumentFactory, TableSpec, model_check};
use store_core::{Cursor, DocKey, Document, Health, HealthReport, KeySchema, Page, Result};
use store_redb::RedbStore;
use temp::TempDir;

/// A store whose file is deleted with its directory when the store is dropped.
#[derive(Debug)]
struct TempStore {
    store: RedbStore,
    _dir: TempDir,
}

#[async_trait]
impl Health for TempStore {
    async fn health(&self) -> Result<HealthReport> {
        self.store.health().await
    }
}

#[async_trait]
impl DocumentStore for TempStore {
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

fn redb() -> impl DocumentFactory {
    |spec: TableSpec| async move {
        let dir = TempDir::new("conformance");
        let mut config = RedbStore::builder(dir.file("table.redb"), &spec.name, spec.schema);
        for (name, schema) in spec.indexes {
            config = config.index(&name, schema);
        }
        let store = config
            .build()
            .await
            .unwrap_or_else(|e| panic!("table `{}`: {e}", spec.name));
        Arc::new(TempStore { store, _dir: dir }) as Arc<dyn DocumentStore>
    }
}

store_core::document_conformance_tests!(redb());

#[test]
fn redb_agrees_with_the_model() {
    model_check(&redb(), 256);
}
