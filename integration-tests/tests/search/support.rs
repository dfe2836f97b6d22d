//! Handles on the harness's node.

use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint};
use store_search::{OpenSearchConfig, OpenSearchIndex};

/// The harness's node URL.
pub(crate) async fn url() -> String {
    endpoint(Service::OpenSearch).await
}

/// A handle on `name` on the harness's node.
pub(crate) async fn open(name: &str) -> OpenSearchIndex {
    let config = OpenSearchConfig::from_url(&url().await).expect("OpenSearch URL");
    OpenSearchIndex::connect(&config, name).expect("index handle")
}

/// A handle on a fresh, unique index name (not created).
pub(crate) async fn fresh(prefix: &str) -> OpenSearchIndex {
    open(&unique_name(prefix)).await
}
