//! Smoke tests: the harness node is the server the target names (OpenSearch 2.19 or
//! Elasticsearch 7.10.2), with the lowercase filter and the reindex module.

use integration_tests::names::unique_name;
use integration_tests::services::Service;
use serde_json::{Value, json};
use store_search::sdk::indices::{IndicesAnalyzeParts, IndicesCreateParts, IndicesDeleteParts};
use store_search::sdk::params::Refresh;
use store_search::sdk::{CountParts, IndexParts};

use super::support::{client, open};

/// `GET /` names the expected server, and store-search reads it the same way.
#[tokio::test]
async fn node_is_the_expected_server() {
    let info: Value = client()
        .await
        .info()
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let number = info["version"]["number"].as_str().unwrap_or_default();
    let cluster = open("smoke").await.cluster().await.unwrap().clone();
    match crate::CLUSTER {
        Service::OpenSearch => {
            assert_eq!(info["version"]["distribution"], "opensearch", "{info}");
            assert!(number.starts_with("2.19."), "{info}");
            assert_eq!(cluster.distribution, store_search::Distribution::OpenSearch);
            assert_eq!(
                cluster.point_in_time_api(),
                store_search::PointInTimeApi::OpenSearch
            );
        }
        Service::Elasticsearch => {
            assert_eq!(number, "7.10.2", "{info}");
            assert!(info["version"].get("distribution").is_none(), "{info}");
            assert_eq!(
                cluster.distribution,
                store_search::Distribution::Elasticsearch
            );
            // Point in time is x-pack's in 7.10: the node reports no flavor that says so, and
            // answers `GET /_xpack` because the harness loads x-pack-core.
            assert_eq!(cluster.build_flavor.as_deref(), Some("unknown"));
            assert_eq!(cluster.xpack, Some(true));
            assert_eq!(
                cluster.point_in_time_api(),
                store_search::PointInTimeApi::Elasticsearch
            );
        }
        other => panic!("not a search server: {other:?}"),
    }
    assert_eq!(cluster.version.to_string(), number);
}

#[tokio::test]
async fn lowercase_filter_works_through_analyze() {
    let client = client().await;
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
    let client = client().await;
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
