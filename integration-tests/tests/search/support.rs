//! Handles on the harness's node.

use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint};
use store_search::OpenSearchIndex;

/// The harness's node URL.
pub(crate) async fn url() -> String {
    endpoint(Service::OpenSearch).await
}

/// A handle on `name` on the harness's node.
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
