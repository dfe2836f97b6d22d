//! Behaviours of the index lifecycle and of single-document reads and writes.

use super::SearchFactory;
use super::support::{assert_kind, create, doc, finish, spec, unique_name};
use crate::error::ErrorKind;
use crate::keys::IndexName;
use crate::search::{FieldType, IndexOptions, SearchQuery, SearchRequest};
use crate::value::Document;

/// `create` makes the index exist, `drop_index` removes it, and `exists` reports both.
pub async fn create_exists_drop_lifecycle(factory: &dyn SearchFactory) {
    let index = factory
        .open(unique_name("create_exists_drop_lifecycle"))
        .await;
    assert!(
        !index.exists().await.unwrap(),
        "a fresh name must not exist before create"
    );
    index.create(&spec()).await.expect("create");
    assert!(
        index.exists().await.unwrap(),
        "the index must exist after create"
    );
    index.drop_index().await.expect("drop_index");
    assert!(
        !index.exists().await.unwrap(),
        "the index must not exist after drop_index"
    );
}

/// Creating an index that exists is `AlreadyExists`.
pub async fn create_twice_is_already_exists(factory: &dyn SearchFactory) {
    let index = create(factory, "create_twice_is_already_exists", &spec()).await;
    assert_kind(
        index.create(&spec()).await,
        ErrorKind::AlreadyExists,
        "second create",
    );
    finish(index).await;
}

/// A document indexed under an id reads back unchanged: strings, integers, decimals, booleans,
/// lists and nested maps, with the version the write returned.
pub async fn index_then_get_round_trips(factory: &dyn SearchFactory) {
    let index = create(factory, "index_then_get_round_trips", &spec()).await;
    let source = doc(serde_json::json!({
        "title": "Round trip",
        "count": 42,
        "price": 19.5,
        "negative": -7,
        "active": true,
        "tags": ["a", "b", "c"],
        "address": {"city": "Lyon", "geo": {"lat": 45.75, "lon": 4.85}},
        "scores": [1, 2, 3]
    }));
    let version = index
        .index("doc-1", source.clone(), IndexOptions::new())
        .await
        .expect("index");
    let stored = index
        .get("doc-1")
        .await
        .expect("get")
        .expect("the document must exist");
    assert_eq!(stored.id, "doc-1");
    assert_eq!(stored.source, source, "the source must read back unchanged");
    assert_eq!(
        stored.version, version,
        "get must return the version the write returned"
    );
    finish(index).await;
}

/// Getting an id that was never written is `Ok(None)`.
pub async fn get_missing_is_none(factory: &dyn SearchFactory) {
    let index = create(factory, "get_missing_is_none", &spec()).await;
    assert_eq!(index.get("nope").await.expect("get"), None);
    finish(index).await;
}

/// A create-only write of an existing id is `AlreadyExists` and leaves the document unchanged.
pub async fn create_only_twice_is_already_exists(factory: &dyn SearchFactory) {
    let index = create(factory, "create_only_twice_is_already_exists", &spec()).await;
    let first = Document::new().with("v", 1);
    index
        .index("a", first.clone(), IndexOptions::new().create_only())
        .await
        .expect("first create-only write");
    let again = index
        .index(
            "a",
            Document::new().with("v", 2),
            IndexOptions::new().create_only(),
        )
        .await;
    assert_kind(again, ErrorKind::AlreadyExists, "second create-only write");
    let stored = index.get("a").await.unwrap().expect("document a");
    assert_eq!(
        stored.source, first,
        "a failed create must not change the document"
    );
    finish(index).await;
}

/// A write conditioned on a stale version is `PreconditionFailed` and changes nothing; one on
/// the current version succeeds with a higher `seq_no`.
pub async fn stale_version_is_precondition_failed(factory: &dyn SearchFactory) {
    let index = create(factory, "stale_version_is_precondition_failed", &spec()).await;
    let v1 = index
        .index("a", Document::new().with("v", 1), IndexOptions::new())
        .await
        .unwrap();
    let v2 = index
        .index("a", Document::new().with("v", 2), IndexOptions::new())
        .await
        .unwrap();
    assert!(
        v2.seq_no > v1.seq_no,
        "seq_no must grow: {v1:?} then {v2:?}"
    );
    let stale = index
        .index(
            "a",
            Document::new().with("v", 3),
            IndexOptions::new().if_version(v1),
        )
        .await;
    assert_kind(
        stale,
        ErrorKind::PreconditionFailed,
        "index with a stale version",
    );
    let stale_update = index
        .update(
            "a",
            Document::new().with("v", 4),
            IndexOptions::new().if_version(v1),
        )
        .await;
    assert_kind(
        stale_update,
        ErrorKind::PreconditionFailed,
        "update with a stale version",
    );
    let stored = index.get("a").await.unwrap().expect("document a");
    assert_eq!(
        stored.source,
        Document::new().with("v", 2),
        "stale writes must change nothing"
    );
    assert_eq!(stored.version, v2);
    let v3 = index
        .index(
            "a",
            Document::new().with("v", 5),
            IndexOptions::new().if_version(v2),
        )
        .await
        .expect("a write at the current version must succeed");
    assert!(v3.seq_no > v2.seq_no);
    assert_kind(
        index.delete("a", IndexOptions::new().if_version(v2)).await,
        ErrorKind::PreconditionFailed,
        "delete with a stale version",
    );
    finish(index).await;
}

/// `update` merges fields: new fields are added, given ones replaced, nested maps merged deeply,
/// lists replaced whole, untouched fields kept.
pub async fn update_merges_fields(factory: &dyn SearchFactory) {
    let index = create(factory, "update_merges_fields", &spec()).await;
    let before = index
        .index(
            "a",
            doc(serde_json::json!({
                "title": "Original", "stats": {"views": 1, "likes": 2}, "tags": ["x", "y"]
            })),
            IndexOptions::new(),
        )
        .await
        .unwrap();
    let after = index
        .update(
            "a",
            doc(serde_json::json!({"stats": {"views": 5}, "tags": ["z"], "extra": true})),
            IndexOptions::new(),
        )
        .await
        .expect("update");
    assert!(
        after.seq_no > before.seq_no,
        "an update must advance the version"
    );
    let stored = index.get("a").await.unwrap().expect("document a");
    let expected = doc(serde_json::json!({
        "title": "Original", "stats": {"views": 5, "likes": 2}, "tags": ["z"], "extra": true
    }));
    assert_eq!(stored.source, expected);
    assert_eq!(stored.version, after);
    finish(index).await;
}

/// Updating an id that does not exist is `NotFound` and creates nothing.
pub async fn update_missing_is_not_found(factory: &dyn SearchFactory) {
    let index = create(factory, "update_missing_is_not_found", &spec()).await;
    let result = index
        .update("ghost", Document::new().with("a", 1), IndexOptions::new())
        .await;
    assert_kind(result, ErrorKind::NotFound, "update of a missing id");
    assert_eq!(index.get("ghost").await.unwrap(), None);
    finish(index).await;
}

/// `delete` returns true for an existing document, then false; the document is gone.
pub async fn delete_reports_whether_it_existed(factory: &dyn SearchFactory) {
    let index = create(factory, "delete_reports_whether_it_existed", &spec()).await;
    index
        .index("a", Document::new().with("v", 1), IndexOptions::new())
        .await
        .unwrap();
    assert!(
        index.delete("a", IndexOptions::new()).await.unwrap(),
        "first delete"
    );
    assert!(
        !index.delete("a", IndexOptions::new()).await.unwrap(),
        "second delete"
    );
    assert_eq!(index.get("a").await.unwrap(), None);
    index.refresh().await.unwrap();
    assert_eq!(index.count(&SearchQuery::MatchAll).await.unwrap(), 0);
    finish(index).await;
}

/// Writes are searchable after `refresh`, or at once with `IndexOptions::refresh`.
pub async fn refresh_makes_writes_searchable(factory: &dyn SearchFactory) {
    let index = create(factory, "refresh_makes_writes_searchable", &spec()).await;
    for id in ["a", "b", "c"] {
        index
            .index(id, Document::new().with("v", 1), IndexOptions::new())
            .await
            .unwrap();
    }
    index.refresh().await.unwrap();
    assert_eq!(index.count(&SearchQuery::MatchAll).await.unwrap(), 3);
    index
        .index(
            "d",
            Document::new().with("v", 2),
            IndexOptions::new().refresh(),
        )
        .await
        .unwrap();
    assert_eq!(
        index.count(&SearchQuery::term("v", 2)).await.unwrap(),
        1,
        "a write with refresh must be searchable when it returns"
    );
    finish(index).await;
}

/// A health check answers with the index's backend name.
pub async fn health_answers(factory: &dyn SearchFactory) {
    let index = create(factory, "health_answers", &spec()).await;
    let report = index.health().await.expect("health");
    assert_eq!(report.backend, index.backend());
    finish(index).await;
}

/// Bad input is `InvalidInput`: empty ids, bad index names, `from + size` beyond 10,000 and
/// `search_after` without a sort.
pub async fn invalid_input_is_rejected(factory: &dyn SearchFactory) {
    let index = create(factory, "invalid_input_is_rejected", &spec()).await;
    let empty = Document::new().with("a", 1);
    assert_kind(
        index.index("", empty.clone(), IndexOptions::new()).await,
        ErrorKind::InvalidInput,
        "index with an empty id",
    );
    assert_kind(
        index.get("").await,
        ErrorKind::InvalidInput,
        "get with an empty id",
    );
    assert_kind(
        index.update("", empty, IndexOptions::new()).await,
        ErrorKind::InvalidInput,
        "update with an empty id",
    );
    assert_kind(
        index.delete("", IndexOptions::new()).await,
        ErrorKind::InvalidInput,
        "delete with an empty id",
    );
    for bad in ["", "UPPER", "_leading", "has space", "a/b", "."] {
        assert_kind(
            IndexName::new(bad),
            ErrorKind::InvalidInput,
            &format!("index name {bad:?}"),
        );
    }
    let deep = SearchRequest::new(SearchQuery::MatchAll)
        .from(9_995)
        .size(10);
    assert_kind(
        index.search(&deep).await,
        ErrorKind::InvalidInput,
        "from + size > 10000",
    );
    let widest = SearchRequest::new(SearchQuery::MatchAll).size(10_000);
    index
        .search(&widest)
        .await
        .expect("from + size = 10000 is allowed");
    let unsorted = SearchRequest::new(SearchQuery::MatchAll).search_after(vec![1.into()]);
    assert_kind(
        index.search(&unsorted).await,
        ErrorKind::InvalidInput,
        "search_after without sort",
    );
    finish(index).await;
}

/// A value that does not fit its mapped type (text in a long field) is `InvalidInput`, and the
/// document is not stored.
pub async fn mapping_conflict_is_invalid_input(factory: &dyn SearchFactory) {
    let spec = spec().field("n", FieldType::Long);
    let index = create(factory, "mapping_conflict_is_invalid_input", &spec).await;
    let bad = Document::new().with("n", "not a number");
    assert_kind(
        index.index("a", bad, IndexOptions::new()).await,
        ErrorKind::InvalidInput,
        "text into a long field",
    );
    assert_eq!(
        index.get("a").await.unwrap(),
        None,
        "a rejected document must not be stored"
    );
    index
        .index("b", Document::new().with("n", 7), IndexOptions::new())
        .await
        .expect("a long fits");
    finish(index).await;
}
