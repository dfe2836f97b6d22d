//! A conditional write whose first run landed but whose answer was lost is retried, and the
//! retry is refused because of what that first run wrote. The stack reads what is there: when
//! it is exactly what the write meant to leave, the write is reported done; anything else keeps
//! the refusal. A write that ran once is never second-guessed.

use std::time::Duration;

use bytes::Bytes;
use store_core::document::{GetItemOptions, PutItemOptions, attr};
use store_core::memory::{MemoryDocumentStore, MemoryObjectStore, MemorySearchIndex};
use store_core::object::{PutMode, PutOptions};
use store_core::search::{IndexOptions, IndexSpec, OpType};
use store_core::{
    DocKey, Document, DocumentStore, ErrorKind, KeySchema, KeyType, ObjectKey, ObjectStore,
    ObjectStoreExt as _, RetryPolicy, SearchIndex,
};
use store_layers::{FaultLayer, LayerExt, Layers};

fn layers(faults: &FaultLayer) -> Layers {
    let policy = RetryPolicy::default()
        .base_delay(Duration::from_millis(5))
        .max_attempts(4)
        .without_jitter();
    Layers::new().retry(policy).faults(faults.clone())
}

fn key(name: &str) -> ObjectKey {
    ObjectKey::new(name).unwrap()
}

fn create_only() -> PutOptions {
    PutOptions::new()
        .mode(PutMode::CreateOnly)
        .content_type("text/plain")
}

#[tokio::test(start_paused = true)]
async fn a_create_only_put_whose_answer_was_lost_is_done_not_already_existing() {
    let faults = FaultLayer::seeded(1);
    let store = MemoryObjectStore::new().layer(layers(&faults));
    faults.fail_next_after_success(1, ErrorKind::Unavailable);

    let put = store
        .put(&key("report.txt"), Bytes::from("v1"), create_only())
        .await
        .expect("settled: the object there is this put's");
    // Two runs of the put, then the read that settled it.
    assert_eq!((faults.calls(), faults.injected_after_success()), (3, 1));
    let head = store.head(&key("report.txt")).await.unwrap();
    assert_eq!(put.etag, head.etag, "the answer names the stored object");
    assert_eq!(store.get_bytes(&key("report.txt")).await.unwrap(), "v1");
}

#[tokio::test(start_paused = true)]
async fn an_if_match_put_whose_answer_was_lost_is_done() {
    let faults = FaultLayer::seeded(1);
    let store = MemoryObjectStore::new().layer(layers(&faults));
    let first = store.put_str(&key("k"), "old").await.unwrap();
    let if_match = PutOptions::new().mode(PutMode::IfMatch(first.etag.unwrap()));
    faults.fail_next_after_success(1, ErrorKind::Unavailable);

    let put = store
        .put(&key("k"), Bytes::from("new"), if_match)
        .await
        .expect("settled");
    assert_eq!(store.get_bytes(&key("k")).await.unwrap(), "new");
    assert_eq!(put.etag, store.head(&key("k")).await.unwrap().etag);
}

/// Another writer's different object was there first: the retry's refusal stands.
#[tokio::test(start_paused = true)]
async fn a_refusal_by_another_writers_object_stands() {
    let faults = FaultLayer::seeded(1);
    let store = MemoryObjectStore::new().layer(layers(&faults));
    store
        .put(&key("k"), Bytes::from("theirs"), create_only())
        .await
        .unwrap();
    // The first run fails before the store sees it; the retry finds their object.
    faults.fail_next(1, ErrorKind::Unavailable);
    let err = store
        .put(&key("k"), Bytes::from("mine"), create_only())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    // Same bytes, other content type: not what this put meant to leave either.
    faults.fail_next(1, ErrorKind::Unavailable);
    let other_type = PutOptions::new()
        .mode(PutMode::CreateOnly)
        .content_type("application/json");
    let err = store
        .put(&key("k"), Bytes::from("theirs"), other_type)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert_eq!(store.get_bytes(&key("k")).await.unwrap(), "theirs");
}

/// A create-only put that ran once is refused when anything is there, even the same bytes:
/// only a repeated run can have refused itself.
#[tokio::test(start_paused = true)]
async fn a_put_that_ran_once_is_refused_as_always() {
    let faults = FaultLayer::seeded(1);
    let store = MemoryObjectStore::new().layer(layers(&faults));
    store
        .put(&key("k"), Bytes::from("same"), create_only())
        .await
        .unwrap();
    let err = store
        .put(&key("k"), Bytes::from("same"), create_only())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert_eq!(faults.calls(), 2);
}

fn table(faults: &FaultLayer) -> impl DocumentStore {
    MemoryDocumentStore::new("leases", KeySchema::partition("id", KeyType::String))
        .unwrap()
        .layer(layers(faults))
}

fn lease(owner: &str) -> Document {
    Document::new().with("id", "lease-1").with("owner", owner)
}

fn if_absent() -> PutItemOptions {
    PutItemOptions::new().condition(attr("id").not_exists())
}

#[tokio::test(start_paused = true)]
async fn a_conditional_item_put_whose_answer_was_lost_is_done() {
    let faults = FaultLayer::seeded(1);
    let leases = table(&faults);
    faults.fail_next_after_success(1, ErrorKind::Unavailable);

    let put = leases.put(lease("me"), if_absent()).await.expect("settled");
    assert_eq!(put, None);
    let stored = leases
        .get(&DocKey::partition("lease-1"), GetItemOptions::new())
        .await
        .unwrap();
    assert_eq!(stored, Some(lease("me")));

    // Someone else's lease: the retry's refusal stands.
    faults.fail_next(1, ErrorKind::Unavailable);
    let err = leases.put(lease("you"), if_absent()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
}

/// The replaced item was asked for, and the run that replaced it lost its answer: the refusal
/// is returned rather than a made-up "nothing was replaced".
#[tokio::test(start_paused = true)]
async fn a_put_asking_for_the_replaced_item_is_not_settled() {
    let faults = FaultLayer::seeded(1);
    let leases = table(&faults);
    faults.fail_next_after_success(1, ErrorKind::Unavailable);
    let err = leases
        .put(lease("me"), if_absent().return_old())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
}

#[tokio::test(start_paused = true)]
async fn a_create_only_index_whose_answer_was_lost_is_done() {
    let faults = FaultLayer::seeded(1);
    let index = MemorySearchIndex::new("articles")
        .unwrap()
        .layer(layers(&faults));
    index.create(&IndexSpec::new()).await.unwrap();
    let doc = Document::new().with("title", "hello");
    let create = IndexOptions {
        op_type: OpType::Create,
        ..IndexOptions::default()
    };
    faults.fail_next_after_success(1, ErrorKind::Unavailable);

    let version = index
        .index("a1", doc.clone(), create)
        .await
        .expect("settled");
    let stored = index.get("a1").await.unwrap().unwrap();
    assert_eq!((stored.source, stored.version), (doc, version));

    faults.fail_next(1, ErrorKind::Unavailable);
    let other = Document::new().with("title", "other");
    let err = index.index("a1", other, create).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}
