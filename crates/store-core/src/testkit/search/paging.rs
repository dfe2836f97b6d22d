//! Behaviours of sorting, paging, iteration, counting and bulk writes.

use std::collections::BTreeSet;

use futures::StreamExt;
use serde_json::json;

use super::SearchFactory;
use super::support::{assert_kind, create, doc, finish, ids, loaded, spec};
use crate::error::ErrorKind;
use crate::search::{
    BulkOp, FieldType, SearchIndexExt, SearchQuery as Q, SearchRequest, SortField, SortOrder,
};
use crate::value::{Number, Value};

fn numbered(count: usize) -> Vec<(String, serde_json::Value)> {
    (0..count)
        .map(|n| {
            (
                format!("doc-{n:04}"),
                json!({"n": n, "even": n % 2 == 0, "key": format!("k{n:04}")}),
            )
        })
        .collect()
}

fn numbered_spec() -> crate::search::IndexSpec {
    spec()
        .field("n", FieldType::Long)
        .field("even", FieldType::Boolean)
        .field("key", FieldType::Keyword)
}

async fn load_numbered(
    factory: &dyn SearchFactory,
    behaviour: &str,
    count: usize,
) -> std::sync::Arc<dyn crate::search::SearchIndex> {
    let docs = numbered(count);
    let refs: Vec<(&str, serde_json::Value)> = docs
        .iter()
        .map(|(id, d)| (id.as_str(), d.clone()))
        .collect();
    loaded(factory, behaviour, &numbered_spec(), &refs).await
}

/// Sorting by a numeric field orders hits ascending or descending, and each hit's `sort` holds
/// its value.
pub async fn sort_by_number_asc_and_desc(factory: &dyn SearchFactory) {
    let spec = spec().field("n", FieldType::Long);
    let docs = [
        ("b", json!({"n": 2})),
        ("c", json!({"n": 3})),
        ("a", json!({"n": 1})),
    ];
    let index = loaded(factory, "sort_by_number_asc_and_desc", &spec, &docs).await;
    let asc = SearchRequest::new(Q::MatchAll).sort(SortField::asc("n"));
    assert_eq!(ids(&index, &asc).await, ["a", "b", "c"]);
    let desc = SearchRequest::new(Q::MatchAll).sort(SortField::desc("n"));
    let response = index.search(&desc).await.unwrap();
    let order: Vec<_> = response.hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(order, ["c", "b", "a"]);
    assert_eq!(response.hits[0].sort, [Value::Number(Number::from(3))]);
    finish(index).await;
}

/// Sorting on an analyzed text field is `InvalidInput`; its `.keyword` sub-field sorts.
pub async fn sort_on_text_is_invalid_input(factory: &dyn SearchFactory) {
    let spec = spec().field("title", FieldType::Text);
    let docs = [
        ("a", json!({"title": "b", "city": "Oslo"})),
        ("b", json!({"title": "a", "city": "Bergen"})),
    ];
    let index = loaded(factory, "sort_on_text_is_invalid_input", &spec, &docs).await;
    for field in ["title", "city"] {
        let request = SearchRequest::new(Q::MatchAll).sort(SortField::asc(field));
        assert_kind(
            index.search(&request).await,
            ErrorKind::InvalidInput,
            &format!("sort on text `{field}`"),
        );
    }
    let by_keyword = SearchRequest::new(Q::MatchAll).sort(SortField::asc("city.keyword"));
    assert_eq!(ids(&index, &by_keyword).await, ["b", "a"]);
    finish(index).await;
}

/// `from` and `size` page through sorted hits; `total` counts every match.
pub async fn from_and_size_page_through_hits(factory: &dyn SearchFactory) {
    let index = load_numbered(factory, "from_and_size_page_through_hits", 25).await;
    let base = SearchRequest::new(Q::MatchAll)
        .sort(SortField::asc("n"))
        .size(10);
    let expect = |range: std::ops::Range<usize>| -> Vec<String> {
        range.map(|n| format!("doc-{n:04}")).collect()
    };
    for (from, range) in [(0, 0..10), (10, 10..20), (20, 20..25), (30, 25..25)] {
        let response = index.search(&base.clone().from(from)).await.unwrap();
        let got: Vec<_> = response.hits.into_iter().map(|h| h.id).collect();
        assert_eq!(got, expect(range), "page from {from}");
        assert_eq!(response.total, 25, "total at from {from}");
    }
    let none = index.search(&base.clone().size(0)).await.unwrap();
    assert!(none.hits.is_empty());
    assert_eq!(none.total, 25, "size 0 still counts");
    finish(index).await;
}

/// `search_after` with the last hit's sort values continues strictly after it: every hit once,
/// in order, and an empty page at the end.
pub async fn search_after_continues_without_repeats(factory: &dyn SearchFactory) {
    let index = load_numbered(factory, "search_after_continues_without_repeats", 25).await;
    let base = SearchRequest::new(Q::MatchAll)
        .sort(SortField::Field("n".into(), SortOrder::Desc))
        .size(10);
    let mut seen = Vec::new();
    let mut request = base.clone();
    let mut pages = 0;
    loop {
        let hits = index.search(&request).await.unwrap().hits;
        if hits.is_empty() {
            break;
        }
        pages += 1;
        assert!(pages <= 3, "too many pages");
        request = base.clone().search_after(hits.last().unwrap().sort.clone());
        seen.extend(hits.into_iter().map(|h| h.id));
    }
    let expected: Vec<String> = (0..25).rev().map(|n| format!("doc-{n:04}")).collect();
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);
    finish(index).await;
}

/// `SearchIndexExt::search_all` over 250 documents in pages of 50 yields each exactly once, in
/// sort order, and honours the query.
pub async fn search_all_yields_every_document_once(factory: &dyn SearchFactory) {
    let index = create(
        factory,
        "search_all_yields_every_document_once",
        &numbered_spec(),
    )
    .await;
    let ops = numbered(250)
        .into_iter()
        .map(|(id, d)| BulkOp::Index { id, doc: doc(d) })
        .collect();
    let report = index.bulk(ops).await.expect("bulk");
    assert!(report.is_complete(), "bulk failures: {:?}", report.failed);
    index.refresh().await.unwrap();
    let request = SearchRequest::new(Q::MatchAll)
        .sort(SortField::asc("key"))
        .size(50);
    let hits: Vec<_> = index.search_all(request).collect().await;
    let ids: Vec<String> = hits.into_iter().map(|h| h.expect("page").id).collect();
    assert_eq!(ids.len(), 250);
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        250,
        "no id may repeat"
    );
    let expected: Vec<String> = (0..250).map(|n| format!("doc-{n:04}")).collect();
    assert_eq!(ids, expected, "hits come in sort order");
    let filtered = SearchRequest::new(Q::range("n").lt(120))
        .sort(SortField::desc("n"))
        .size(50);
    let count = index
        .search_all(filtered)
        .filter(|h| futures::future::ready(h.is_ok()))
        .count()
        .await;
    assert_eq!(count, 120);
    finish(index).await;
}

/// `count` counts the documents matching a query.
pub async fn count_with_query(factory: &dyn SearchFactory) {
    let index = load_numbered(factory, "count_with_query", 10).await;
    assert_eq!(index.count(&Q::MatchAll).await.unwrap(), 10);
    assert_eq!(index.count(&Q::term("even", true)).await.unwrap(), 5);
    assert_eq!(index.count(&Q::range("n").gte(7)).await.unwrap(), 3);
    assert_eq!(index.count(&Q::term("key", "absent")).await.unwrap(), 0);
    finish(index).await;
}

/// Bulk applies every operation on its own: the report counts the successes and lists exactly
/// the failed positions with their id, status and error kind.
pub async fn bulk_reports_each_failure(factory: &dyn SearchFactory) {
    let spec = spec().field("n", FieldType::Long);
    let index = create(factory, "bulk_reports_each_failure", &spec).await;
    let ops = vec![
        BulkOp::Index {
            id: "a".into(),
            doc: doc(json!({"n": 1})),
        },
        BulkOp::Create {
            id: "b".into(),
            doc: doc(json!({"n": 2})),
        },
        BulkOp::Create {
            id: "a".into(),
            doc: doc(json!({"n": 3})),
        },
        BulkOp::Update {
            id: "z".into(),
            partial: doc(json!({"n": 4})),
        },
        BulkOp::Index {
            id: "c".into(),
            doc: doc(json!({"n": "not a number"})),
        },
        BulkOp::Update {
            id: "a".into(),
            partial: doc(json!({"n": 10})),
        },
        BulkOp::Delete { id: "b".into() },
    ];
    let report = index.bulk(ops).await.expect("bulk");
    assert_eq!(
        report.succeeded, 4,
        "successes; failures were {:?}",
        report.failed
    );
    let failed: Vec<_> = report
        .failed
        .iter()
        .map(|f| (f.position, f.id.as_str(), f.status, f.error.kind()))
        .collect();
    assert_eq!(
        failed,
        [
            (2, "a", 409, ErrorKind::AlreadyExists),
            (3, "z", 404, ErrorKind::NotFound),
            (4, "c", 400, ErrorKind::InvalidInput),
        ]
    );
    let a = index.get("a").await.unwrap().expect("a exists");
    assert_eq!(a.source, doc(json!({"n": 10})));
    assert_eq!(index.get("b").await.unwrap(), None);
    assert_eq!(index.get("c").await.unwrap(), None);
    assert_eq!(index.get("z").await.unwrap(), None);
    finish(index).await;
}

/// Hits carry a score when ordered by relevance (by default or explicitly) and none when sorted
/// by a field; without sort keys their `sort` is empty.
pub async fn score_only_when_sorting_by_score(factory: &dyn SearchFactory) {
    let index = load_numbered(factory, "score_only_when_sorting_by_score", 3).await;
    let by_default = index
        .search(&SearchRequest::new(Q::MatchAll))
        .await
        .unwrap();
    assert!(
        by_default
            .hits
            .iter()
            .all(|h| h.score.is_some() && h.sort.is_empty())
    );
    let by_field = SearchRequest::new(Q::MatchAll).sort(SortField::asc("n"));
    let hits = index.search(&by_field).await.unwrap().hits;
    assert!(hits.iter().all(|h| h.score.is_none()), "{hits:?}");
    let by_score = SearchRequest::new(Q::MatchAll).sort(SortField::Score(SortOrder::Desc));
    let hits = index.search(&by_score).await.unwrap().hits;
    assert!(
        hits.iter().all(|h| h.score.is_some() && h.sort.len() == 1),
        "{hits:?}"
    );
    finish(index).await;
}
