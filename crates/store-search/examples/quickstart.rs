//! A first program with store-search, on OpenSearch or Elasticsearch: create an index with a
//! mapping, bulk-load documents, search, read every match, drop the index.
//!
//! ```sh
//! cargo run -p store-search --example search_quickstart -- http://localhost:9200
//! # or from the environment: STORES_OPENSEARCH_URL / OPENSEARCH_URL / ELASTICSEARCH_URL,
//! # OPENSEARCH_USERNAME / OPENSEARCH_PASSWORD, STORES_SEARCH_CA_FILE
//! cargo run -p store-search --example search_quickstart
//! ```

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use store_core::search::{BulkOp, FieldType, IndexSpec, SearchQuery, SearchRequest, SortField};
use store_core::{Document, SearchIndex};
use store_search::{BulkOptions, OpenSearchIndex};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = format!("stores-quickstart-{}", std::process::id());
    let index = match std::env::args().nth(1) {
        Some(url) => OpenSearchIndex::builder(&name).url(url).build()?,
        None => OpenSearchIndex::from_env(&name)?,
    };
    println!("talking to {}", index.cluster().await?);

    index
        .create(
            &IndexSpec::new()
                .replicas(0)
                .field("title", FieldType::Text)
                .field("views", FieldType::Long),
        )
        .await?;

    // Any number of documents, in chunked, concurrent _bulk requests; 429s retried.
    let docs = futures::stream::iter(0..2_000_i64).map(|n| BulkOp::Index {
        id: format!("article-{n}"),
        doc: Document::new()
            .with("title", format!("article number {n}"))
            .with("views", 9_007_199_254_740_000_i64 + n),
    });
    let report = index
        .bulk_stream(docs, &BulkOptions::default().with_refresh(true))
        .await?;
    println!("indexed {} documents", report.succeeded);

    let top = index
        .search(
            &SearchRequest::new(SearchQuery::matches("title", "number"))
                .sort(SortField::desc("views"))
                .size(3),
        )
        .await?;
    for hit in &top.hits {
        // Exact: 9007199254741999 comes back as written, not rounded through f64.
        println!("{} {:?}", hit.id, hit.source.get("views"));
    }

    // Every match past the 10,000 window, from one consistent view.
    let all: Vec<_> = index
        .search_pit(
            SearchRequest::new(SearchQuery::MatchAll).size(500),
            Duration::from_secs(60),
        )
        .try_collect()
        .await?;
    println!("read {} matches", all.len());

    index.drop_index().await?;
    Ok(())
}
