//! Behaviours of queries and scans.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::TryStreamExt;

use super::{
    DocumentFactory, TableSpec, eventually, expect_kind, id_only, item, pk_sk, query_all, scan_all,
    sort_keys, table,
};
use crate::document::{
    BatchWriteOptions, DocumentStore, DocumentStoreExt, Query, Scan, SortCondition, WriteOp, attr,
};
use crate::error::ErrorKind;
use crate::keys::{KeySchema, KeyType};
use crate::page::Cursor;
use crate::value::{Document, Value};

/// Writes `items` with one batch, asserting that every write landed.
async fn load(store: &dyn DocumentStore, items: Vec<Document>) {
    let ops = items.into_iter().map(WriteOp::Put).collect();
    let report = store
        .batch_write(ops, BatchWriteOptions::default())
        .await
        .expect("batch write of test items");
    assert!(
        report.is_complete(),
        "some test items were not written: {:?}",
        report.failed
    );
}

/// Partition `p` with sort keys 1..=10 and `parity`, plus a neighbour partition `q`.
async fn ten_items(store: &dyn DocumentStore) {
    let mut items: Vec<Document> = (1..=10)
        .map(|sk| item("p", sk).with("parity", if sk % 2 == 0 { "even" } else { "odd" }))
        .collect();
    items.push(item("q", 5));
    items.push(item("o", 5));
    load(store, items).await;
}

/// Every sort-key condition selects exactly the matching items, in ascending order.
pub async fn query_sort_conditions(factory: &dyn DocumentFactory) {
    let store = table(factory, "query-sort", pk_sk()).await;
    ten_items(&*store).await;
    let cases: Vec<(SortCondition, Vec<i64>)> = vec![
        (SortCondition::Eq(4.into()), vec![4]),
        (SortCondition::Lt(4.into()), vec![1, 2, 3]),
        (SortCondition::Le(4.into()), vec![1, 2, 3, 4]),
        (SortCondition::Gt(8.into()), vec![9, 10]),
        (SortCondition::Ge(8.into()), vec![8, 9, 10]),
        (SortCondition::Between(3.into(), 5.into()), vec![3, 4, 5]),
        (SortCondition::Eq(11.into()), vec![]),
    ];
    for (condition, expected) in cases {
        let found = query_all(
            &*store,
            Query::partition("p").sort(condition.clone()).consistent(),
        )
        .await;
        assert_eq!(sort_keys(&found), expected, "sort condition {condition:?}");
    }
    let all = query_all(&*store, Query::partition("p").consistent()).await;
    assert_eq!(
        sort_keys(&all),
        (1..=10).collect::<Vec<_>>(),
        "whole partition, in order"
    );

    let text = KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::String);
    let store = table(factory, "query-begins-with", text).await;
    let sorts = [
        "order#2023-12",
        "order#2024-01",
        "order#2024-02",
        "payment#2024-01",
    ];
    let docs = sorts
        .iter()
        .map(|s| Document::new().with("pk", "u").with("sk", *s))
        .collect();
    load(&*store, docs).await;
    let found = query_all(
        &*store,
        Query::partition("u")
            .sort(SortCondition::BeginsWith("order#2024".into()))
            .consistent(),
    )
    .await;
    let found: Vec<_> = found
        .iter()
        .filter_map(|d| d.get("sk").and_then(Value::as_str))
        .collect();
    assert_eq!(found, ["order#2024-01", "order#2024-02"], "begins_with");
}

/// Number sort keys order numerically (negative, fractional, large), not as text.
pub async fn query_orders_numbers_numerically(factory: &dyn DocumentFactory) {
    let store = table(factory, "query-numeric", pk_sk()).await;
    let texts = ["-10", "-2.5", "0", "0.001", "2", "10", "1E+20"];
    let docs = texts
        .iter()
        .rev()
        .map(|t| {
            Document::new()
                .with("pk", "p")
                .with("sk", t.parse::<crate::Number>().unwrap())
        })
        .collect();
    load(&*store, docs).await;
    let found = query_all(&*store, Query::partition("p").consistent()).await;
    let found: Vec<String> = found
        .iter()
        .filter_map(|d| {
            d.get("sk")
                .and_then(Value::as_number)
                .map(ToString::to_string)
        })
        .collect();
    let expected: Vec<String> = texts
        .iter()
        .map(|t| t.parse::<crate::Number>().unwrap().to_string())
        .collect();
    assert_eq!(found, expected);
}

/// `reverse` returns descending sort-key order, also with a sort condition and pages.
pub async fn query_reverse(factory: &dyn DocumentFactory) {
    let store = table(factory, "query-reverse", pk_sk()).await;
    ten_items(&*store).await;
    let found = query_all(
        &*store,
        Query::partition("p").reverse().page_size(3).consistent(),
    )
    .await;
    assert_eq!(sort_keys(&found), (1..=10).rev().collect::<Vec<_>>());
    let found = query_all(
        &*store,
        Query::partition("p")
            .sort(SortCondition::Le(4.into()))
            .reverse()
            .consistent(),
    )
    .await;
    assert_eq!(sort_keys(&found), vec![4, 3, 2, 1]);
}

/// A filter drops non-matching items after reading; a projection keeps only named attributes.
pub async fn query_filter_and_projection(factory: &dyn DocumentFactory) {
    let store = table(factory, "query-filter", pk_sk()).await;
    ten_items(&*store).await;
    let found = query_all(
        &*store,
        Query::partition("p")
            .filter(attr("parity").eq("even"))
            .page_size(3)
            .consistent(),
    )
    .await;
    assert_eq!(
        sort_keys(&found),
        vec![2, 4, 6, 8, 10],
        "filter with small pages"
    );
    let found = query_all(
        &*store,
        Query::partition("p")
            .sort(SortCondition::Eq(3.into()))
            .projection(["parity"])
            .consistent(),
    )
    .await;
    assert_eq!(found, vec![Document::new().with("parity", "odd")]);
}

/// Paging by hand with `query_page` and cursors yields every item exactly once, in order,
/// with no page larger than the page size.
pub async fn query_pages_resume_from_cursor(factory: &dyn DocumentFactory) {
    let store = table(factory, "query-pages", pk_sk()).await;
    let docs = (1..=25).map(|sk| item("p", sk)).collect();
    load(&*store, docs).await;
    let query = Query::partition("p").page_size(4).consistent();
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for _ in 0..20 {
        let page = store
            .query_page(&query, cursor.take())
            .await
            .expect("query page");
        assert!(
            page.items.len() <= 4,
            "a page held {} items",
            page.items.len()
        );
        seen.extend(sort_keys(&page.items));
        match page.next {
            Some(next) => {
                let token = next.as_token().to_owned();
                cursor = Some(Cursor::from_token(token));
            }
            None => break,
        }
    }
    assert_eq!(
        seen,
        (1..=25).collect::<Vec<_>>(),
        "every item exactly once, in order"
    );
}

/// A cursor the store did not issue is `InvalidInput`, for queries and scans.
pub async fn foreign_cursor_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "foreign-cursor", pk_sk()).await;
    ten_items(&*store).await;
    let query = Query::partition("p").consistent();
    let foreign = [
        Cursor::from_token("not a cursor at all!"),
        Cursor::encode(br#"{"junk":true}"#),
        Cursor::encode(b"\x00\xff garbage"),
    ];
    for cursor in foreign {
        let what = format!("query with {cursor:?}");
        expect_kind(
            store.query_page(&query, Some(cursor.clone())).await,
            ErrorKind::InvalidInput,
            &what,
        );
        let what = format!("scan with {cursor:?}");
        expect_kind(
            store.scan_page(&Scan::new(), Some(cursor)).await,
            ErrorKind::InvalidInput,
            &what,
        );
    }
}

/// A query on a global secondary index selects by the index keys, orders by the index sort
/// key, and leaves out items that lack the index key attributes.
pub async fn query_secondary_index(factory: &dyn DocumentFactory) {
    let index = KeySchema::partition("status", KeyType::String).with_sort("due", KeyType::Number);
    let spec = TableSpec::new("query-index", pk_sk()).with_index("by-status", index);
    let store: Arc<dyn DocumentStore> = factory.create(spec).await;
    assert!(
        store.capabilities().secondary_indexes,
        "the suite's backend must support indexes"
    );
    let docs = vec![
        item("a", 1).with("status", "open").with("due", 30),
        item("a", 2).with("status", "open").with("due", 10),
        item("b", 1).with("status", "open").with("due", 20),
        item("b", 2).with("status", "closed").with("due", 5),
        item("c", 1).with("status", "open"),
        item("c", 2).with("due", 1),
    ];
    load(&*store, docs).await;
    let query = Query::partition("open").index("by-status");
    let dues = |items: &[Document]| -> Vec<i64> {
        items
            .iter()
            .filter_map(|d| d.get("due").and_then(Value::as_i64))
            .collect()
    };
    let found: Vec<Document> = eventually(
        || {
            let store = store.clone();
            let query = query.clone();
            async move {
                store
                    .query(query)
                    .try_collect()
                    .await
                    .unwrap_or_else(|e| panic!("index query failed: {e}"))
            }
        },
        |items: &Vec<Document>| items.len() == 3,
    )
    .await;
    assert_eq!(
        found.len(),
        3,
        "index query returned {found:?}, expected the three open items with `due`"
    );
    assert_eq!(
        dues(&found),
        vec![10, 20, 30],
        "ordered by the index sort key"
    );
    let narrowed = query_all(
        &*store,
        query
            .clone()
            .sort(SortCondition::Ge(20.into()))
            .reverse()
            .page_size(1),
    )
    .await;
    assert_eq!(
        dues(&narrowed),
        vec![30, 20],
        "sort condition, reverse and paging on an index"
    );
}

/// A scan returns every item of every partition.
pub async fn scan_reads_everything(factory: &dyn DocumentFactory) {
    let store = table(factory, "scan-all", id_only()).await;
    let docs: Vec<Document> = (0..30)
        .map(|i| {
            Document::new()
                .with("id", format!("item-{i:02}"))
                .with("i", i)
        })
        .collect();
    load(&*store, docs.clone()).await;
    let found = scan_all(&*store, Scan::new()).await;
    assert_eq!(found, docs);
}

/// A scan filter keeps matching items and a projection keeps named attributes.
pub async fn scan_filter_and_projection(factory: &dyn DocumentFactory) {
    let store = table(factory, "scan-filter", pk_sk()).await;
    ten_items(&*store).await;
    let found = scan_all(&*store, Scan::new().filter(attr("sk").eq(5))).await;
    let partitions: BTreeSet<_> = found
        .iter()
        .filter_map(|d| d.get("pk").and_then(Value::as_str))
        .collect();
    assert_eq!(
        partitions,
        BTreeSet::from(["o", "p", "q"]),
        "filter on a key attribute"
    );
    let found = scan_all(
        &*store,
        Scan::new()
            .filter(attr("parity").eq("odd").and(attr("sk").gt(6)))
            .projection(["sk"]),
    )
    .await;
    let mut sks = sort_keys(&found);
    sks.sort_unstable();
    assert_eq!(sks, vec![7, 9]);
    assert!(
        found.iter().all(|d| d.len() == 1),
        "projection kept other attributes: {found:?}"
    );
}

/// Paging a scan by hand yields every item exactly once.
pub async fn scan_pages_resume_from_cursor(factory: &dyn DocumentFactory) {
    let store = table(factory, "scan-pages", pk_sk()).await;
    let docs = (1..=23)
        .map(|sk| item(if sk % 2 == 0 { "x" } else { "y" }, sk))
        .collect();
    load(&*store, docs).await;
    let scan = Scan {
        consistent: true,
        ..Scan::new().page_size(5)
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..20 {
        let page = store
            .scan_page(&scan, cursor.take())
            .await
            .expect("scan page");
        assert!(
            page.items.len() <= 5,
            "a page held {} items",
            page.items.len()
        );
        seen.extend(sort_keys(&page.items));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=23).collect::<Vec<_>>(),
        "every item exactly once"
    );
}

/// A parallel scan in several segments returns exactly the items of a full scan; segments
/// are disjoint.
pub async fn parallel_scan_matches_full_scan(factory: &dyn DocumentFactory) {
    let store = table(factory, "parallel-scan", pk_sk()).await;
    let docs = (0..40).map(|i| item(&format!("p{}", i % 13), i)).collect();
    load(&*store, docs).await;
    let full = scan_all(&*store, Scan::new()).await;
    assert_eq!(full.len(), 40);
    let scan = Scan {
        consistent: true,
        ..Scan::new().page_size(7)
    };
    let mut parallel: Vec<Document> = store
        .parallel_scan(scan.clone(), 4)
        .try_collect()
        .await
        .expect("parallel scan");
    super::sort_by_key(&*store, &mut parallel);
    assert_eq!(parallel, full, "segments together must equal the full scan");
    let mut total = 0;
    for segment in 0..4 {
        let part: Vec<Document> = store
            .scan(scan.clone().segment(segment, 4))
            .try_collect()
            .await
            .expect("segment scan");
        total += part.len();
    }
    assert_eq!(total, 40, "segments overlap or miss items");
}
