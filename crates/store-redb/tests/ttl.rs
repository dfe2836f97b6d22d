//! Time to live: which items expire (DynamoDB's rules), the purge removing them and their
//! index entries in one transaction, the background sweep, and the errors of a store
//! without TTL or opened read-only.

#[path = "support/temp.rs"]
mod temp;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::TryStreamExt;
use store_core::document::{GetItemOptions, PutItemOptions, Query};
use store_core::{DocKey, Document, DocumentStore, ErrorKind, KeySchema, KeyType, Number, Value};
use store_redb::RedbStore;
use temp::TempDir;

fn schema() -> KeySchema {
    KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn item(sk: i64, expires: Option<Value>) -> Document {
    let doc = Document::new()
        .with("pk", "session")
        .with("sk", sk)
        .with("state", "live");
    match expires {
        Some(at) => doc.with("expires", at),
        None => doc,
    }
}

fn number(text: String) -> Value {
    Value::Number(text.parse::<Number>().expect("number"))
}

async fn present(store: &RedbStore, sk: i64) -> bool {
    store
        .get(
            &DocKey::partition("session").with_sort(sk),
            GetItemOptions::default(),
        )
        .await
        .expect("get")
        .is_some()
}

#[tokio::test]
async fn purge_deletes_exactly_the_expired_items_and_their_index_entries() {
    let dir = TempDir::new("ttl-purge");
    let store = RedbStore::builder(dir.path().join("t.redb"), "sessions", schema())
        .index("by-state", KeySchema::partition("state", KeyType::String))
        .ttl_attribute("expires")
        .build()
        .await
        .expect("open");
    let t = now();
    let cases = [
        (1, Some(Value::from(t - 60)), true),
        (2, Some(number(format!("{}.5", t - 1))), true),
        (3, Some(Value::from(t + 3_600)), false),
        (4, None, false),
        (5, Some(Value::from((t - 60).to_string())), false),
        (6, Some(Value::from(t - 6 * 365 * 24 * 3_600)), false),
        (7, Some(Value::from((t - 60) * 1_000)), false),
    ];
    for (sk, expires, _) in &cases {
        store
            .put(item(*sk, expires.clone()), PutItemOptions::default())
            .await
            .expect("put");
    }
    // As on DynamoDB, an expired item is readable until it is deleted.
    assert!(present(&store, 1).await);

    assert_eq!(store.purge_expired().await.expect("purge"), 2);
    for (sk, _, expired) in &cases {
        assert_eq!(present(&store, *sk).await, !expired, "item {sk}");
    }
    let by_state: Vec<Document> = store
        .query(Query::partition("live").index("by-state"))
        .try_collect()
        .await
        .expect("query index");
    let mut left: Vec<i64> = by_state
        .iter()
        .filter_map(|d| d.get("sk").and_then(Value::as_number))
        .filter_map(Number::to_i64)
        .collect();
    left.sort_unstable();
    assert_eq!(left, [3, 4, 5, 6, 7]);
    assert_eq!(store.purge_expired().await.expect("second purge"), 0);
    assert_eq!(store.len().await.expect("len"), 5);
}

#[tokio::test]
async fn the_sweep_deletes_expired_items_in_the_background() {
    let dir = TempDir::new("ttl-sweep");
    let store = RedbStore::builder(dir.path().join("t.redb"), "sessions", schema())
        .ttl_attribute("expires")
        .ttl_sweep_every(Duration::from_millis(50))
        .build()
        .await
        .expect("open");
    store
        .put(
            item(1, Some(Value::from(now() - 5))),
            PutItemOptions::default(),
        )
        .await
        .expect("put");
    store
        .put(
            item(2, Some(Value::from(now() + 3_600))),
            PutItemOptions::default(),
        )
        .await
        .expect("put");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while present(&store, 1).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sweep did not delete the expired item"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(present(&store, 2).await);
}

#[tokio::test]
async fn purge_needs_a_ttl_attribute_and_a_writable_store() {
    let dir = TempDir::new("ttl-errors");
    let path = dir.path().join("t.redb");
    let store = RedbStore::open(&path, "sessions", schema())
        .await
        .expect("open");
    let err = store.purge_expired().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("ttl_attribute"), "{err}");
    drop(store);

    let read_only = RedbStore::builder(&path, "sessions", schema())
        .ttl_attribute("expires")
        .read_only(true)
        .build()
        .await
        .expect("open read-only");
    let err = read_only.purge_expired().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    let err = RedbStore::builder(dir.path().join("u.redb"), "sessions", schema())
        .ttl_sweep_every(Duration::from_secs(1))
        .build()
        .await
        .expect_err("a sweep without attribute is refused");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}
