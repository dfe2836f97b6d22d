//! What a write consumes (an item, a batch) reaches the store intact however many times the
//! stack runs it: a retry sends the same value again, and a stack that never repeats a call
//! hands the value itself to its one run.

use std::time::Duration;

use store_core::document::{BatchWriteOptions, GetItemOptions, PutItemOptions, WriteOp};
use store_core::memory::{MemoryDocumentStore, MemorySearchIndex};
use store_core::search::{BulkOp, IndexOptions, IndexSpec};
use store_core::{
    DocKey, Document, DocumentStore, ErrorKind, KeySchema, KeyType, RetryPolicy, SearchIndex,
};
use store_layers::{
    Access, FaultLayer, HedgeLayer, Layer, LayerExt, Layers, OpMeta, RetryLayer, StoreKind,
};

fn table() -> MemoryDocumentStore {
    MemoryDocumentStore::new("items", KeySchema::partition("id", KeyType::String)).expect("table")
}

fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(10))
        .max_attempts(4)
        .without_jitter()
}

fn item(id: &str) -> Document {
    Document::new()
        .with("id", id)
        .with("name", "Ada")
        .with("n", 42)
}

fn call(operation: &'static str, access: Access, idempotent: bool) -> OpMeta<'static> {
    OpMeta::new(StoreKind::Document, "memory", operation, access)
        .collection("items")
        .idempotent(idempotent)
}

#[test]
fn only_a_retry_or_a_hedge_runs_a_call_again() {
    let put = call("put", Access::Write, true);
    let add = call("update", Access::Write, false);
    let get = call("get", Access::Read, true);
    let every_other = Layers::new()
        .trace()
        .timeout(Duration::from_secs(1))
        .concurrency(4)
        .faults(FaultLayer::seeded(1));
    for meta in [&put, &add, &get] {
        assert!(
            !every_other.may_repeat(meta),
            "{meta} without retry or hedge"
        );
    }
    let retried = Layers::new().retry(policy());
    assert!(retried.may_repeat(&put), "an idempotent write is retried");
    assert!(!retried.may_repeat(&add), "a non-idempotent one is not");
    let overridden =
        Layers::new().retry_layer(RetryLayer::new(policy()).idempotent("update", true));
    assert!(overridden.may_repeat(&add), "unless the caller says so");
    let hedged = Layers::new().hedge(HedgeLayer::new(Duration::from_millis(5)));
    assert!(hedged.may_repeat(&get), "a read may be hedged");
    assert!(!hedged.may_repeat(&put), "a write never is");
    assert!(RetryLayer::new(policy()).may_repeat(&put));
    assert!(!FaultLayer::seeded(1).may_repeat(&put));
}

#[tokio::test(start_paused = true)]
async fn a_retried_put_and_batch_send_the_same_values_again() {
    let faults = FaultLayer::seeded(7);
    let store = table().layer(Layers::new().retry(policy()).faults(faults.clone()));
    faults.fail_next(2, ErrorKind::Unavailable);
    store
        .put(item("a"), PutItemOptions::new())
        .await
        .expect("the third attempt writes");
    faults.fail_next(3, ErrorKind::Throttled);
    let ops = vec![WriteOp::Put(item("b")), WriteOp::Put(item("c"))];
    let report = store
        .batch_write(ops, BatchWriteOptions::default())
        .await
        .expect("the fourth attempt writes");
    assert_eq!((report.written, report.failed.len()), (2, 0));
    assert_eq!(faults.injected(), 5);
    for id in ["a", "b", "c"] {
        let got = store
            .get(&DocKey::partition(id), GetItemOptions::new())
            .await
            .expect("get");
        assert_eq!(got, Some(item(id)), "{id} as written");
    }
}

#[tokio::test]
async fn a_write_run_once_fails_whole_and_the_next_one_is_stored() {
    let faults = FaultLayer::seeded(7);
    let layers = Layers::new()
        .timeout(Duration::from_secs(5))
        .concurrency(8)
        .faults(faults.clone());
    let store = table().layer(layers.clone());
    faults.fail_next(1, ErrorKind::Unavailable);
    let err = store
        .put(item("a"), PutItemOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let key = DocKey::partition("a");
    assert_eq!(store.get(&key, GetItemOptions::new()).await.unwrap(), None);
    store.put(item("a"), PutItemOptions::new()).await.unwrap();
    assert_eq!(
        store.get(&key, GetItemOptions::new()).await.unwrap(),
        Some(item("a"))
    );

    let index = MemorySearchIndex::new("articles").unwrap().layer(layers);
    index.create(&IndexSpec::new()).await.unwrap();
    let doc = Document::new().with("title", "hello").with("views", 3);
    let ops = vec![BulkOp::Index {
        id: "a1".into(),
        doc: doc.clone(),
    }];
    assert!(index.bulk(ops).await.unwrap().is_complete());
    index
        .index("a2", doc.clone(), IndexOptions::default())
        .await
        .unwrap();
    for id in ["a1", "a2"] {
        let stored = index.get(id).await.unwrap().expect("indexed");
        assert_eq!(stored.source, doc, "{id} as indexed");
    }
}
