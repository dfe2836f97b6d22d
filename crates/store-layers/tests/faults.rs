//! Fault injection with retries: writes that "happened, then failed" and transient errors
//! leave exactly the input in the store, because every repeated write is idempotent.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::TryStreamExt;
use store_core::document::{BatchWriteOptions, Scan, WriteOp};
use store_core::memory::{MemoryDocumentStore, MemoryObjectStore};
use store_core::object::{ListOptions, PutOptions};
use store_core::{
    Document, DocumentStore, ErrorKind, KeySchema, KeyType, ObjectKey, ObjectStore, ObjectStoreExt,
    RetryPolicy,
};
use store_layers::{Access, Fault, FaultLayer, LayerExt, Layers};

fn storm(seed: u64) -> FaultLayer {
    FaultLayer::seeded(seed)
        .with(Fault::error(ErrorKind::Unavailable, 0.1))
        .with(
            Fault::error(ErrorKind::Unavailable, 0.1)
                .after_success()
                .access(Access::Write),
        )
}

fn patient() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(1))
        .max_attempts(20)
        .max_elapsed(None)
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_items_under_faults_land_exactly_once() {
    let faults = storm(42);
    let store = MemoryDocumentStore::new("items", KeySchema::partition("id", KeyType::String))
        .expect("table")
        .layer(Layers::new().retry(patient()).faults(faults.clone()));
    let items: Vec<Document> = (0..10_000)
        .map(|i| {
            Document::new()
                .with("id", format!("item-{i:05}"))
                .with("n", i)
        })
        .collect();
    for chunk in items.chunks(25) {
        let ops = chunk.iter().cloned().map(WriteOp::Put).collect();
        let report = store
            .batch_write(ops, BatchWriteOptions::default())
            .await
            .expect("retried until it landed");
        assert!(report.failed.is_empty());
    }
    // About a fifth of 400 batch calls (and of their retries) fail.
    assert!(
        faults.injected() > 40,
        "the storm did hit: {}",
        faults.injected()
    );
    let stored: BTreeMap<String, Document> = store
        .scan(Scan::new())
        .map_ok(|doc| {
            (
                doc.get("id")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_owned(),
                doc,
            )
        })
        .try_collect()
        .await
        .expect("scan");
    assert_eq!(stored.len(), 10_000, "0 lost, 0 duplicated");
    for item in &items {
        let id = item.get("id").and_then(|v| v.as_str()).expect("id");
        assert_eq!(
            stored.get(id),
            Some(item),
            "{id} is exactly what was written"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn two_hundred_objects_under_faults_land_exactly_once() {
    let faults = storm(7);
    let store =
        MemoryObjectStore::new().layer(Layers::new().retry(patient()).faults(faults.clone()));
    for i in 0..200u32 {
        let key = ObjectKey::new(format!("obj/{i:03}")).expect("key");
        store
            .put(
                &key,
                format!("body {i}").into_bytes().into(),
                PutOptions::new(),
            )
            .await
            .expect("retried until it landed");
    }
    assert!(faults.injected() > 10);
    let listed: Vec<_> = store
        .list(ListOptions::new())
        .try_collect()
        .await
        .expect("list");
    assert_eq!(listed.len(), 200);
    for i in 0..200u32 {
        let key = ObjectKey::new(format!("obj/{i:03}")).expect("key");
        assert_eq!(
            store.get_string(&key).await.expect("get"),
            format!("body {i}")
        );
    }
}

#[tokio::test(start_paused = true)]
async fn faults_are_deterministic_for_a_seed() {
    async fn injected(seed: u64) -> u64 {
        let faults = FaultLayer::seeded(seed).with(Fault::error(ErrorKind::Throttled, 0.3));
        let store = MemoryObjectStore::new().layer(faults.clone());
        let key = ObjectKey::new("k").expect("key");
        for _ in 0..200 {
            let _ = store.exists(&key).await;
        }
        faults.injected()
    }
    assert_eq!(injected(9).await, injected(9).await);
    let n = injected(9).await;
    assert!((30..=90).contains(&n), "about 30% of 200: {n}");
}

#[tokio::test(start_paused = true)]
async fn a_write_fault_leaves_reads_alone() {
    let faults =
        FaultLayer::seeded(3).with(Fault::error(ErrorKind::Unavailable, 1.0).access(Access::Write));
    let store = MemoryObjectStore::new().layer(faults);
    let key = ObjectKey::new("k").expect("key");
    assert_eq!(
        store.put_str(&key, "x").await.unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    assert!(!store.exists(&key).await.expect("reads pass"));
}
