//! A copy that dies mid-way resumes from its checkpoint: the checkpoint never runs ahead of
//! what the sink confirmed, at most one batch is sent twice, and the result equals the source.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use common::{Recorder, dataset, documents};
use store_core::{Result, StoreError};
use store_sync::{
    ArchiveSink, ArchiveSource, Checkpoint, CheckpointFile, CollectionSchema, CopyOptions,
    DocumentCollection, Event, Partition, Receipt, Record, RecordKey, RecordSink, Silent, check,
    copy,
};

/// A sink that counts what reaches it and fails on the `fail_at`-th batch, either before
/// writing it or after writing it ("committed, then the call failed").
struct Flaky {
    inner: DocumentCollection,
    calls: AtomicU64,
    records: AtomicU64,
    /// Records of the calls that returned `Ok`.
    confirmed: AtomicU64,
    fail_at: u64,
    write_then_fail: bool,
}

impl Flaky {
    fn new(inner: DocumentCollection, fail_at: u64, write_then_fail: bool) -> Self {
        Self {
            inner,
            calls: AtomicU64::new(0),
            records: AtomicU64::new(0),
            confirmed: AtomicU64::new(0),
            fail_at,
            write_then_fail,
        }
    }
}

#[async_trait]
impl RecordSink for Flaky {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn prepare(&self, schema: &CollectionSchema, create: bool) -> Result<()> {
        self.inner.prepare(schema, create).await
    }
    async fn upsert(&self, records: Vec<Record>) -> Result<Receipt> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let count = records.len() as u64;
        if call == self.fail_at && !self.write_then_fail {
            return Err(StoreError::unavailable("the sink went away before writing"));
        }
        let receipt = self.inner.upsert(records).await?;
        self.records.fetch_add(count, Ordering::SeqCst);
        if call == self.fail_at {
            return Err(StoreError::unavailable(
                "the sink wrote, then the call failed",
            ));
        }
        self.confirmed.fetch_add(count, Ordering::SeqCst);
        Ok(receipt)
    }
    async fn delete(&self, keys: Vec<RecordKey>) -> Result<()> {
        self.inner.delete(keys).await
    }
}

async fn killed_then_resumed(fail_at: u64, write_then_fail: bool) {
    const N: usize = 500;
    const BATCH: usize = 40;
    let data = dataset(N);
    let (_, source) = documents("src", &data).await;
    let (target, sink) = documents("dst", &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let options = CopyOptions {
        batch_size: BATCH,
        checkpoint: Some(dir.path().join("job.json")),
        ..CopyOptions::default()
    };
    let flaky = Flaky::new(sink.clone(), fail_at, write_then_fail);
    let err = copy(&source, &flaky, &options, &Silent).await.unwrap_err();
    assert!(err.message().contains("sink"), "{}", err.message());

    // The checkpoint holds exactly the batches confirmed before the failure.
    let saved = CheckpointFile::new(dir.path().join("job.json"))
        .load()
        .await
        .unwrap()
        .unwrap_or_else(|| Checkpoint::new("none yet"));
    assert_eq!(saved.batches, fail_at - 1);
    assert_eq!(saved.records, flaky.confirmed.load(Ordering::SeqCst));
    assert!(!saved.done);
    let present = common::count(target.as_ref()).await;
    assert!(
        present >= saved.records,
        "the checkpoint ran ahead of the data"
    );

    // Resumed with a healthy sink, the copy finishes; the source and sink are equal.
    let counting = Flaky::new(sink.clone(), u64::MAX, false);
    let report = copy(&source, &counting, &options, &Silent).await.unwrap();
    assert_eq!(report.resumed_records, saved.records);
    assert_eq!(report.records, N as u64);
    let resent = counting.records.load(Ordering::SeqCst) + saved.records - N as u64;
    assert_eq!(
        resent, 0,
        "a resumed copy re-sends nothing already confirmed"
    );
    let verdict = check(&source, &sink, 100).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");

    // A finished job is not run again.
    let again = copy(&source, &counting, &options, &Silent).await.unwrap();
    assert!(again.already_done);
}

#[tokio::test]
async fn a_sink_failing_before_writing_resumes_to_an_equal_copy() {
    for fail_at in [1, 2, 7, 13] {
        killed_then_resumed(fail_at, false).await;
    }
}

#[tokio::test]
async fn a_sink_failing_after_writing_never_lets_the_checkpoint_run_ahead() {
    for fail_at in [1, 5, 13] {
        killed_then_resumed(fail_at, true).await;
    }
}

#[tokio::test]
async fn a_checkpoint_of_another_job_is_refused_and_restart_replaces_it() {
    let data = dataset(20);
    let (_, source) = documents("src", &data).await;
    let (_, one) = documents("one", &[]).await;
    let (_, two) = documents("two", &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let options = CopyOptions {
        batch_size: 5,
        checkpoint: Some(dir.path().join("job.json")),
        ..CopyOptions::default()
    };
    copy(&source, &one, &options, &Silent).await.unwrap();
    let err = copy(&source, &two, &options, &Silent).await.unwrap_err();
    assert!(
        err.message().contains("belongs to another job"),
        "{}",
        err.message()
    );
    let restarted = CopyOptions {
        restart: true,
        ..options
    };
    let report = copy(&source, &two, &restarted, &Silent).await.unwrap();
    assert_eq!(report.records, 20);
    assert!(check(&source, &two, 10).await.unwrap().is_equal());
}

#[tokio::test]
async fn a_resumed_restore_counts_the_archive_bytes_of_every_record_written() {
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path().join("archive");
    let (_, source) = documents("src", &dataset(300)).await;
    let sink = ArchiveSink::in_dir(&at, "file://archive", "stores-test", Partition::whole());
    let in_hundreds = CopyOptions {
        batch_size: 100,
        ..CopyOptions::default()
    };
    copy(&source, &sink, &in_hundreds, &Silent).await.unwrap();
    let archive = ArchiveSource::in_dir(&at, "file://archive");
    let parts: Vec<(u64, u64)> = archive.manifest().await.unwrap().collections[0]
        .parts
        .iter()
        .map(|p| (p.records, p.bytes))
        .collect();
    assert!(
        parts.len() > 1 && parts.iter().all(|p| p.0 % 40 != 0),
        "{parts:?}"
    );
    // The bytes holding the first `records` records: whole parts, then a share by lines.
    let holding = |mut records: u64| -> u64 {
        let mut bytes = 0;
        for &(in_part, part_bytes) in &parts {
            let taken = records.min(in_part);
            bytes += part_bytes * taken / in_part;
            records -= taken;
        }
        bytes
    };

    // Batches of 40 end inside parts; the fourth fails, after three were confirmed.
    let (target, sink) = documents("dst", &[]).await;
    let options = CopyOptions {
        batch_size: 40,
        checkpoint: Some(dir.path().join("restore.json")),
        ..CopyOptions::default()
    };
    copy(
        &archive,
        &Flaky::new(sink.clone(), 4, false),
        &options,
        &Silent,
    )
    .await
    .unwrap_err();
    // A new reader, as a new process would have, resumes.
    let recorder = Recorder::new(false);
    let again = ArchiveSource::in_dir(&at, "file://archive");
    copy(&again, &sink, &options, &recorder).await.unwrap();
    let read: Vec<(u64, Option<u64>)> = recorder
        .take()
        .into_iter()
        .filter_map(|e| match e {
            Event::Progress { records, bytes, .. } => Some((records, bytes)),
            _ => None,
        })
        .collect();
    let expected: Vec<(u64, Option<u64>)> = [160, 200, 240, 280, 300]
        .into_iter()
        .map(|records| (records, Some(holding(records))))
        .collect();
    assert_eq!(read, expected);
    assert_eq!(
        read.last().unwrap().1,
        Some(parts.iter().map(|p| p.1).sum())
    );
    assert_eq!(common::count(target.as_ref()).await, 300);
}

/// Marks the finished job of the checkpoint at `path` unfinished, as a run killed after its
/// last batch and before it saved "done" leaves it.
async fn unfinish(path: &std::path::Path) {
    let file = CheckpointFile::new(path);
    let mut state = file.load().await.unwrap().unwrap();
    assert!(state.done && state.records > 0);
    state.done = false;
    file.save(&state).await.unwrap();
}

#[tokio::test]
async fn a_resume_into_an_index_deleted_since_is_refused_and_creates_nothing() {
    use store_core::SearchIndex as _;
    let (_, source) = documents("src", &dataset(30)).await;
    let (index, sink) = common::search("items");
    let dir = tempfile::tempdir().unwrap();
    let options = CopyOptions {
        batch_size: 10,
        checkpoint: Some(dir.path().join("job.json")),
        ..CopyOptions::default()
    };
    copy(&source, &sink, &options, &Silent).await.unwrap();
    unfinish(&dir.path().join("job.json")).await;
    index.drop_index().await.unwrap();
    let err = copy(&source, &sink, &options, &Silent).await.unwrap_err();
    assert_eq!(err.kind(), store_core::ErrorKind::PreconditionFailed);
    assert!(
        err.message().contains("wrote 30 records"),
        "{}",
        err.message()
    );
    assert!(err.message().contains("--restart"), "{}", err.message());
    assert!(
        !index.exists().await.unwrap(),
        "the refused resume made the index"
    );
    let restarted = CopyOptions {
        restart: true,
        ..options
    };
    assert_eq!(
        copy(&source, &sink, &restarted, &Silent)
            .await
            .unwrap()
            .records,
        30
    );
    assert!(check(&source, &sink, 10).await.unwrap().is_equal());
}

#[tokio::test]
async fn a_resume_or_rerun_of_a_backup_whose_part_is_gone_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path().join("archive");
    let (_, source) = documents("src", &dataset(30)).await;
    let sink = ArchiveSink::in_dir(&at, "file://archive", "stores-test", Partition::whole())
        .with_source("mem://src");
    let options = CopyOptions {
        batch_size: 10,
        checkpoint: Some(dir.path().join("backup.json")),
        ..CopyOptions::default()
    };
    copy(&source, &sink, &options, &Silent).await.unwrap();
    let written = ArchiveSource::in_dir(&at, "file://archive");
    let manifest = written.manifest().await.unwrap();
    let part = at.join(&manifest.collections[0].parts[1].path);
    std::fs::remove_file(&part).unwrap();
    // Finished: not "done" again while its archive misses a part.
    let err = copy(&source, &sink, &options, &Silent).await.unwrap_err();
    assert_eq!(err.kind(), store_core::ErrorKind::PreconditionFailed);
    assert!(err.message().contains("is gone"), "{}", err.message());
    // Unfinished: not resumed either.
    unfinish(&dir.path().join("backup.json")).await;
    let err = copy(&source, &sink, &options, &Silent).await.unwrap_err();
    assert!(err.message().contains("--restart"), "{}", err.message());
    assert!(!part.exists(), "the refused run wrote the part");
    let restarted = CopyOptions {
        restart: true,
        ..options
    };
    copy(&source, &sink, &restarted, &Silent).await.unwrap();
    let again = ArchiveSource::in_dir(&at, "file://archive");
    assert!(check(&source, &again, 10).await.unwrap().is_equal());
}

#[tokio::test]
async fn a_checkpoint_that_wrote_no_record_resumes_into_a_new_collection() {
    use store_core::SearchIndex as _;
    let (_, source) = documents("src", &dataset(30)).await;
    let (index, sink) = common::search("items");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.json");
    let options = CopyOptions {
        batch_size: 10,
        checkpoint: Some(path.clone()),
        ..CopyOptions::default()
    };
    copy(&source, &sink, &options, &Silent).await.unwrap();
    // A position read past, with nothing written yet (a partition whose first batches held
    // none of its records): nothing can have been lost.
    let file = CheckpointFile::new(&path);
    let mut state = file.load().await.unwrap().unwrap();
    state.done = false;
    state.records = 0;
    state.batches = 0;
    state.receipts.clear();
    assert!(state.resume.is_some());
    file.save(&state).await.unwrap();
    index.drop_index().await.unwrap();
    copy(&source, &sink, &options, &Silent).await.unwrap();
    assert!(
        index.exists().await.unwrap(),
        "the resumed copy made its index"
    );
}

#[tokio::test]
async fn a_resume_into_an_object_store_archive_whose_part_changed_is_refused() {
    use store_core::{ObjectKey, ObjectStore as _, memory::MemoryObjectStore};
    let store = std::sync::Arc::new(MemoryObjectStore::new());
    let sink = ArchiveSink::new(
        store.clone(),
        "backups/items",
        "mem://archive",
        "stores-test",
        Partition::whole(),
    )
    .with_source("mem://src");
    let (_, source) = documents("src", &dataset(30)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.json");
    let options = CopyOptions {
        batch_size: 10,
        checkpoint: Some(path.clone()),
        ..CopyOptions::default()
    };
    copy(&source, &sink, &options, &Silent).await.unwrap();
    unfinish(&path).await;
    // Every part there: the resume goes on (and finds nothing left to copy).
    copy(&source, &sink, &options, &Silent).await.unwrap();
    unfinish(&path).await;
    let state = CheckpointFile::new(&path).load().await.unwrap().unwrap();
    let part = state.receipts[1]["path"].as_str().unwrap().to_owned();
    let key = ObjectKey::new(format!("backups/items/{part}")).unwrap();
    store
        .put(
            &key,
            bytes::Bytes::from_static(b"short"),
            Default::default(),
        )
        .await
        .unwrap();
    let err = copy(&source, &sink, &options, &Silent).await.unwrap_err();
    assert_eq!(err.kind(), store_core::ErrorKind::PreconditionFailed);
    assert!(
        err.message().contains("5 bytes, not the"),
        "{}",
        err.message()
    );
    assert!(err.message().contains(&part), "{}", err.message());
}
