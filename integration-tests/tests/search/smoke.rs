//! Smoke tests: the harness node is OpenSearch 2.19 with the analysis and reindex modules.

use integration_tests::clients::opensearch_client;
use integration_tests::names::unique_name;
use serde_json::{Value, json};
use store_search::sdk::indices::{IndicesAnalyzeParts, IndicesCreateParts, IndicesDeleteParts};
use store_search::sdk::params::Refresh;
use store_search::sdk::{CountParts, IndexParts};

#[tokio::test]
async fn node_is_opensearch_2_19() {
    let client = opensearch_client().await;
    let info: Value = client.info().send().await.unwrap().json().await.unwrap();
    assert_eq!(info["version"]["distribution"], "opensearch", "{info}");
    let number = info["version"]["number"].as_str().unwrap_or_default();
    assert!(number.starts_with("2.19."), "{info}");
}

#[tokio::test]
async fn lowercase_filter_works_through_analyze() {
    let client = opensearch_client().await;
    let response: Value = client
        .indices()
        .analyze(IndicesAnalyzeParts::None)
        .body(json!({"tokenizer": "standard", "filter": ["lowercase"], "text": "Hello WORLD"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tokens: Vec<&str> = response["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["token"].as_str().unwrap())
        .collect();
    assert_eq!(tokens, ["hello", "world"]);
}

#[tokio::test]
async fn reindex_copies_documents() {
    let client = opensearch_client().await;
    let source = unique_name("src");
    let dest = unique_name("dst");
    for index in [&source, &dest] {
        let created = client
            .indices()
            .create(IndicesCreateParts::Index(index))
            .body(json!({"settings": {"number_of_replicas": 0}}))
            .send()
            .await
            .unwrap();
        assert!(created.status_code().is_success());
    }
    for i in 0..3 {
        client
            .index(IndexParts::IndexId(&source, &i.to_string()))
            .body(json!({"n": i}))
            .refresh(Refresh::True)
            .send()
            .await
            .unwrap();
    }
    let reindexed: Value = client
        .reindex()
        .body(json!({"source": {"index": source}, "dest": {"index": dest}}))
        .refresh(true)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reindexed["created"], 3, "{reindexed}");
    let count: Value = client
        .count(CountParts::Index(&[&dest]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(count["count"], 3);
    client
        .indices()
        .delete(IndicesDeleteParts::Index(&[&source, &dest]))
        .send()
        .await
        .unwrap();
}
