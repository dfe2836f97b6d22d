//! Behaviours on an index that does not exist: which calls are `NotFound`, which create the
//! index (as OpenSearch does by default), and input checked before either.

use super::SearchFactory;
use super::support::{assert_kind, doc, unique_name};
use crate::error::ErrorKind;
use crate::search::{BulkOp, DocVersion, IndexOptions, MAX_ID_BYTES, SearchQuery, SearchRequest};
use crate::value::Document;

/// Reads, refresh, search, count, update and drop on an index that does not exist are `NotFound`.
pub async fn missing_index_is_not_found(factory: &dyn SearchFactory) {
    let index = factory
        .open(unique_name("missing_index_is_not_found"))
        .await;
    assert!(!index.exists().await.unwrap());
    assert_kind(index.get("1").await, ErrorKind::NotFound, "get");
    assert_kind(
        index
            .search(&SearchRequest::new(SearchQuery::MatchAll))
            .await,
        ErrorKind::NotFound,
        "search",
    );
    assert_kind(
        index.count(&SearchQuery::MatchAll).await,
        ErrorKind::NotFound,
        "count",
    );
    assert_kind(index.refresh().await, ErrorKind::NotFound, "refresh");
    assert_kind(index.drop_index().await, ErrorKind::NotFound, "drop_index");
    // Last, because an update creates the missing index (as OpenSearch does) before failing.
    let partial = Document::new().with("a", 1);
    assert_kind(
        index.update("1", partial, IndexOptions::new()).await,
        ErrorKind::NotFound,
        "update",
    );
    if index.exists().await.unwrap_or(false) {
        let _ = index.drop_index().await;
    }
}

/// Input is checked before the index is looked up: on an index that does not exist, an empty
/// or over-long id is `InvalidInput` for `index`, `get`, `update` and `delete`, so is a
/// create-only write that also requires a version and a search beyond the result window; a bulk
/// reports such ids as failed items with status 400. None of it creates the index.
pub async fn invalid_input_on_missing_index_is_invalid_input(factory: &dyn SearchFactory) {
    let index = factory
        .open(unique_name("invalid_input_on_missing_index"))
        .await;
    assert!(!index.exists().await.unwrap());
    let long = "x".repeat(MAX_ID_BYTES + 1);
    let body = Document::new().with("a", 1);
    for (what, id) in [("an empty id", ""), ("an id over 512 bytes", long.as_str())] {
        assert_kind(
            index.index(id, body.clone(), IndexOptions::new()).await,
            ErrorKind::InvalidInput,
            &format!("index with {what} on a missing index"),
        );
        assert_kind(
            index.get(id).await,
            ErrorKind::InvalidInput,
            &format!("get with {what} on a missing index"),
        );
        assert_kind(
            index.update(id, body.clone(), IndexOptions::new()).await,
            ErrorKind::InvalidInput,
            &format!("update with {what} on a missing index"),
        );
        assert_kind(
            index.delete(id, IndexOptions::new()).await,
            ErrorKind::InvalidInput,
            &format!("delete with {what} on a missing index"),
        );
    }
    let version = DocVersion {
        seq_no: 1,
        primary_term: 1,
    };
    assert_kind(
        index
            .index(
                "a",
                body.clone(),
                IndexOptions::new().create_only().if_version(version),
            )
            .await,
        ErrorKind::InvalidInput,
        "create-only with a version on a missing index",
    );
    let deep = SearchRequest::new(SearchQuery::MatchAll)
        .from(9_995)
        .size(10);
    assert_kind(
        index.search(&deep).await,
        ErrorKind::InvalidInput,
        "from + size > 10000 on a missing index",
    );
    let report = index
        .bulk(vec![
            BulkOp::Index {
                id: String::new(),
                doc: body,
            },
            BulkOp::Delete { id: long.clone() },
        ])
        .await
        .expect("a bulk of invalid ids on a missing index reports them");
    assert_eq!(report.succeeded, 0);
    let failed: Vec<_> = report
        .failed
        .iter()
        .map(|f| (f.position, f.status, f.error.kind()))
        .collect();
    assert_eq!(
        failed,
        [
            (0, 400, ErrorKind::InvalidInput),
            (1, 400, ErrorKind::InvalidInput)
        ],
        "{:?}",
        report.failed
    );
    assert!(
        !index.exists().await.unwrap(),
        "rejected input must not create the index"
    );
}

/// A write to an index that does not exist creates it with dynamic mapping, as OpenSearch does
/// by default: `index` and a `bulk` with writes succeed and the documents are there for `get`
/// (and for search after a refresh). A `delete` creates nothing: it is `NotFound`, and so is
/// each item of a bulk of deletes alone.
pub async fn write_to_missing_index_creates_it(factory: &dyn SearchFactory) {
    let index = factory
        .open(unique_name("write_to_missing_index_creates_it"))
        .await;
    assert!(!index.exists().await.unwrap());
    assert_kind(
        index.delete("a", IndexOptions::new()).await,
        ErrorKind::NotFound,
        "delete on a missing index",
    );
    let report = index
        .bulk(vec![BulkOp::Delete { id: "a".into() }])
        .await
        .expect("a bulk of deletes on a missing index reports its items");
    let failed: Vec<_> = report
        .failed
        .iter()
        .map(|f| (f.position, f.status, f.error.kind()))
        .collect();
    assert_eq!(
        failed,
        [(0, 404, ErrorKind::NotFound)],
        "{:?}",
        report.failed
    );
    assert!(
        !index.exists().await.unwrap(),
        "deletes must not create the index"
    );

    let source = doc(serde_json::json!({"title": "Hello world", "n": 7}));
    let version = index
        .index("a", source.clone(), IndexOptions::new())
        .await
        .expect("a write to a missing index creates it");
    assert!(
        index.exists().await.unwrap(),
        "the write must create the index"
    );
    let stored = index
        .get("a")
        .await
        .expect("get")
        .expect("the document written to the missing index");
    assert_eq!(stored.source, source);
    assert_eq!(stored.version, version);
    index.refresh().await.expect("refresh");
    assert_eq!(
        index
            .count(&SearchQuery::matches("title", "WORLD"))
            .await
            .unwrap(),
        1,
        "strings are mapped dynamically as text"
    );
    index.drop_index().await.expect("drop_index");

    let bulk_index = factory
        .open(unique_name("bulk_to_missing_index_creates_it"))
        .await;
    let report = bulk_index
        .bulk(vec![
            BulkOp::Index {
                id: "b".into(),
                doc: source.clone(),
            },
            BulkOp::Create {
                id: "c".into(),
                doc: source.clone(),
            },
        ])
        .await
        .expect("a bulk with writes on a missing index");
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(report.succeeded, 2);
    assert!(bulk_index.exists().await.unwrap());
    for id in ["b", "c"] {
        let stored = bulk_index.get(id).await.expect("get").expect(id);
        assert_eq!(stored.source, source);
    }
    bulk_index.drop_index().await.expect("drop_index");
}
