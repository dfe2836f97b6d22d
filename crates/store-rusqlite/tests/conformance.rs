//! The store-core `SqlStore` conformance suite on SQLite: every portable behaviour runs; the
//! PostgreSQL-only ones print their `opt-out:` line. Each test gets its own database file in
//! a temporary directory that is removed afterwards.

#[path = "support/temp.rs"]
mod temp;

use async_trait::async_trait;
use futures::stream::BoxStream;
use store_core::sql::{IsolationLevel, SqlCapabilities, SqlStore, SqlTransaction};
use store_core::testkit::sql::{SqlStoreFactory, factory};
use store_core::{Document, Health, HealthReport, Result, Value};
use store_rusqlite::SqliteStore;
use temp::TempDir;

/// A store on a database file that is deleted with its directory when the store is dropped.
#[derive(Debug)]
struct TempStore {
    store: SqliteStore,
    _dir: TempDir,
}

#[async_trait]
impl Health for TempStore {
    async fn health(&self) -> Result<HealthReport> {
        self.store.health().await
    }
}

#[async_trait]
impl SqlStore for TempStore {
    fn backend(&self) -> &'static str {
        self.store.backend()
    }
    fn capabilities(&self) -> SqlCapabilities {
        self.store.capabilities()
    }
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.store.execute(sql, params).await
    }
    async fn batch_execute(&self, sql: &str) -> Result<()> {
        self.store.batch_execute(sql).await
    }
    fn query<'a>(&'a self, sql: &'a str, params: &'a [Value]) -> BoxStream<'a, Result<Document>> {
        self.store.query(sql, params)
    }
    async fn begin(&self, isolation: IsolationLevel) -> Result<Box<dyn SqlTransaction>> {
        self.store.begin(isolation).await
    }
}

fn sqlite() -> SqlStoreFactory {
    factory(|| async {
        let dir = TempDir::new("conformance");
        let store = SqliteStore::open(dir.file("suite.db"))
            .await
            .expect("a fresh database file opens");
        TempStore { store, _dir: dir }
    })
}

store_core::sql_conformance_tests!(sqlite());
