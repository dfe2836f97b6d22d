//! Hedged reads on a paused clock: the second try fires after its delay, the loser is
//! cancelled, writes are never hedged, and the extra load is capped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use store_core::document::{GetItemOptions, PutItemOptions};
use store_core::memory::{MemoryDocumentStore, MemoryObjectStore};
use store_core::{
    DocKey, Document, DocumentStore, KeySchema, KeyType, ObjectKey, ObjectStore, ObjectStoreExt,
    Result,
};
use store_layers::{Call, HedgeLayer, Layer, LayerExt, Layers, OpMeta};

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
