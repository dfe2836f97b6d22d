//! Hedged reads on a paused clock: the second try fires after its delay, the loser is
//! cancelled, writes are never hedged, and the extra load is capped. Tries that fail or run
//! out of time are checked twice, with exact times and counts: on the stack's fast path (the
//! call's first try held in place) and on its engine (an armed fault layer inside the stack
//! sends every call there), which must agree.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use store_core::document::{GetItemOptions, PutItemOptions};
use store_core::memory::{MemoryDocumentStore, MemoryObjectStore};
use store_core::{
    DocKey, Document, DocumentStore, ErrorKind, KeySchema, KeyType, ObjectKey, ObjectStore,
    ObjectStoreExt, Result, RetryPolicy, StoreError,
};
use store_layers::{Call, FaultLayer, HedgeLayer, Layer, LayerExt, Layers, OpMeta};

/// A backend whose first try of every call is stuck for a minute and whose later tries take
/// 10 ms; it counts tries started and tries still running (a dropped try stops running).
#[derive(Debug, Clone, Default)]
struct Sluggish {
    started: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
    slow_first_only: bool,
}

struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Layer for Sluggish {
    fn around<'a, T: Send + 'a>(
        &'a self,
        _meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, Result<T>> {
        async move {
            let n = self.started.fetch_add(1, Ordering::SeqCst);
            self.running.fetch_add(1, Ordering::SeqCst);
            let _running = Running(self.running.clone());
            let slow = !self.slow_first_only || n == 0;
            let delay = if slow && n.is_multiple_of(2) {
                Duration::from_secs(60)
            } else {
                Duration::from_millis(10)
            };
            tokio::time::sleep(delay).await;
            call().await
        }
        .boxed()
    }
}

fn table() -> MemoryDocumentStore {
    MemoryDocumentStore::new("items", KeySchema::partition("id", KeyType::String)).expect("table")
}

const DELAY: Duration = Duration::from_millis(100);

#[tokio::test(start_paused = true)]
async fn a_slow_read_is_hedged_after_the_delay_and_the_loser_cancelled() {
    let backend = Sluggish::default();
    let hedge = HedgeLayer::new(DELAY);
    let store = table()
        .layer(backend.clone())
        .layer(Layers::new().hedge(hedge.clone()));
    let started = tokio::time::Instant::now();
    let got = store
        .get(&DocKey::partition("a"), GetItemOptions::new())
        .await
        .expect("the hedge answers");
    assert_eq!(got, None);
    // The first try is stuck; the hedge starts at 100 ms and answers 10 ms later.
    assert_eq!(started.elapsed(), DELAY + Duration::from_millis(10));
    assert_eq!(hedge.fired(), 1);
    assert_eq!(backend.started.load(Ordering::SeqCst), 2);
    assert_eq!(
        backend.running.load(Ordering::SeqCst),
        0,
        "the stuck first try was dropped, not left running"
    );
}

#[tokio::test(start_paused = true)]
async fn a_read_answering_before_the_delay_is_not_hedged() {
    let backend = Sluggish {
        started: Arc::default(),
        running: Arc::default(),
        slow_first_only: true,
    };
    let hedge = HedgeLayer::new(DELAY);
    let store = table()
        .layer(backend.clone())
        .layer(Layers::new().hedge(hedge.clone()));
    let key = DocKey::partition("a");
    store.get(&key, GetItemOptions::new()).await.expect("get");
    assert_eq!(hedge.fired(), 1, "the stuck first call was hedged");
    // Later calls take 10 ms: no hedge.
    for _ in 0..5 {
        store.get(&key, GetItemOptions::new()).await.expect("get");
    }
    assert_eq!(hedge.fired(), 1);
    assert_eq!(backend.started.load(Ordering::SeqCst), 7);
}

#[tokio::test(start_paused = true)]
async fn writes_are_never_hedged() {
    let backend = Sluggish::default();
    let hedge = HedgeLayer::new(DELAY);
    let store = table()
        .layer(backend.clone())
        .layer(Layers::new().hedge(hedge.clone()));
    let started = tokio::time::Instant::now();
    store
        .put(Document::new().with("id", "a"), PutItemOptions::new())
        .await
        .expect("put");
    assert_eq!(started.elapsed(), Duration::from_secs(60), "waited it out");
    assert_eq!(hedge.fired(), 0);
    assert_eq!(backend.started.load(Ordering::SeqCst), 1);
}

/// A file download moves the whole object in one call: a slow one is waited out, not started
/// again beside itself.
#[tokio::test(start_paused = true)]
async fn whole_file_downloads_are_never_hedged() {
    let objects = MemoryObjectStore::new();
    let key = ObjectKey::new("big.bin").expect("key");
    objects.put_str(&key, "every byte once").await.expect("put");
    let backend = Sluggish::default();
    let hedge = HedgeLayer::new(DELAY);
    let store = objects
        .layer(backend.clone())
        .layer(Layers::new().hedge(hedge.clone()));
    let dir = std::env::temp_dir().join(format!("stores-hedge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("big.bin");
    let bytes = store.download_file(&key, &path).await.expect("download");
    assert_eq!(bytes, 15);
    assert_eq!(std::fs::read(&path).expect("file"), b"every byte once");
    assert_eq!(hedge.fired(), 0);
    assert_eq!(backend.started.load(Ordering::SeqCst), 1);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[tokio::test(start_paused = true)]
async fn hedges_are_capped_to_a_share_of_calls() {
    let backend = Sluggish::default();
    // No earning, a reserve of 2: at most two hedges ever.
    let hedge = HedgeLayer::new(DELAY).max_ratio(0.0, 2);
    let store = table()
        .layer(backend.clone())
        .layer(Layers::new().hedge(hedge.clone()));
    let key = DocKey::partition("a");
    for _ in 0..4 {
        store.get(&key, GetItemOptions::new()).await.expect("get");
    }
    assert_eq!(hedge.fired(), 2);
    // 2 hedged calls of 2 tries, then 2 unhedged calls of 1 try.
    assert_eq!(backend.started.load(Ordering::SeqCst), 6);
}

/// A backend whose tries take the times and give the outcomes of a script, in the order the
/// tries start (then 10 ms and success); it counts tries started and still running.
#[derive(Debug, Clone, Default)]
struct Scripted {
    tries: Arc<Mutex<VecDeque<(Duration, bool)>>>,
    started: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
}

impl Scripted {
    /// Tries of `(milliseconds, succeeds)`.
    fn new(tries: &[(u64, bool)]) -> Self {
        let tries = tries
            .iter()
            .map(|(ms, ok)| (Duration::from_millis(*ms), *ok))
            .collect();
        Self {
            tries: Arc::new(Mutex::new(tries)),
            ..Self::default()
        }
    }
}

impl Layer for Scripted {
    fn around<'a, T: Send + 'a>(
        &'a self,
        _meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, Result<T>> {
        async move {
            self.started.fetch_add(1, Ordering::SeqCst);
            self.running.fetch_add(1, Ordering::SeqCst);
            let _running = Running(self.running.clone());
            let next = self.tries.lock().expect("script").pop_front();
            let (delay, ok) = next.unwrap_or((Duration::from_millis(10), true));
            tokio::time::sleep(delay).await;
            if !ok {
                return Err(StoreError::unavailable("a scripted failure"));
            }
            call().await
        }
        .boxed()
    }
}

/// What a hedged get must do: fail with `error` (or succeed), after `took_ms`, with
/// `fired` hedges and `started` tries.
struct Expect {
    error: Option<ErrorKind>,
    took_ms: u64,
    fired: u64,
    started: usize,
}

/// One get through `layers` plus a hedge of [`DELAY`], over a backend following `script`, on
/// the fast path and on the engine's: both must do as `expect` says and leave no try running.
async fn check_both_paths(script: &[(u64, bool)], layers: impl Fn() -> Layers, expect: Expect) {
    check_hedged(script, || HedgeLayer::new(DELAY), layers, expect).await;
}

/// [`check_both_paths`] with the hedge `hedge` makes.
async fn check_hedged(
    script: &[(u64, bool)],
    hedge: impl Fn() -> HedgeLayer,
    layers: impl Fn() -> Layers,
    expect: Expect,
) {
    for engine in [false, true] {
        let backend = Scripted::new(script);
        let hedge = hedge();
        let mut layers = layers().hedge(hedge.clone());
        if engine {
            layers = layers.faults(FaultLayer::seeded(1).latency(Duration::ZERO));
        }
        let store = table().layer(backend.clone()).layer(layers);
        let started = tokio::time::Instant::now();
        let outcome = store
            .get(&DocKey::partition("a"), GetItemOptions::new())
            .await;
        let seen = (
            outcome.as_ref().err().map(|e| e.kind()),
            started.elapsed(),
            hedge.fired(),
            backend.started.load(Ordering::SeqCst),
        );
        let wanted = (
            expect.error,
            Duration::from_millis(expect.took_ms),
            expect.fired,
            expect.started,
        );
        assert_eq!(seen, wanted, "engine: {engine}, outcome: {outcome:?}");
        let running = backend.running.load(Ordering::SeqCst);
        assert_eq!(running, 0, "no try left running (engine: {engine})");
    }
}

/// The first try fails at 200 ms; the hedge went at 100 ms and answers at 400 ms.
#[tokio::test(start_paused = true)]
async fn a_try_failing_while_the_hedge_runs_leaves_the_answer_to_it() {
    let expect = Expect {
        error: None,
        took_ms: 400,
        fired: 1,
        started: 2,
    };
    check_both_paths(&[(200, false), (300, true)], Layers::new, expect).await;
}

#[tokio::test(start_paused = true)]
async fn the_first_success_wins_and_the_hedge_is_dropped() {
    let expect = Expect {
        error: None,
        took_ms: 150,
        fired: 1,
        started: 2,
    };
    check_both_paths(&[(150, true), (60_000, true)], Layers::new, expect).await;
}

/// A timeout of 50 ms, before the hedge's delay: the call fails unhedged.
#[tokio::test(start_paused = true)]
async fn a_timeout_before_the_delay_ends_the_attempt_unhedged() {
    let layers = || Layers::new().timeout(Duration::from_millis(50));
    let expect = Expect {
        error: Some(ErrorKind::Unavailable),
        took_ms: 50,
        fired: 0,
        started: 1,
    };
    check_both_paths(&[(60_000, true)], layers, expect).await;
}

/// Each try may take 250 ms: the first runs out at 250 ms, the hedge (from 100 ms) answers
/// at 300 ms.
#[tokio::test(start_paused = true)]
async fn a_first_try_out_of_time_leaves_the_answer_to_the_hedge() {
    let layers = || Layers::new().timeout(Duration::from_millis(250));
    let expect = Expect {
        error: None,
        took_ms: 300,
        fired: 1,
        started: 2,
    };
    check_both_paths(&[(60_000, true), (200, true)], layers, expect).await;
}

/// Attempt 1: the first try fails at 200 ms, its hedge (from 100 ms) at 250 ms. Attempt 2
/// after a 10 ms backoff: its first try is stuck, its hedge (from 360 ms) answers at 370 ms.
#[tokio::test(start_paused = true)]
async fn both_tries_failing_are_retried_and_hedged_again() {
    let layers = || {
        Layers::new().retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(10))
                .max_attempts(2)
                .without_jitter(),
        )
    };
    let expect = Expect {
        error: None,
        took_ms: 370,
        fired: 2,
        started: 4,
    };
    check_both_paths(
        &[(200, false), (150, false), (60_000, true)],
        layers,
        expect,
    )
    .await;
}

/// A timeout equal to the hedge's delay: the timeout wins the tie and the call fails unhedged.
#[tokio::test(start_paused = true)]
async fn a_timeout_at_the_delay_wins_the_tie() {
    let layers = || Layers::new().timeout(DELAY);
    let expect = Expect {
        error: Some(ErrorKind::Unavailable),
        took_ms: 100,
        fired: 0,
        started: 1,
    };
    check_both_paths(&[(60_000, true)], layers, expect).await;
}

/// An empty reserve: the delay passes without a second try, and the first runs out of time.
#[tokio::test(start_paused = true)]
async fn an_empty_reserve_sends_no_second_try() {
    let hedge = || HedgeLayer::new(DELAY).max_ratio(0.0, 0);
    let layers = || Layers::new().timeout(Duration::from_millis(250));
    let expect = Expect {
        error: Some(ErrorKind::Unavailable),
        took_ms: 250,
        fired: 0,
        started: 1,
    };
    check_hedged(&[(60_000, true)], hedge, layers, expect).await;
}

/// Both tries stuck, 150 ms each: the first runs out at 150 ms, the second (from 100 ms) at
/// 250 ms, and its error is the call's.
#[tokio::test(start_paused = true)]
async fn a_second_try_out_of_time_ends_the_call() {
    let layers = || Layers::new().timeout(Duration::from_millis(150));
    let expect = Expect {
        error: Some(ErrorKind::Unavailable),
        took_ms: 250,
        fired: 1,
        started: 2,
    };
    check_both_paths(&[(60_000, true), (60_000, true)], layers, expect).await;
}

/// A call dropped while its hedge runs leaves no try running and every permit returned.
#[tokio::test(start_paused = true)]
async fn a_call_dropped_while_hedged_leaves_nothing_behind() {
    use store_layers::ConcurrencyLayer;
    for engine in [false, true] {
        let backend = Scripted::new(&[(60_000, true), (60_000, true)]);
        let hedge = HedgeLayer::new(DELAY);
        let limit = ConcurrencyLayer::new(2);
        let mut layers = Layers::new()
            .hedge(hedge.clone())
            .concurrency_layer(limit.clone());
        if engine {
            layers = layers.faults(FaultLayer::seeded(1).latency(Duration::ZERO));
        }
        let store = table().layer(backend.clone()).layer(layers);
        let key = DocKey::partition("a");
        let call = store.get(&key, GetItemOptions::new());
        let cut = tokio::time::timeout(Duration::from_millis(120), call).await;
        assert!(
            cut.is_err(),
            "the call was still running (engine: {engine})"
        );
        assert_eq!(hedge.fired(), 1, "engine: {engine}");
        assert_eq!(backend.started.load(Ordering::SeqCst), 2);
        assert_eq!(
            backend.running.load(Ordering::SeqCst),
            0,
            "engine: {engine}"
        );
        assert_eq!(
            limit.available(),
            2,
            "both permits came back (engine: {engine})"
        );
    }
}
