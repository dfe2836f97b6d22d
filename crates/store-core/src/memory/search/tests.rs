//! Behaviour of the in-memory index beyond the conformance suite: what only this backend
//! guarantees (refresh isolation, clusters) and details of its OpenSearch mirroring.

use super::*;
use crate::ErrorKind;
use crate::search::{FieldType, SearchQuery as Q, SortField};
use crate::value::Value;

fn doc(json: serde_json::Value) -> Document {
    match crate::from_json(json).unwrap() {
        Value::Map(d) => d,
        other => panic!("not a map: {other:?}"),
    }
}

async fn index_with(spec: IndexSpec, docs: &[(&str, serde_json::Value)]) -> MemorySearchIndex {
    let index = MemorySearchIndex::new("test").unwrap();
    index.create(&spec).await.unwrap();
    for (id, json) in docs {
        index
            .index(id, doc(json.clone()), IndexOptions::new())
            .await
            .unwrap();
    }
    index.refresh().await.unwrap();
    index
}

async fn ids(index: &MemorySearchIndex, request: SearchRequest) -> Vec<String> {
    let response = index.search(&request).await.unwrap();
    response.hits.into_iter().map(|h| h.id).collect()
}

#[tokio::test]
async fn search_sees_only_the_refreshed_snapshot() {
    let index = index_with(IndexSpec::new(), &[("a", serde_json::json!({"t": "x"}))]).await;
    index
        .index("b", doc(serde_json::json!({"t": "x"})), IndexOptions::new())
        .await
        .unwrap();
    assert_eq!(index.count(&Q::MatchAll).await.unwrap(), 1);
    assert!(index.get("b").await.unwrap().is_some(), "get is real time");
    index
        .delete("a", IndexOptions::new().refresh())
        .await
        .unwrap();
    assert_eq!(ids(&index, SearchRequest::new(Q::MatchAll)).await, ["b"]);
}

#[tokio::test]
async fn handles_in_one_cluster_share_indices() {
    let cluster = MemorySearchCluster::new();
    let a = cluster.index("shared").unwrap();
    let b = MemorySearchIndex::in_cluster(&cluster, "shared").unwrap();
    a.create(&IndexSpec::new()).await.unwrap();
    assert!(b.exists().await.unwrap());
    b.index("1", Document::new().with("k", 1), IndexOptions::new())
        .await
        .unwrap();
    assert!(a.get("1").await.unwrap().is_some());
    assert_eq!(cluster.index_names(), [IndexName::new("shared").unwrap()]);
    b.drop_index().await.unwrap();
    assert!(!a.exists().await.unwrap());
    let other = MemorySearchIndex::new("shared").unwrap();
    assert!(
        !other.exists().await.unwrap(),
        "new() makes a cluster of its own"
    );
}

#[tokio::test]
async fn every_call_on_a_missing_index_is_not_found_naming_it() {
    let index = MemorySearchIndex::new("ghost").unwrap();
    let errors = [
        index.delete("1", IndexOptions::new()).await.unwrap_err(),
        index
            .bulk(vec![BulkOp::Delete { id: "1".into() }])
            .await
            .unwrap()
            .failed
            .remove(0)
            .error,
        index.get("1").await.unwrap_err(),
        index.refresh().await.unwrap_err(),
        index.count(&Q::MatchAll).await.unwrap_err(),
        index.drop_index().await.unwrap_err(),
    ];
    for err in errors {
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert_eq!(err.target(), Some("ghost"));
        assert_eq!(err.backend(), Some("memory"));
    }
    assert!(MemorySearchIndex::new("Bad Name").is_err());
}

#[tokio::test]
async fn writes_create_a_missing_index_as_opensearch_does() {
    let cluster = MemorySearchCluster::new();
    let index = cluster.index("auto").unwrap();
    let err = index
        .index("", Document::new(), IndexOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        cluster.index_names().is_empty(),
        "invalid input creates nothing"
    );
    index
        .index("1", Document::new().with("n", 1), IndexOptions::new())
        .await
        .unwrap();
    assert_eq!(cluster.index_names(), [IndexName::new("auto").unwrap()]);
    assert!(index.get("1").await.unwrap().is_some());

    let updated = cluster.index("auto-update").unwrap();
    let err = updated
        .update("1", Document::new().with("n", 1), IndexOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        updated.exists().await.unwrap(),
        "the update created the index"
    );
}

#[tokio::test]
async fn versions_increase_and_noop_updates_keep_them() {
    let index = index_with(IndexSpec::new(), &[]).await;
    let v1 = index
        .index("a", Document::new().with("n", 1), IndexOptions::new())
        .await
        .unwrap();
    let v2 = index
        .index("b", Document::new().with("n", 1), IndexOptions::new())
        .await
        .unwrap();
    assert!(v2.seq_no > v1.seq_no && v1.primary_term == 1);
    let same = index
        .update("a", Document::new().with("n", 1), IndexOptions::new())
        .await
        .unwrap();
    assert_eq!(same, v1, "an update that changes nothing is a noop");
    let v3 = index
        .update("a", Document::new().with("n", 2), IndexOptions::new())
        .await
        .unwrap();
    assert!(v3.seq_no > v2.seq_no);
    let err = index
        .index(
            "a",
            Document::new(),
            IndexOptions::new().create_only().if_version(v3),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = index
        .delete("a", IndexOptions::new().if_version(v1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert_eq!(err.target(), Some("test/a"));
    assert!(
        index
            .delete("a", IndexOptions::new().if_version(v3))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn values_that_conflict_with_the_mapping_are_rejected() {
    let index = index_with(IndexSpec::new(), &[("a", serde_json::json!({"n": 5}))]).await;
    let err = index
        .index(
            "b",
            doc(serde_json::json!({"n": "five"})),
            IndexOptions::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("`n`"), "{err}");
    index
        .index(
            "c",
            doc(serde_json::json!({"n": "6"})),
            IndexOptions::new().refresh(),
        )
        .await
        .unwrap();
    let found = ids(&index, SearchRequest::new(Q::term("n", 6))).await;
    assert_eq!(found, ["c"], "numeric strings are coerced");
    let err = index
        .search(&SearchRequest::new(Q::term("n", "six")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = index
        .search(&SearchRequest::new(Q::prefix("n", "5")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn bm25_prefers_short_fields_and_rare_terms() {
    let index = index_with(
        IndexSpec::new(),
        &[
            (
                "long",
                serde_json::json!({"t": "rust is a language with many other words"}),
            ),
            ("short", serde_json::json!({"t": "rust language"})),
            ("c1", serde_json::json!({"t": "common"})),
            ("c2", serde_json::json!({"t": "common"})),
            ("c3", serde_json::json!({"t": "common rare"})),
            ("c4", serde_json::json!({"t": "common"})),
        ],
    )
    .await;
    assert_eq!(
        ids(&index, SearchRequest::new(Q::matches("t", "rust"))).await,
        ["short", "long"]
    );
    let found = ids(&index, SearchRequest::new(Q::matches("t", "common rare"))).await;
    assert_eq!(found[0], "c3");
    let response = index
        .search(&SearchRequest::new(Q::matches("t", "rust")))
        .await
        .unwrap();
    let scores: Vec<f64> = response.hits.iter().map(|h| h.score.unwrap()).collect();
    assert!(scores[0] > scores[1] && scores[1] > 0.0, "{scores:?}");
}

#[tokio::test]
async fn phrases_do_not_span_list_values() {
    let index = index_with(
        IndexSpec::new(),
        &[
            ("split", serde_json::json!({"t": ["new", "york"]})),
            ("joined", serde_json::json!({"t": ["in new york"]})),
        ],
    )
    .await;
    assert_eq!(
        ids(&index, SearchRequest::new(Q::phrase("t", "new york"))).await,
        ["joined"]
    );
    let both = ids(&index, SearchRequest::new(Q::matches_all("t", "new york"))).await;
    assert_eq!(both.len(), 2);
}

#[tokio::test]
async fn exists_ignores_null_and_empty_lists_and_sees_into_objects() {
    let index = index_with(
        IndexSpec::new(),
        &[
            ("null", serde_json::json!({"f": null, "o": {"x": 1}})),
            ("empty", serde_json::json!({"f": []})),
            ("blank", serde_json::json!({"f": ""})),
            ("value", serde_json::json!({"f": "v"})),
        ],
    )
    .await;
    let mut found = ids(&index, SearchRequest::new(Q::exists("f"))).await;
    found.sort();
    assert_eq!(found, ["blank", "value"]);
    assert_eq!(
        ids(&index, SearchRequest::new(Q::exists("o"))).await,
        ["null"]
    );
    assert!(
        ids(&index, SearchRequest::new(Q::exists("nope")))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn dates_are_detected_compared_and_sorted_as_epoch_millis() {
    let index = index_with(
        IndexSpec::new(),
        &[
            ("jan", serde_json::json!({"d": "2024-01-15"})),
            ("feb", serde_json::json!({"d": "2024-02-01T10:00:00+02:00"})),
            ("mar", serde_json::json!({"d": 1_709_251_200_000_i64})),
        ],
    )
    .await;
    let feb = Q::range("d").bounds(crate::search::RangeBounds {
        gte: Some("2024-02-01".into()),
        lt: Some("2024-03-01".into()),
        ..Default::default()
    });
    assert_eq!(ids(&index, SearchRequest::new(feb)).await, ["feb"]);
    let response = index
        .search(&SearchRequest::new(Q::MatchAll).sort(SortField::desc("d")))
        .await
        .unwrap();
    let order: Vec<_> = response.hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(order, ["mar", "feb", "jan"]);
    assert_eq!(response.hits[0].sort, [Value::from(1_709_251_200_000_i64)]);
    assert_eq!(response.hits[0].score, None);
}

#[tokio::test]
async fn search_after_walks_into_missing_values() {
    let spec = IndexSpec::new()
        .field("n", FieldType::Long)
        .field("k", FieldType::Keyword);
    let index = index_with(
        spec,
        &[
            ("a", serde_json::json!({"n": 2, "k": "a"})),
            ("b", serde_json::json!({"k": "b"})),
            ("c", serde_json::json!({"n": 1, "k": "c"})),
            ("d", serde_json::json!({"k": "d"})),
        ],
    )
    .await;
    let base = SearchRequest::new(Q::MatchAll)
        .sort(SortField::asc("n"))
        .sort(SortField::asc("k"))
        .size(2);
    let first = index.search(&base).await.unwrap();
    let page: Vec<_> = first.hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(page, ["c", "a"]);
    let next = base.clone().search_after(first.hits[1].sort.clone());
    let second = index.search(&next).await.unwrap();
    let page: Vec<_> = second.hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(page, ["b", "d"]);
    assert_eq!(second.hits[0].sort, [Value::Null, Value::from("b")]);
    let last = base.search_after(second.hits[1].sort.clone());
    assert!(index.search(&last).await.unwrap().hits.is_empty());
}

#[tokio::test]
async fn lists_sort_by_their_smallest_or_largest_value() {
    let index = index_with(
        IndexSpec::new().field("n", FieldType::Long),
        &[
            ("wide", serde_json::json!({"n": [1, 10]})),
            ("mid", serde_json::json!({"n": 5})),
        ],
    )
    .await;
    let asc = ids(
        &index,
        SearchRequest::new(Q::MatchAll).sort(SortField::asc("n")),
    )
    .await;
    assert_eq!(asc, ["wide", "mid"]);
    let desc = ids(
        &index,
        SearchRequest::new(Q::MatchAll).sort(SortField::desc("n")),
    )
    .await;
    assert_eq!(desc, ["wide", "mid"]);
    let in_range = ids(&index, SearchRequest::new(Q::range("n").gte(8))).await;
    assert_eq!(
        in_range,
        ["wide"],
        "a range matches when any value is inside"
    );
}

#[tokio::test]
async fn bool_scores_follow_opensearch() {
    let index = index_with(
        IndexSpec::new().field("k", FieldType::Keyword),
        &[("a", serde_json::json!({"k": "x", "t": "hello"}))],
    )
    .await;
    let score = |q: Q| {
        let index = index.clone();
        async move {
            index.search(&SearchRequest::new(q)).await.unwrap().hits[0]
                .score
                .unwrap()
        }
    };
    assert_eq!(
        score(Q::bool().filter(Q::term("k", "x")).build()).await,
        0.0
    );
    assert_eq!(score(Q::bool().build()).await, 1.0);
    assert_eq!(
        score(Q::bool().must_not(Q::term("k", "y")).build()).await,
        0.0
    );
    let with_should = score(
        Q::bool()
            .filter(Q::term("k", "x"))
            .should(Q::matches("t", "hello"))
            .build(),
    )
    .await;
    assert!(with_should > 0.0);
    let optional = Q::bool()
        .filter(Q::term("k", "x"))
        .should(Q::matches("t", "absent"))
        .build();
    assert_eq!(
        index.count(&optional).await.unwrap(),
        1,
        "should is optional with a filter"
    );
}

#[tokio::test]
async fn strict_raw_mappings_reject_new_fields() {
    let spec = IndexSpec {
        raw_mappings: Some(serde_json::json!({
            "dynamic": "strict",
            "properties": {"name": {"type": "keyword"}}
        })),
        ..IndexSpec::default()
    };
    let index = index_with(spec, &[("a", serde_json::json!({"name": "x"}))]).await;
    let report = index
        .bulk(vec![
            BulkOp::Index {
                id: "b".into(),
                doc: doc(serde_json::json!({"other": 1})),
            },
            BulkOp::Delete {
                id: "missing".into(),
            },
        ])
        .await
        .unwrap();
    assert_eq!(
        report.succeeded, 1,
        "deleting a missing id is not a failure"
    );
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].status, 400);
    assert_eq!(report.failed[0].error.operation(), Some("bulk"));
}

#[tokio::test]
async fn health_answers_and_capabilities_are_declared() {
    let index = MemorySearchIndex::new("h").unwrap();
    assert_eq!(index.health().await.unwrap().backend, "memory");
    assert!(index.capabilities().point_in_time);
    assert!(!index.capabilities().aggregations);
    assert!(format!("{index:?}").contains("\"h\""));
}

#[tokio::test]
async fn bad_paging_and_sorting_are_invalid_input() {
    let index = index_with(
        IndexSpec::new().field("n", FieldType::Long),
        &[("a", serde_json::json!({"n": 1}))],
    )
    .await;
    let sorted = SearchRequest::new(Q::MatchAll).sort(SortField::asc("n"));
    let requests = [
        SearchRequest::new(Q::MatchAll).size(usize::MAX),
        sorted.clone().from(1).search_after(vec![Value::from(1)]),
        sorted.clone().search_after(vec![Value::from("abc")]),
        sorted.search_after(vec![Value::from(1), Value::from(2)]),
        SearchRequest::new(Q::MatchAll).sort(SortField::asc("unmapped")),
    ];
    for request in requests {
        let err = index.search(&request).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{request:?}: {err}");
        assert_eq!(err.operation(), Some("search"));
    }
}
