//! Search indexes: in-memory, tantivy, OpenSearch and Elasticsearch.

use integration_tests::hostile::{Report, search};
use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint};
use store_core::SearchIndex;
use store_core::memory::MemorySearchIndex;
use store_search::OpenSearchIndex;
use store_tantivy::TantivyIndex;

#[tokio::test]
async fn in_memory() {
    search::run(
        &MemorySearchIndex::new("hostile").unwrap(),
        Report::new("in-memory search"),
    )
    .await;
}

#[tokio::test]
async fn tantivy() {
    let dir = tempfile::tempdir().unwrap();
    let index = TantivyIndex::open(dir.path(), "hostile").await.unwrap();
    search::run(&index, Report::new("tantivy")).await;
}

async fn cluster(service: Service, backend: &str) {
    let index = OpenSearchIndex::builder(unique_name("hostile"))
        .url(endpoint(service).await)
        .build()
        .unwrap();
    search::run(&index, Report::new(backend)).await;
    index.drop_index().await.unwrap();
}

#[tokio::test]
async fn opensearch() {
    cluster(Service::OpenSearch, "OpenSearch 2.19").await;
}

#[tokio::test]
async fn elasticsearch() {
    cluster(Service::Elasticsearch, "Elasticsearch 7.10").await;
}
