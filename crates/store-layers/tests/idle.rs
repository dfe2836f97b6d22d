//! The idle timeout of streams on a paused clock: a stalled stream fails and is dropped; a
//! slow but moving one is left alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use store_core::document::{PutItemOptions, Scan};
use store_core::memory::MemoryDocumentStore;
use store_core::sql::{IsolationLevel, SqlStore, SqlTransaction};
use store_core::{
    Document, DocumentStore, ErrorKind, Health, HealthReport, KeySchema, KeyType, Result,
    StoreError, Value,
};
use store_layers::{FaultLayer, LayerExt, Layers, TimeoutLayer};

const IDLE: Duration = Duration::from_secs(1);

fn idle_timeout() -> TimeoutLayer {
    TimeoutLayer::new(Duration::from_secs(60)).idle(IDLE)
}

/// Sets its flag when dropped.
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A SQL store whose rows come every `gap`, `rows` of them, then (when `stall`) never again.
#[derive(Debug)]
struct Trickle {
    gap: Duration,
    rows: usize,
    stall: bool,
    dropped: Arc<AtomicBool>,
}

#[async_trait]
impl Health for Trickle {
    async fn health(&self) -> Result<HealthReport> {
        Ok(HealthReport {
            backend: "trickle",
            latency: Duration::ZERO,
            detail: None,
        })
    }
}

#[async_trait]
impl SqlStore for Trickle {
    fn backend(&self) -> &'static str {
        "trickle"
    }
    async fn execute(&self, _sql: &str, _params: &[Value]) -> Result<u64> {
        Ok(0)
    }
    async fn batch_execute(&self, _sql: &str) -> Result<()> {
        Ok(())
    }
    fn query<'a>(&'a self, _sql: &'a str, _params: &'a [Value]) -> BoxStream<'a, Result<Document>> {
        let guard = Dropped(self.dropped.clone());
        let gap = self.gap;
        let rows = futures::stream::iter(0..self.rows).then(move |i| async move {
            tokio::time::sleep(gap).await;
            Ok(Document::new().with("n", i as i64))
        });
        let tail = if self.stall {
            futures::stream::pending().boxed()
        } else {
            futures::stream::empty().boxed()
        };
        rows.chain(tail)
            .map(move |row| {
                let _keep = &guard;
                row
            })
            .boxed()
    }
    async fn begin(&self, _isolation: IsolationLevel) -> Result<Box<dyn SqlTransaction>> {
        Err(StoreError::unsupported("no transactions"))
    }
}

#[tokio::test(start_paused = true)]
async fn a_stalled_row_stream_fails_after_the_idle_limit_and_is_dropped() {
    let dropped = Arc::new(AtomicBool::new(false));
    let store = Trickle {
        gap: Duration::from_millis(500),
        rows: 2,
        stall: true,
        dropped: dropped.clone(),
    }
    .layer(Layers::new().timeout_layer(idle_timeout()));
    let started = tokio::time::Instant::now();
    let mut rows = store.query("SELECT n FROM t", &[]);
    assert!(rows.next().await.expect("row").is_ok());
    assert!(rows.next().await.expect("row").is_ok());
    let err = rows
        .next()
        .await
        .expect("an error, not the end")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.message().contains("query"), "{err}");
    // Two rows at 500 ms each, then a second of silence.
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert!(
        dropped.load(Ordering::SeqCst),
        "the stalled stream was cancelled"
    );
    assert!(rows.next().await.is_none(), "and the stream ends there");
}

#[tokio::test(start_paused = true)]
async fn a_slow_but_moving_stream_and_a_slow_consumer_are_left_alone() {
    let store = Trickle {
        gap: Duration::from_millis(900),
        rows: 5,
        stall: false,
        dropped: Arc::default(),
    }
    .layer(Layers::new().timeout_layer(idle_timeout()));
    let mut rows = store.query("SELECT n FROM t", &[]);
    let mut n = 0;
    while let Some(row) = rows.next().await {
        row.expect("every row in time");
        n += 1;
        // The consumer dawdles longer than the idle limit between rows: not the store's fault.
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    assert_eq!(n, 5);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_scan_fails_after_the_idle_limit() {
    let store = MemoryDocumentStore::new("items", KeySchema::partition("id", KeyType::String))
        .expect("table")
        .layer(
            Layers::new()
                .timeout_layer(idle_timeout())
                .faults(FaultLayer::seeded(1).latency(Duration::from_secs(30))),
        );
    store
        .put(Document::new().with("id", "a"), PutItemOptions::new())
        .await
        .expect("put (slow, but within the call limit)");
    let started = tokio::time::Instant::now();
    let err = store
        .scan(Scan::new())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.message().contains("scan"), "{err}");
    assert_eq!(started.elapsed(), IDLE);
}
