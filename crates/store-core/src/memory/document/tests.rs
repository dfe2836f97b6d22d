//! Unit tests of what only the memory backend promises, or what the conformance suite does
//! not hold every backend to.

use std::sync::Arc;

use super::MemoryDocumentStore;
use crate::document::{DocumentStore, PutItemOptions, Query, SortCondition, attr};
use crate::error::ErrorKind;
use crate::health::Health;
use crate::keys::{KeySchema, KeyType};
use crate::value::Document;

fn store() -> MemoryDocumentStore {
    let schema = KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number);
    let index = KeySchema::partition("status", KeyType::String);
    MemoryDocumentStore::new("unit", schema)
        .and_then(|s| s.with_index("by-status", index))
        .expect("store")
}

fn item(pk: &str, sk: i64) -> Document {
    Document::new().with("pk", pk).with("sk", sk)
}

#[test]
fn names_are_validated() {
    let schema = KeySchema::partition("id", KeyType::String);
    let err = MemoryDocumentStore::new("no", schema.clone()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = store().with_index("by-status", schema.clone()).unwrap_err();
    assert!(err.message().contains("already has an index"), "{err}");
    assert!(store().with_index("bad name", schema).is_err());
}

#[tokio::test]
async fn clones_share_items_and_debug_does_not_dump_them() {
    let a = store();
    let b = a.clone();
    a.put(item("p", 1).with("secret", "s3cr3t"), PutItemOptions::new())
        .await
        .unwrap();
    assert_eq!(b.len(), 1);
    let debug = format!("{b:?}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
    assert!(debug.contains("items: 1"), "{debug}");
    let report = b.health().await.unwrap();
    assert_eq!(report.backend, "memory");
}

#[tokio::test]
async fn many_tasks_write_concurrently() {
    let store = Arc::new(store());
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..50 {
                    store
                        .put(item(&format!("t{t}"), i), PutItemOptions::new())
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.len(), 400);
}

#[tokio::test]
async fn query_filters_may_not_name_key_attributes() {
    let store = store();
    let query = Query::partition("p").filter(attr("sk").gt(1));
    let err = store.query_page(&query, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("`sk`"), "{err}");
}

#[tokio::test]
async fn index_rules_follow_global_secondary_indexes() {
    let store = store();
    let wrong_type = item("p", 1).with("status", 5);
    let err = store
        .put(wrong_type, PutItemOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let consistent = Query::partition("open").index("by-status").consistent();
    let err = store.query_page(&consistent, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let no_sort = Query::partition("open")
        .index("by-status")
        .sort(SortCondition::Eq(1.into()));
    let err = store.query_page(&no_sort, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[tokio::test]
async fn a_cursor_only_resumes_the_call_that_issued_it() {
    let store = store();
    for sk in 0..3 {
        let doc = item("p", sk).with("status", "open");
        store.put(doc, PutItemOptions::new()).await.unwrap();
    }
    let query = Query::partition("p").page_size(1);
    let cursor = store.query_page(&query, None).await.unwrap().next.unwrap();
    let scan = crate::document::Scan::new();
    let err = store
        .scan_page(&scan, Some(cursor.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let on_index = Query::partition("open").index("by-status");
    let err = store
        .query_page(&on_index, Some(cursor.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let other = MemoryDocumentStore::new("other", store.key_schema().clone()).unwrap();
    let err = other.query_page(&query, Some(cursor)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("memory query"), "{err}");
}
