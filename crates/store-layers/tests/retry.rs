//! The retry layer on a paused clock: exact counts and schedule, idempotency decides, the
//! budget stops a storm.

use std::time::Duration;

use store_core::document::{GetItemOptions, PutItemOptions, Update, UpdateOptions};
use store_core::memory::MemoryDocumentStore;
use store_core::{DocKey, Document, DocumentStore, ErrorKind, KeySchema, KeyType, RetryPolicy};
use store_layers::{FaultLayer, LayerExt, Layers, RetryBudget, RetryLayer};

fn table() -> MemoryDocumentStore {
    MemoryDocumentStore::new("items", KeySchema::partition("id", KeyType::String)).expect("table")
}

fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(100))
        .max_attempts(4)
        .without_jitter()
}

#[tokio::test(start_paused = true)]
async fn retries_follow_the_policy_schedule_exactly() {
    let faults = FaultLayer::seeded(1);
    let store = table().layer(Layers::new().retry(policy()).faults(faults.clone()));
    faults.fail_next(3, ErrorKind::Unavailable);
    let started = tokio::time::Instant::now();
    let got = store
        .get(&DocKey::partition("a"), GetItemOptions::new())
        .await
        .expect("the fourth attempt succeeds");
    assert_eq!(got, None);
    assert_eq!(faults.injected(), 3);
    // 100 + 200 + 400 ms of backoff, nothing else.
    assert_eq!(started.elapsed(), Duration::from_millis(700));

    faults.fail_next(4, ErrorKind::Throttled);
    let err = store
        .get(&DocKey::partition("a"), GetItemOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Throttled,
        "the last error comes back"
    );
    assert_eq!(faults.injected(), 7, "four attempts, no more");
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_are_not_retried() {
    let faults = FaultLayer::seeded(1);
    let store = table().layer(Layers::new().retry(policy()).faults(faults.clone()));
    faults.fail_next(2, ErrorKind::InvalidInput);
    let err = store
        .get(&DocKey::partition("a"), GetItemOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(faults.injected(), 1, "one attempt only");
}

#[tokio::test(start_paused = true)]
async fn non_idempotent_updates_run_once_unless_told_otherwise() {
    let faults = FaultLayer::seeded(1);
    let store = table().layer(Layers::new().retry(policy()).faults(faults.clone()));
    store
        .put(
            Document::new().with("id", "a").with("n", 0),
            PutItemOptions::new(),
        )
        .await
        .expect("put");
    let add = Update::new().add("n", 1);
    faults.fail_next(1, ErrorKind::Unavailable);
    let err = store
        .update(&DocKey::partition("a"), &add, UpdateOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Unavailable,
        "ADD to a number is not repeated"
    );
    // `set` is idempotent: retried.
    faults.fail_next(1, ErrorKind::Unavailable);
    store
        .update(
            &DocKey::partition("a"),
            &Update::new().set("s", "x"),
            UpdateOptions::new(),
        )
        .await
        .expect("a set is retried");
    // An explicit override makes `update` repeatable.
    let forced = table().layer(
        Layers::new()
            .retry_layer(RetryLayer::new(policy()).idempotent("update", true))
            .faults(faults.clone()),
    );
    faults.fail_next(1, ErrorKind::Unavailable);
    forced
        .update(&DocKey::partition("b"), &add, UpdateOptions::new())
        .await
        .expect("retried by override");
}

#[tokio::test(start_paused = true)]
async fn a_budget_stops_a_retry_storm() {
    let faults = FaultLayer::seeded(1);
    let budget = RetryBudget::new(0.1, 5);
    let store = table().layer(
        Layers::new()
            .retry_layer(RetryLayer::new(policy()).budget(budget.clone()))
            .faults(faults.clone()),
    );
    // Every call fails: without a budget, 100 calls would make 400 attempts.
    faults.fail_next(10_000, ErrorKind::Unavailable);
    for _ in 0..100 {
        let _ = store
            .get(&DocKey::partition("a"), GetItemOptions::new())
            .await;
    }
    let attempts = faults.injected();
    // 100 first attempts, the reserve of 5, and 0.1 earned per call (at most 10 more).
    assert!(
        (100..=115).contains(&attempts),
        "{attempts} attempts for 100 calls"
    );
    assert_eq!(budget.available(), 0);
}
