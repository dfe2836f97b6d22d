//! Documents, errors, exactness, raw DSL and configuration against the real node.

use integration_tests::fault_proxy::{FaultProxy, HttpFault};
use serde_json::json;
use store_core::search::{IndexOptions, IndexSpec, SearchQuery as Q, SearchRequest};
use store_core::{Document, ErrorKind, Health, Number, SearchIndex, Value};
use store_search::OpenSearchIndex;

use super::support::{fresh, url};

fn spec() -> IndexSpec {
    IndexSpec::new().shards(1).replicas(0)
}

/// Numbers beyond `f64` and `i64` come back digit for digit from `_source` (mapped as
/// `double`, they are indexed at double precision; a dynamic field maps them as `long` and
/// OpenSearch rejects those beyond `i64`, reported as `InvalidInput`).
#[tokio::test]
async fn numbers_round_trip_exactly() {
    let index = fresh("exact").await;
    index
        .create(
            &spec()
                .field("nested.big", store_core::search::FieldType::Double)
                .field("list", store_core::search::FieldType::Double),
        )
        .await
        .unwrap();
    let big: Number = "123456789012345678901234567890".parse().unwrap();
    let precise: Number = "0.1000000000000000055511151231257827021181583404541015625"
        .parse()
        .unwrap();
    let doc = Document::new()
        .with("note", "exact")
        .with("nested", Document::new().with("big", big.clone()))
        .with("list", vec![Value::Number(precise.clone()), Value::from(1)]);
    index
        .index("n", doc.clone(), IndexOptions::new().refresh())
        .await
        .unwrap();
    let stored = index.get("n").await.unwrap().unwrap();
    assert_eq!(stored.source, doc);
    let hit = &index
        .search(&SearchRequest::new(Q::term("note", "exact")))
        .await
        .unwrap()
        .hits[0];
    assert_eq!(hit.source, doc, "search hits keep every digit too");
    let e = index
        .index(
            "m",
            Document::new().with("dynamic_big", big),
            IndexOptions::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("out of range of long"), "{e}");
    index.drop_index().await.unwrap();
}

/// A missing index is `NotFound` naming it; a 400 carries the server's reason.
#[tokio::test]
async fn errors_name_the_index_and_the_reason() {
    let index = fresh("errors").await;
    let e = index.count(&Q::MatchAll).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.is_missing_collection(), "the index is missing: {e}");
    assert_eq!(e.status_code(), Some("404"), "{e:?}");
    assert!(e.to_string().contains(index.name().as_str()), "{e}");
    assert_eq!(e.backend(), Some("opensearch"));
    assert_eq!(e.operation(), Some("count"));

    index
        .create(&spec().field("n", store_core::search::FieldType::Long))
        .await
        .unwrap();
    let e = index
        .index("a", Document::new().with("n", "abc"), IndexOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.to_string().contains("mapper_parsing_exception") && e.to_string().contains("[n]"),
        "{e}"
    );
    let e = index
        .search_dsl(&json!({"query": {"range": {"n": {"gte": "not-a-number"}}}}))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    index.drop_index().await.unwrap();
}

/// No server at the address is `Unavailable`, and a password in the URL never shows.
#[tokio::test]
async fn unreachable_is_unavailable_without_the_password() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let builder = OpenSearchIndex::builder("anything")
        .url(format!("http://admin:hunter2secret@127.0.0.1:{port}"));
    let index = builder.clone().build().unwrap();
    let e = index.health().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.is_retryable());
    let mut shown = format!("{e} {e:?} {index:?} {builder:?}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        shown.push_str(&s.to_string());
        source = s.source();
    }
    assert!(!shown.contains("hunter2secret"), "{shown}");
}

/// A 429 from the server (through the fault proxy) is `Throttled` with its Retry-After hint.
#[tokio::test]
async fn throttling_is_throttled_with_retry_after() {
    let proxy = FaultProxy::http(&url().await).await.unwrap();
    proxy.set_http_fault(Some(HttpFault::new(429, 1.0).retry_after(3).body(
        "application/json",
        r#"{"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"},"status":429}"#,
    )));
    let index = OpenSearchIndex::builder("throttled")
        .url(proxy.url())
        .build()
        .unwrap();
    let e = index.get("x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Throttled, "{e}");
    assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(3)));
    assert!(e.to_string().contains("rejected execution"), "{e}");
}

/// Conditional writes: stale versions are `PreconditionFailed`, create-only repeats
/// `AlreadyExists`, and the native client sees what the adapter wrote.
#[tokio::test]
async fn concurrency_control_and_native_client() {
    let index = fresh("occ").await;
    index.create(&spec()).await.unwrap();
    let v1 = index
        .index(
            "a",
            Document::new().with("v", 1),
            IndexOptions::new().create_only(),
        )
        .await
        .unwrap();
    let v2 = index
        .update(
            "a",
            Document::new().with("w", 2),
            IndexOptions::new().if_version(v1),
        )
        .await
        .unwrap();
    let e = index
        .update(
            "a",
            Document::new().with("w", 3),
            IndexOptions::new().if_version(v1),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
    assert!(!index.delete("b", IndexOptions::new()).await.unwrap());
    assert!(
        index
            .delete("a", IndexOptions::new().if_version(v2))
            .await
            .unwrap()
    );
    let got = index
        .client()
        .get(store_search::sdk::GetParts::IndexId(
            index.name().as_str(),
            "a",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status_code().as_u16(), 404);
    index.drop_index().await.unwrap();
}

/// Raw DSL with aggregations returns typed hits and raw aggregation JSON.
#[tokio::test]
async fn raw_dsl_and_aggregations() {
    let index = fresh("aggs").await;
    index
        .create(&spec().field("tag", store_core::search::FieldType::Keyword))
        .await
        .unwrap();
    for (id, tag) in [("1", "a"), ("2", "a"), ("3", "b")] {
        index
            .index(id, Document::new().with("tag", tag), IndexOptions::new())
            .await
            .unwrap();
    }
    index.refresh().await.unwrap();
    let response = index
        .search_with_aggregations(
            &SearchRequest::new(Q::MatchAll).size(0),
            &json!({"tags": {"terms": {"field": "tag"}}}),
        )
        .await
        .unwrap();
    assert_eq!(response.total, 3);
    let buckets = &response.aggregations.unwrap()["tags"]["buckets"];
    assert_eq!(buckets[0], json!({"key": "a", "doc_count": 2}));
    let raw = index
        .search_dsl(&json!({"query": {"ids": {"values": ["3"]}}}))
        .await
        .unwrap();
    assert_eq!(raw.hits[0].id, "3");
    index.drop_index().await.unwrap();
}

/// The standard analyzer and a custom `standard` + `lowercase` analyzer behave as configured.
#[tokio::test]
async fn analysis_behaves_as_configured() {
    let index = fresh("analysis").await;
    index
        .create_raw(&json!({
            "settings": {
                "number_of_shards": 1, "number_of_replicas": 0,
                "analysis": {"analyzer": {"folded": {
                    "type": "custom", "tokenizer": "standard", "filter": ["lowercase"]
                }}}
            },
            "mappings": {"properties": {
                "std": {"type": "text", "analyzer": "standard"},
                "folded": {"type": "text", "analyzer": "folded"},
                "exact": {"type": "text", "analyzer": "whitespace"}
            }}
        }))
        .await
        .unwrap();
    let doc = Document::new()
        .with("std", "The QUICK-brown Fox's den")
        .with("folded", "Ünïcode WORDS, split!")
        .with("exact", "MixedCase Words");
    index
        .index("d", doc, IndexOptions::new().refresh())
        .await
        .unwrap();
    let hits = |q| {
        let index = index.clone();
        async move { index.count(&q).await.unwrap() }
    };
    assert_eq!(hits(Q::term("std", "quick")).await, 1, "lowercased");
    assert_eq!(
        hits(Q::term("std", "brown")).await,
        1,
        "split at the hyphen"
    );
    assert_eq!(
        hits(Q::term("std", "fox's")).await,
        1,
        "apostrophe kept inside a word"
    );
    assert_eq!(hits(Q::term("folded", "ünïcode")).await, 1);
    assert_eq!(
        hits(Q::term("folded", "split")).await,
        1,
        "punctuation dropped"
    );
    assert_eq!(hits(Q::matches("folded", "WORDS")).await, 1);
    assert_eq!(
        hits(Q::term("exact", "mixedcase")).await,
        0,
        "whitespace keeps case"
    );
    assert_eq!(hits(Q::term("exact", "MixedCase")).await, 1);
    index.drop_index().await.unwrap();
}
