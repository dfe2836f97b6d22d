//! `follow` on in-memory stores and a change log: a copy and then the feed with no gap, a
//! follower killed at seeded points that still converges, a sink failure that never lets the
//! checkpoint run ahead, and a lost position answered by a visible resync.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::{dataset, documents};
use futures::stream::{self, BoxStream, StreamExt};
use store_core::feed::{Change, ChangeBatch, ChangeFeed, FeedItem, FeedPosition};
use store_core::memory::MemoryDocumentStore;
use store_core::{Document, DocumentStore, Result, StoreError, Value};
use store_sync::{
    CollectionSchema, DocumentCollection, Event, FollowOptions, Progress, Receipt, Record,
    RecordKey, RecordSink, RecordSource, Silent, check, follow,
};

/// A source table whose every write is also appended to a change log, the log's feed, and a
/// point before which the log was trimmed.
struct Logged {
    store: Arc<MemoryDocumentStore>,
    log: Mutex<Vec<Change>>,
    trimmed_before: AtomicUsize,
}

impl Logged {
    async fn put(&self, doc: Document) {
        self.store
            .put(doc.clone(), Default::default())
            .await
            .unwrap();
        let key = Document::new().with("id", doc.get("id").unwrap().clone());
        self.log.lock().unwrap().push(Change::Upsert { key, doc });
    }

    async fn delete(&self, id: &str) {
        let key = store_core::DocKey::partition(id);
        self.store.delete(&key, Default::default()).await.unwrap();
        let key = Document::new().with("id", id);
        self.log.lock().unwrap().push(Change::Delete { key });
    }

    /// The log from `from`, at most `max` changes; `None` when `from` was trimmed.
    fn read(&self, from: usize, max: usize) -> Option<(Vec<Change>, usize)> {
        if from < self.trimmed_before.load(Ordering::SeqCst) {
            return None;
        }
        let log = self.log.lock().unwrap();
        let end = (from + max).min(log.len());
        Some((log[from..end].to_vec(), log.len() - end))
    }
}

#[async_trait]
impl ChangeFeed for Logged {
    fn describe(&self) -> String {
        "log://src".into()
    }

    async fn current_position(&self) -> Result<FeedPosition> {
        Ok(FeedPosition::new(
            self.log.lock().unwrap().len().to_string(),
        ))
    }

    fn changes(&self, from: FeedPosition, max_batch: usize) -> BoxStream<'_, Result<FeedItem>> {
        let start: usize = from.as_str().parse().unwrap();
        stream::unfold(Some(start), move |at| async move {
            let at = at?;
            let Some((changes, pending)) = self.read(at, max_batch) else {
                let reason = format!("the log before {at} was trimmed");
                return Some((Ok(FeedItem::PositionLost { reason }), None));
            };
            if changes.is_empty() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let next = at + changes.len();
            let batch = ChangeBatch {
                changes,
                position: FeedPosition::new(next.to_string()),
                source_time: None,
                pending: Some(pending as u64),
            };
            Some((Ok(FeedItem::Changes(batch)), Some(next)))
        })
        .boxed()
    }
}

/// A deterministic generator, so every kill point is reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A logged source of `initial` records, an empty sink, and options with the checkpoint in a
/// temporary folder (kept alive by the returned guard).
async fn setup(
    initial: usize,
    batch_size: usize,
) -> (
    Arc<Logged>,
    DocumentCollection,
    DocumentCollection,
    FollowOptions,
    tempfile::TempDir,
) {
    let (logged, source) = logged(initial).await;
    let (_, sink) = documents("dst", &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut options = FollowOptions::new(dir.path().join("follow.json"));
    options.batch_size = batch_size;
    (logged, source, sink, options, dir)
}

async fn logged(initial: usize) -> (Arc<Logged>, DocumentCollection) {
    let (store, source) = documents("src", &dataset(initial)).await;
    let logged = Arc::new(Logged {
        store,
        log: Mutex::new(Vec::new()),
        trimmed_before: AtomicUsize::new(0),
    });
    (logged, source)
}

/// `count` random writes over 300 keys: new versions, and deletes.
async fn write_randomly(source: &Logged, rng: &mut Rng, count: usize) {
    for _ in 0..count {
        let id = format!("ключ-{:05}-é✓", rng.below(300));
        if rng.below(5) == 0 {
            source.delete(&id).await;
        } else {
            let doc = Document::new()
                .with("id", id)
                .with("v", Value::from(rng.below(1_000_000) as i64))
                .with(
                    "n",
                    "12345678901234567890123456789012345678"
                        .parse::<store_core::Number>()
                        .unwrap(),
                );
            source.put(doc).await;
        }
        if rng.below(20) == 0 {
            tokio::task::yield_now().await;
        }
    }
}

/// Runs the follower until the sink equals the source, then stops it.
async fn follow_until_equal(
    logged: &Arc<Logged>,
    source: &DocumentCollection,
    sink: &(impl RecordSource + RecordSink),
    options: &FollowOptions,
    progress: &dyn Progress,
) -> store_sync::FollowReport {
    let written = AtomicBool::new(true);
    follow_while_writing(logged, source, sink, options, progress, &written).await
}

/// Runs the follower until `written` is set and the sink equals the source, then stops it.
async fn follow_while_writing(
    logged: &Arc<Logged>,
    source: &DocumentCollection,
    sink: &(impl RecordSource + RecordSink),
    options: &FollowOptions,
    progress: &dyn Progress,
    written: &AtomicBool,
) -> store_sync::FollowReport {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let watcher = async {
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if !written.load(Ordering::SeqCst) {
                continue;
            }
            if check(source, sink, 500).await.unwrap().is_equal() {
                break;
            }
        }
        stop_tx.send(()).unwrap();
    };
    let stop = async {
        let _ = stop_rx.await;
    };
    let following = follow(source, logged.as_ref(), sink, sink, options, progress, stop);
    let (report, ()) = tokio::time::timeout(Duration::from_secs(60), async {
        futures::join!(following, watcher)
    })
    .await
    .expect("the follower caught up within a minute");
    report.unwrap()
}

#[tokio::test]
async fn a_copy_then_the_feed_leaves_no_gap() {
    let (logged, source, sink, options, _dir) = setup(500, 64).await;
    // Writes race the copy: each lands before, during or after it, and none may be lost.
    let mut rng = Rng(7);
    let written = AtomicBool::new(false);
    let writer = async {
        write_randomly(&logged, &mut rng, 3_000).await;
        written.store(true, Ordering::SeqCst);
    };
    let (report, ()) = futures::join!(
        follow_while_writing(&logged, &source, &sink, &options, &Silent, &written),
        writer,
    );
    assert_eq!(report.copies, 1);
    assert!(report.upserts + report.deletes > 0, "{report:?}");
    let report = check(&source, &sink, 500).await.unwrap();
    assert!(report.is_equal(), "{report:?}");
}

#[tokio::test]
async fn a_follower_killed_at_seeded_points_converges() {
    let (logged, source, sink, options, _dir) = setup(300, 50).await;
    let mut rng = Rng(42);
    for kill in 0..10 {
        write_randomly(&logged, &mut rng, 400).await;
        // Killed mid-way: the follower's future is dropped wherever it stands, as SIGKILL
        // would stop the process (in the copy, between a write and its checkpoint, ...).
        let run_for = Duration::from_millis(1 + rng.below(30));
        let never = std::future::pending::<()>();
        let following = follow(
            &source,
            logged.as_ref(),
            &sink,
            &sink,
            &options,
            &Silent,
            never,
        );
        let outcome = tokio::time::timeout(run_for, following).await;
        if let Ok(Err(e)) = outcome {
            panic!("kill {kill}: the follower failed: {e:?}");
        }
    }
    write_randomly(&logged, &mut rng, 400).await;
    follow_until_equal(&logged, &source, &sink, &options, &Silent).await;
    let report = check(&source, &sink, 500).await.unwrap();
    assert!(report.is_equal(), "{report:?}");
}

/// A sink that fails once, after applying the `fail_at`-th write.
struct FailsOnce {
    inner: DocumentCollection,
    calls: AtomicUsize,
    fail_at: usize,
}

#[async_trait]
impl RecordSink for FailsOnce {
    fn describe(&self) -> String {
        RecordSink::describe(&self.inner)
    }
    async fn prepare(&self, schema: &CollectionSchema, create: bool) -> Result<()> {
        self.inner.prepare(schema, create).await
    }
    async fn upsert(&self, records: Vec<Record>) -> Result<Receipt> {
        let receipt = self.inner.upsert(records).await?;
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            return Err(StoreError::unavailable("applied, then the call failed"));
        }
        Ok(receipt)
    }
    async fn delete(&self, keys: Vec<RecordKey>) -> Result<()> {
        self.inner.delete(keys).await
    }
}

#[derive(Default)]
struct Positions(Mutex<Vec<u64>>);

impl Progress for Positions {
    fn event(&self, event: &Event) {
        if let Event::Applied { total, .. } = event {
            self.0.lock().unwrap().push(*total);
        }
    }
}

#[tokio::test]
async fn a_sink_failing_after_applying_never_moves_the_checkpoint_past_it() {
    let (logged, source, sink, options, _dir) = setup(0, 10).await;
    let checkpoint = options.checkpoint.clone();
    let mut rng = Rng(3);
    // The first follower only takes the position (the source is empty, the copy is quick).
    let stop = tokio::time::sleep(Duration::from_millis(50));
    follow(
        &source,
        logged.as_ref(),
        &sink,
        &sink,
        &options,
        &Silent,
        stop,
    )
    .await
    .unwrap();
    let saved = |path: &std::path::Path| -> u64 {
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        json["position"].as_str().unwrap().parse().unwrap()
    };
    assert_eq!(saved(&checkpoint), 0);
    for _ in 0..100 {
        let doc = Document::new()
            .with("id", format!("k{}", rng.below(1_000_000)))
            .with("v", 1);
        logged.put(doc).await;
    }
    let failing = FailsOnce {
        inner: sink.clone(),
        calls: AtomicUsize::new(0),
        fail_at: 3,
    };
    let err = follow(
        &source,
        logged.as_ref(),
        &sink,
        &failing,
        &options,
        &Silent,
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert!(err.message().contains("applied, then"), "{}", err.message());
    // Two batches of ten were confirmed; the third was applied but not confirmed.
    assert_eq!(saved(&checkpoint), 20);
    let progress = Positions::default();
    follow_until_equal(&logged, &source, &sink, &options, &progress).await;
    assert_eq!(saved(&checkpoint), 100);
}

#[derive(Default)]
struct Resyncs(Mutex<Vec<String>>);

impl Progress for Resyncs {
    fn event(&self, event: &Event) {
        if let Event::Resync { reason } = event {
            self.0.lock().unwrap().push(reason.clone());
        }
    }
}

#[tokio::test]
async fn a_lost_position_is_answered_by_a_visible_resync() {
    let (logged, source, sink, options, _dir) = setup(200, 100).await;
    let report = follow_until_equal(&logged, &source, &sink, &options, &Silent).await;
    assert_eq!((report.copies, report.resyncs), (1, 0));
    // While the follower is away, the source changes (deletes too) and the log is trimmed
    // past the follower's position.
    let mut rng = Rng(11);
    write_randomly(&logged, &mut rng, 1_000).await;
    let len = logged.log.lock().unwrap().len();
    logged.trimmed_before.store(len, Ordering::SeqCst);
    // The resync copies again and deletes what the source deleted meanwhile (those deletes
    // are in no feed), with or without `delete` for the first copy.
    let resyncs = Resyncs::default();
    let written = AtomicBool::new(true);
    let report = follow_while_writing(&logged, &source, &sink, &options, &resyncs, &written).await;
    assert_eq!((report.copies, report.resyncs), (1, 1), "{report:?}");
    assert!(report.deletes + report.copied > 0, "{report:?}");
    assert_eq!(report.extra_kept, 0, "{report:?}");
    let reasons = resyncs.0.lock().unwrap().clone();
    assert_eq!(reasons.len(), 1);
    assert!(reasons[0].contains("trimmed"), "{reasons:?}");
    assert!(check(&source, &sink, 500).await.unwrap().is_equal());
}

#[tokio::test]
async fn a_destination_dropped_since_is_answered_by_a_visible_resync() {
    use store_core::SearchIndex as _;
    let (logged, source, _, options, _dir) = setup(200, 100).await;
    let (index, sink) = common::search("dst");
    let report = follow_until_equal(&logged, &source, &sink, &options, &Silent).await;
    assert_eq!((report.copies, report.resyncs), (1, 0));
    // While the follower is away, its index is dropped and the source changes: the feed
    // alone would leave the index without the 200 records copied first.
    index.drop_index().await.unwrap();
    write_randomly(&logged, &mut Rng(5), 50).await;
    let resyncs = Resyncs::default();
    let report = follow_until_equal(&logged, &source, &sink, &options, &resyncs).await;
    assert_eq!((report.copies, report.resyncs), (1, 1), "{report:?}");
    let reasons = resyncs.0.lock().unwrap().clone();
    assert!(reasons[0].contains("does not exist"), "{reasons:?}");
    assert!(check(&source, &sink, 500).await.unwrap().is_equal());
}

#[tokio::test]
async fn a_sink_the_caller_says_was_made_anew_is_copied_again() {
    let (logged, source, sink, options, _dir) = setup(100, 50).await;
    follow_until_equal(&logged, &source, &sink, &options, &Silent).await;
    // The caller found the sink's file gone and opened it anew (here: an empty table).
    let (_, anew) = documents("dst", &[]).await;
    let options = FollowOptions {
        sink_made_anew: true,
        ..options
    };
    let resyncs = Resyncs::default();
    let report = follow_until_equal(&logged, &source, &anew, &options, &resyncs).await;
    assert_eq!((report.copies, report.resyncs), (1, 1), "{report:?}");
    let reasons = resyncs.0.lock().unwrap().clone();
    assert!(reasons[0].contains("made anew"), "{reasons:?}");
    assert!(check(&source, &anew, 500).await.unwrap().is_equal());
}
