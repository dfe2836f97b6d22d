//! The circuit breaker on a paused clock: closed → open → half-open → closed, fail-fast with
//! when it will try again, and only transient errors counted.

use std::time::Duration;

use store_core::memory::MemoryObjectStore;
use store_core::{ErrorKind, ObjectKey, ObjectStoreExt, RetryPolicy};
use store_layers::{
    BreakerConfig, BreakerLayer, BreakerState, FaultLayer, LayerExt, Layered, Layers,
    RateLimitLayer,
};

fn config() -> BreakerConfig {
    BreakerConfig {
        window: 10,
        min_calls: 4,
        failure_rate: 0.5,
        open_for: Duration::from_secs(10),
        probes: 1,
    }
}

/// A memory store behind `breaker`, failing as `faults` says.
fn guarded(breaker: &BreakerLayer, faults: &FaultLayer) -> Layered<MemoryObjectStore, Layers> {
    MemoryObjectStore::new().layer(
        Layers::new()
            .breaker(breaker.clone())
            .faults(faults.clone()),
    )
}

fn key() -> ObjectKey {
    ObjectKey::new("k").expect("key")
}

#[tokio::test(start_paused = true)]
async fn opens_fails_fast_probes_and_closes() {
    let breaker = BreakerLayer::new(config());
    let faults = FaultLayer::seeded(1);
    let store = guarded(&breaker, &faults);

    // Two successes, then transient failures until half of at least four calls failed.
    store.exists(&key()).await.expect("ok");
    store.exists(&key()).await.expect("ok");
    faults.fail_next(2, ErrorKind::Unavailable);
    for _ in 0..2 {
        assert_eq!(
            store.exists(&key()).await.unwrap_err().kind(),
            ErrorKind::Unavailable
        );
    }
    assert_eq!(
        breaker.state(),
        BreakerState::Open {
            retry_in: Duration::from_secs(10)
        }
    );
    assert_eq!(faults.injected(), 2);

    // Open: answered at once, without reaching the store, saying when it will try again.
    tokio::time::advance(Duration::from_secs(4)).await;
    let err = store.exists(&key()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(6)));
    assert!(err.message().contains("circuit breaker"), "{err}");
    assert_eq!(faults.injected(), 2, "the store was not called");

    // After open_for: one probe; it fails, so the breaker opens again for another 10 s.
    tokio::time::advance(Duration::from_secs(6)).await;
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    faults.fail_next(1, ErrorKind::Throttled);
    assert_eq!(
        store.exists(&key()).await.unwrap_err().kind(),
        ErrorKind::Throttled
    );
    assert!(matches!(breaker.state(), BreakerState::Open { .. }));

    // The next probe succeeds and closes it.
    tokio::time::advance(Duration::from_secs(10)).await;
    store.exists(&key()).await.expect("the probe passes");
    assert_eq!(breaker.state(), BreakerState::Closed);
    store.put_str(&key(), "x").await.expect("closed again");
}

#[tokio::test(start_paused = true)]
async fn input_errors_do_not_open_it_and_retries_count_once() {
    let breaker = BreakerLayer::new(config());
    let faults = FaultLayer::seeded(1);
    let store = MemoryObjectStore::new().layer(
        Layers::new()
            .breaker(breaker.clone())
            .retry(
                RetryPolicy::default()
                    .base_delay(Duration::from_millis(1))
                    .max_attempts(3),
            )
            .faults(faults.clone()),
    );
    // Ten calls that the backend answers with "not found" or "bad input": not sick.
    faults.fail_next(10, ErrorKind::InvalidInput);
    for _ in 0..10 {
        let _ = store.exists(&key()).await;
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
    // Calls whose first attempts fail but whose retry succeeds count as successes.
    for _ in 0..6 {
        faults.fail_next(2, ErrorKind::Unavailable);
        store
            .exists(&key())
            .await
            .expect("the third attempt passes");
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_breaker_is_shared_by_the_stores_of_one_endpoint() {
    let breaker = BreakerLayer::new(config());
    let faults = FaultLayer::seeded(1);
    let a = MemoryObjectStore::new().layer(
        Layers::new()
            .breaker(breaker.clone())
            .faults(faults.clone()),
    );
    let b = MemoryObjectStore::new().layer(Layers::new().breaker(breaker.clone()));
    faults.fail_next(4, ErrorKind::Unavailable);
    for _ in 0..4 {
        let _ = a.exists(&key()).await;
    }
    let err = b.exists(&key()).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Unavailable,
        "b sees a's open breaker"
    );
    assert!(err.retry_after().is_some());
}

/// Our own rate limit refusing calls (fail fast) says nothing of the backend: however many
/// are refused, the breaker stays closed, and other stores of the endpoint are served.
#[tokio::test(start_paused = true)]
async fn refusals_of_our_own_rate_limit_do_not_open_it() {
    let breaker = BreakerLayer::new(config());
    let limited = MemoryObjectStore::new().layer(
        Layers::new()
            .breaker(breaker.clone())
            .rate_limit(RateLimitLayer::new(1, Duration::from_secs(60)).fail_fast()),
    );
    limited
        .exists(&key())
        .await
        .expect("the first call has a slot");
    for _ in 0..10 {
        let err = limited.exists(&key()).await.unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::Throttled,
            "refused by the rate limit"
        );
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
    assert_eq!(breaker.times_opened(), 0);
    let other = MemoryObjectStore::new().layer(Layers::new().breaker(breaker.clone()));
    other
        .exists(&key())
        .await
        .expect("the endpoint is not cut off");
}

/// A probe its caller gives up on (dropped before the backend answered) frees its slot: the
/// next call probes, and its success closes the breaker.
#[tokio::test(start_paused = true)]
async fn a_cancelled_probe_lets_the_next_call_probe() {
    let breaker = BreakerLayer::new(config());
    let faults = FaultLayer::seeded(1);
    let store = guarded(&breaker, &faults);
    faults.fail_next(4, ErrorKind::Unavailable);
    for _ in 0..4 {
        let _ = store.exists(&key()).await;
    }
    assert!(matches!(breaker.state(), BreakerState::Open { .. }));
    tokio::time::advance(config().open_for).await;

    // The probe is slow; its caller stops waiting after a second.
    let slow = MemoryObjectStore::new().layer(
        Layers::new()
            .breaker(breaker.clone())
            .faults(FaultLayer::seeded(2).latency(Duration::from_secs(30))),
    );
    let gave_up = tokio::time::timeout(Duration::from_secs(1), slow.exists(&key())).await;
    assert!(gave_up.is_err(), "the caller gave up on the probe");
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    assert_eq!(
        breaker.times_opened(),
        1,
        "a cancelled probe does not reopen it"
    );

    store.exists(&key()).await.expect("the next call probes");
    assert_eq!(breaker.state(), BreakerState::Closed);
}

/// A breaker whose window is full of successes skips counting the next success (one in,
/// one out), yet counts every outcome that changes the window: it opens on exactly the
/// failure that brings the window's rate to the limit, and not before. Run on the stack's
/// fast path and on the engine's own breaker (a subscriber recording spans sends every call
/// there), which must agree.
#[tokio::test(start_paused = true)]
async fn a_steady_window_opens_on_the_exact_failure() {
    let config = BreakerConfig {
        window: 4,
        min_calls: 4,
        ..config()
    };
    for engine in [false, true] {
        let _recording =
            engine.then(|| tracing::subscriber::set_default(tracing_subscriber::registry()));
        let breaker = BreakerLayer::new(config.clone());
        let faults = FaultLayer::seeded(1);
        let store = MemoryObjectStore::new()
            .layer(faults.clone())
            .layer(Layers::new().breaker(breaker.clone()));
        let store = &store;
        let fail_once = || async {
            faults.fail_next(1, ErrorKind::Unavailable);
            store.exists(&key()).await.unwrap_err();
        };
        let succeed = |n| async move {
            for _ in 0..n {
                store.exists(&key()).await.expect("ok");
            }
        };
        succeed(4).await;
        // Success, success, success, failure: a quarter failed.
        fail_once().await;
        assert_eq!(breaker.state(), BreakerState::Closed, "engine: {engine}");
        // Four successes push the failure out; one failure brings a quarter again.
        succeed(4).await;
        fail_once().await;
        assert_eq!(breaker.state(), BreakerState::Closed, "engine: {engine}");
        // Success, success, failure, failure: half failed, so it opens.
        fail_once().await;
        assert!(
            matches!(breaker.state(), BreakerState::Open { .. }),
            "engine: {engine}"
        );
        let err = store.exists(&key()).await.unwrap_err();
        assert!(err.message().contains("circuit breaker"), "{err}");
        assert_eq!(faults.injected(), 3, "the store was not called while open");
    }
}
