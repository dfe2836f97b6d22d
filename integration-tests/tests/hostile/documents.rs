//! Document stores: in-memory, redb, DynamoDB (moto).

use std::time::Duration;

use integration_tests::clients::dynamo_admin;
use integration_tests::hostile::{Report, documents};
use integration_tests::names::unique_name;
use store_core::memory::MemoryDocumentStore;
use store_core::{KeySchema, KeyType};
use store_dynamo::TableDefinition;
use store_redb::RedbStore;

fn schema() -> KeySchema {
    KeySchema::partition("pk", KeyType::String)
}

#[tokio::test]
async fn in_memory() {
    let store = MemoryDocumentStore::new("hostile", schema()).unwrap();
    documents::run(&store, Report::new("in-memory documents")).await;
}

#[tokio::test]
async fn redb() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path().join("hostile.redb"), "hostile", schema())
        .await
        .unwrap();
    documents::run(&store, Report::new("redb documents")).await;
}

#[tokio::test]
async fn dynamodb() {
    let admin = dynamo_admin().await;
    let name = unique_name("hostile");
    let store = admin
        .create(
            &TableDefinition::new(&name, schema()),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    documents::run(&store, Report::new("DynamoDB (moto) documents")).await;
    admin.delete(&name).await.unwrap();
}
