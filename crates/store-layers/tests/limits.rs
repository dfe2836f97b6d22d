//! Timeouts and the concurrency limit on a paused clock.

use std::sync::Arc;
use std::time::Duration;

use store_core::memory::MemoryObjectStore;
use store_core::{ErrorKind, ObjectKey, ObjectStore, ObjectStoreExt, RetryPolicy};
use store_layers::{ConcurrencyLayer, FaultLayer, LayerExt, Layers, TimeoutLayer};

#[tokio::test(start_paused = true)]
async fn a_stalled_call_times_out_with_unavailable_naming_it() {
    let store = MemoryObjectStore::new().layer(
        Layers::new()
            .timeout(Duration::from_secs(1))
            .faults(FaultLayer::seeded(1).latency(Duration::from_secs(60))),
    );
    let started = tokio::time::Instant::now();
    let err = store
        .exists(&ObjectKey::new("k").expect("key"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.message().contains("head"), "{err}");
    assert_eq!(started.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn each_attempt_gets_its_own_time_limit() {
    let store = MemoryObjectStore::new().layer(
        Layers::new()
            .retry(
                RetryPolicy::default()
                    .max_attempts(3)
                    .base_delay(Duration::from_millis(10))
                    .without_jitter(),
            )
            .timeout_layer(TimeoutLayer::new(Duration::from_secs(1)))
            .faults(FaultLayer::seeded(1).latency(Duration::from_secs(60))),
    );
    let started = tokio::time::Instant::now();
    let err = store
        .exists(&ObjectKey::new("k").expect("key"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    // Three attempts of 1 s each, and backoffs of 10 and 20 ms between them.
    assert_eq!(started.elapsed(), Duration::from_millis(3_030));
}

#[tokio::test(start_paused = true)]
async fn the_concurrency_limit_is_shared_and_never_exceeded() {
    let limit = ConcurrencyLayer::new(3);
    // Two stores share one limit; each call holds its permit for 100 ms of latency.
    let slow = || {
        MemoryObjectStore::new().layer(
            Layers::new()
                .concurrency_layer(limit.clone())
                .faults(FaultLayer::seeded(1).latency(Duration::from_millis(100))),
        )
    };
    let stores: Vec<Arc<dyn ObjectStore>> = vec![Arc::new(slow()), Arc::new(slow())];
    let mut tasks = Vec::new();
    for i in 0..12 {
        let store = stores[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            let key = ObjectKey::new(format!("k{i}")).expect("key");
            store.put_str(&key, "x").await.expect("put");
        }));
    }
    let started = tokio::time::Instant::now();
    for t in tasks {
        t.await.expect("task");
    }
    // 12 calls of 100 ms, 3 at a time across both stores: 400 ms (a limit per store would
    // have let 6 run at once and finished in 200 ms).
    assert_eq!(started.elapsed(), Duration::from_millis(400));
    assert_eq!(limit.available(), 3, "every permit came back");
}
