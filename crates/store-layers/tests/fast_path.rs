//! The stack's fast path: a call with no outer layer to run, a free permit and no fault armed
//! in the stack runs as one small future. Here the faults sit in a layer of their own under
//! the stack, so the stack itself takes that path, and its timeout, retry and permits must
//! behave exactly as the engine's do (paused clock, exact counts).

use std::time::Duration;

use store_core::document::{GetItemOptions, PutItemOptions, Update, UpdateOptions};
use store_core::memory::MemoryDocumentStore;
use store_core::{DocKey, Document, DocumentStore, ErrorKind, KeySchema, KeyType, RetryPolicy};
use store_layers::{ConcurrencyLayer, FaultLayer, LayerExt, Layered, Layers};

fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(10))
        .max_attempts(3)
        .without_jitter()
}

/// A table whose calls meet `faults`, under a stack with retry, timeout and a shared limit.
fn stacked(
    faults: &FaultLayer,
    limit: &ConcurrencyLayer,
) -> Layered<Layered<MemoryDocumentStore, FaultLayer>, Layers> {
    MemoryDocumentStore::new("items", KeySchema::partition("id", KeyType::String))
        .expect("table")
        .layer(faults.clone())
        .layer(
            Layers::new()
                .trace()
                .retry(policy())
                .timeout(Duration::from_secs(1))
                .concurrency_layer(limit.clone()),
        )
}

#[tokio::test(start_paused = true)]
async fn a_stalled_call_is_cut_by_the_timeout_and_retried_on_schedule() {
    let faults = FaultLayer::seeded(1).latency(Duration::from_secs(60));
    let limit = ConcurrencyLayer::new(2);
    let store = stacked(&faults, &limit);
    let started = tokio::time::Instant::now();
    let err = store
        .get(&DocKey::partition("a"), GetItemOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.message().contains("did not finish within 1s"), "{err}");
    // Three attempts of 1 s each, backoffs of 10 and 20 ms between them.
    assert_eq!(started.elapsed(), Duration::from_millis(3_030));
    assert_eq!(faults.calls(), 3);
    assert_eq!(limit.available(), 2, "every permit came back");
}

#[tokio::test(start_paused = true)]
async fn failures_at_once_are_retried_with_the_exact_schedule() {
    let faults = FaultLayer::seeded(1);
    let limit = ConcurrencyLayer::new(2);
    let store = stacked(&faults, &limit);
    faults.fail_next(2, ErrorKind::Throttled);
    let started = tokio::time::Instant::now();
    let got = store
        .get(&DocKey::partition("a"), GetItemOptions::new())
        .await
        .expect("the third attempt succeeds");
    assert_eq!(got, None);
    assert_eq!((faults.calls(), faults.injected()), (3, 2));
    assert_eq!(started.elapsed(), Duration::from_millis(30));
    assert_eq!(limit.available(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_call_that_may_not_be_repeated_fails_once() {
    let faults = FaultLayer::seeded(1);
    let limit = ConcurrencyLayer::new(2);
    let store = stacked(&faults, &limit);
    store
        .put(
            Document::new().with("id", "a").with("n", 0),
            PutItemOptions::new(),
        )
        .await
        .expect("put");
    faults.fail_next(1, ErrorKind::Unavailable);
    let err = store
        .update(
            &DocKey::partition("a"),
            &Update::new().add("n", 1),
            UpdateOptions::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(faults.calls(), 2, "the put and one update attempt");
}

#[tokio::test(start_paused = true)]
async fn a_call_finding_no_permit_waits_its_turn() {
    let faults = FaultLayer::seeded(1).latency(Duration::from_millis(100));
    let limit = ConcurrencyLayer::new(1);
    let store = stacked(&faults, &limit);
    let started = tokio::time::Instant::now();
    let key = DocKey::partition("a");
    let (a, b, c) = tokio::join!(
        store.get(&key, GetItemOptions::new()),
        store.get(&key, GetItemOptions::new()),
        store.get(&key, GetItemOptions::new()),
    );
    assert!(a.is_ok() && b.is_ok() && c.is_ok());
    // One at a time: 3 x 100 ms.
    assert_eq!(started.elapsed(), Duration::from_millis(300));
    assert_eq!(limit.available(), 1);
}

#[tokio::test]
#[should_panic(expected = "polled after it finished")]
async fn a_call_answered_on_its_first_poll_is_over() {
    use std::task::{Context, Poll};

    let faults = FaultLayer::seeded(1);
    let limit = ConcurrencyLayer::new(1);
    let store = stacked(&faults, &limit);
    let key = DocKey::partition("a");
    let mut call = store.get(&key, GetItemOptions::new());
    let mut cx = Context::from_waker(std::task::Waker::noop());
    assert!(matches!(call.as_mut().poll(&mut cx), Poll::Ready(Ok(None))));
    assert_eq!(limit.available(), 1, "the permit came back with the answer");
    let _ = call.as_mut().poll(&mut cx);
}
