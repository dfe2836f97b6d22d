//! Handles on the target's node (OpenSearch or Elasticsearch, as `crate::CLUSTER` says).

use integration_tests::clients::opensearch_client_at;
use integration_tests::names::unique_name;
use integration_tests::services::endpoint;
use store_search::OpenSearchIndex;
use store_search::sdk::OpenSearch;

/// The node's URL.
pub(crate) async fn url() -> String {
    endpoint(crate::CLUSTER).await
}

/// A native client for the node.
pub(crate) async fn client() -> OpenSearch {
    opensearch_client_at(&url().await)
}

/// A handle on `name` on the node.
pub(crate) async fn open(name: &str) -> OpenSearchIndex {
    OpenSearchIndex::builder(name)
        .url(url().await)
        .build()
        .expect("index handle")
}

/// A handle on a fresh, unique index name (not created).
pub(crate) async fn fresh(prefix: &str) -> OpenSearchIndex {
    open(&unique_name(prefix)).await
}
