//! [`follow`]: keep a sink in step with a source through the source's change feed.
//!
//! The order that leaves no gap: the feed's position is taken first and saved, then the
//! source is copied into the sink ([`sync`], writing only what differs), then the feed is
//! applied from the saved position. Changes made during the copy are in the feed after that
//! position, so none is missed; some are also in the copy, and applying them again by key is
//! harmless.
//!
//! While following, each batch of changes is applied (each key's last change, upserts and
//! deletes by key), the sink confirms it durable, the position after it is saved in the
//! checkpoint, and only then is it acknowledged to the feed (PostgreSQL may then free the WAL
//! behind it). A follower killed at any point resumes from the checkpoint and applies at most
//! one batch again; a sink that fails never lets the checkpoint move past what it applied.
//!
//! A feed that lost its position (a trimmed stream, a dropped slot) is answered by a full
//! resync — a new position, a new copy that also deletes what the source lacks — reported as
//! [`Event::Resync`], never skipped.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::SystemTime;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use store_core::feed::{Change, ChangeBatch, ChangeFeed, FeedItem, FeedPosition};
use store_core::{ErrorKind, Result, StoreError};

use crate::checkpoint::{CHECKPOINT_VERSION, CheckpointFile, check_version};
use crate::copy::job_name;
use crate::progress::{Event, Progress};
use crate::record::{Record, RecordKey};
use crate::sink::RecordSink;
use crate::source::{Partition, RecordSource};
use crate::sync::{SyncOptions, sync};

/// How a follower runs.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Where the follower's state lives (required: following without one could not resume).
    pub checkpoint: PathBuf,
    /// Records per batch, for the copy and for each read of the feed.
    pub batch_size: usize,
    /// Ignore an existing checkpoint: take a new position and copy again.
    pub restart: bool,
    /// Create the sink's collection from the source's schema when it does not exist.
    pub create: bool,
    /// Let the first copy delete what the sink has and the source lacks. A resync's copy
    /// always does (the deletes it lost are not in the feed), and deletes read from the feed
    /// are always applied.
    pub delete: bool,
    /// Refuse a copy that would delete more than this many records.
    pub max_delete: Option<u64>,
    /// How many of the sink's keys a copy holds in memory, and where the rest spill.
    pub spill: crate::SpillOptions,
    /// Whether the caller knows the sink's collection was made anew since the checkpoint was
    /// saved (its file was deleted, and opening it made an empty one): a follower resuming
    /// its feed first copies everything again, as a resync. A collection that is missing is
    /// found out without it.
    pub sink_made_anew: bool,
}

impl FollowOptions {
    /// Options with defaults and the checkpoint at `checkpoint`.
    pub fn new(checkpoint: impl Into<PathBuf>) -> Self {
        Self {
            checkpoint: checkpoint.into(),
            batch_size: 1_000,
            restart: false,
            create: true,
            delete: false,
            max_delete: None,
            spill: crate::SpillOptions::default(),
            sink_made_anew: false,
        }
    }
}

/// What a follower did before it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FollowReport {
    /// Full copies run (the first, and one per resync).
    pub copies: u64,
    /// Resyncs after the feed lost its position.
    pub resyncs: u64,
    /// Records the copies wrote.
    pub copied: u64,
    /// Records the sink holds that the source lacked, kept because `delete` was off.
    pub extra_kept: u64,
    /// Upserts applied from the feed.
    pub upserts: u64,
    /// Deletes applied from the feed.
    pub deletes: u64,
    /// Whether the feed ended by itself (its source went away) rather than being stopped.
    pub feed_ended: bool,
}

/// What the checkpoint holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FollowState {
    version: u32,
    job: String,
    /// The feed position: before the copy while `copied` is false, then after every applied
    /// batch.
    position: FeedPosition,
    /// Whether the copy from `position` is done.
    copied: bool,
    /// Resyncs over the job's life.
    resyncs: u64,
}

/// Follows `feed` into `sink` until `stop` completes, the feed ends, or an error.
///
/// `source` is what the feed reports changes of, read for the copies; `sink_view` reads the
/// collection `sink` writes (the copy compares against it). On `stop` the batch being applied
/// is finished and saved before returning.
pub async fn follow(
    source: &dyn RecordSource,
    feed: &dyn ChangeFeed,
    sink_view: &dyn RecordSource,
    sink: &dyn RecordSink,
    options: &FollowOptions,
    progress: &dyn Progress,
    stop: impl Future<Output = ()>,
) -> Result<FollowReport> {
    if options.batch_size == 0 {
        return Err(StoreError::invalid_input(
            "the batch size must be at least 1",
        ));
    }
    let job = job_name(
        "follow",
        &feed.describe(),
        &sink.describe(),
        Partition::whole(),
    );
    let file = CheckpointFile::new(&options.checkpoint);
    let mut state = match load_state(&file, &job, options.restart).await? {
        Some(state) => state,
        None => fresh_state(feed, &file, &job, 0).await?,
    };
    let schema = source.schema().await?;
    let key_names = schema.key_names();
    let mut report = FollowReport::default();
    if state.copied {
        // The collection the copy filled gone since (dropped, or its file made anew): the
        // feed's changes alone would leave it without everything copied before, so everything
        // is copied again.
        let gone = match sink.prepare(&schema, false).await {
            Err(e) if e.kind() == ErrorKind::NotFound => Some(e.message().to_owned()),
            Err(e) => return Err(e),
            Ok(()) if options.sink_made_anew => Some(format!("{} was made anew", sink.describe())),
            Ok(()) => None,
        };
        if let Some(gone) = gone {
            progress.event(&Event::Resync {
                reason: format!("{gone}: everything is copied again"),
            });
            report.resyncs += 1;
            state = fresh_state(feed, &file, &job, state.resyncs + 1).await?;
        }
    }
    let mut stop = std::pin::pin!(stop);
    'follow: loop {
        if !state.copied {
            // Stopped mid-copy, the next run copies again from the same saved position (the
            // copy writes only what differs, so what was written is not written twice).
            tokio::select! {
                biased;
                () = &mut stop => return Ok(report),
                copied = copy_once(source, sink_view, sink, options, state.resyncs > 0, progress, &mut report) => copied?,
            }
            state.copied = true;
            file.save_as(&state).await?;
        }
        let mut changes = feed.changes(state.position.clone(), options.batch_size);
        loop {
            let item = tokio::select! {
                biased;
                () = &mut stop => return Ok(report),
                item = changes.next() => item,
            };
            match item {
                None => {
                    report.feed_ended = true;
                    return Ok(report);
                }
                Some(Err(e)) => return Err(e),
                Some(Ok(FeedItem::PositionLost { reason })) => {
                    progress.event(&Event::Resync { reason });
                    report.resyncs += 1;
                    drop(changes);
                    state = fresh_state(feed, &file, &job, state.resyncs + 1).await?;
                    continue 'follow;
                }
                Some(Ok(FeedItem::Changes(batch))) => {
                    let applied = apply(sink, &batch, &key_names, &mut report).await?;
                    state.position = batch.position.clone();
                    file.save_as(&state).await?;
                    feed.acknowledge(&batch.position).await?;
                    progress.event(&Event::Applied {
                        changes: applied,
                        total: report.upserts + report.deletes,
                        lag_seconds: lag_seconds(&batch),
                        pending: batch.pending,
                    });
                }
            }
        }
    }
}

/// The saved state of this job, unless there is none or `restart` asks to start over.
async fn load_state(
    file: &CheckpointFile,
    job: &str,
    restart: bool,
) -> Result<Option<FollowState>> {
    if restart {
        return Ok(None);
    }
    let Some(state) = file.load_as::<FollowState>().await? else {
        return Ok(None);
    };
    check_version(file, Some(state.version))?;
    if state.job != job {
        return Err(StoreError::invalid_input(format!(
            "the checkpoint {} belongs to another job ({}); pass --restart to replace it",
            file.path().display(),
            state.job
        )));
    }
    Ok(Some(state))
}

/// A new position, saved before anything is copied so that no change made during the copy
/// can be missed.
async fn fresh_state(
    feed: &dyn ChangeFeed,
    file: &CheckpointFile,
    job: &str,
    resyncs: u64,
) -> Result<FollowState> {
    let state = FollowState {
        version: CHECKPOINT_VERSION,
        job: job.to_owned(),
        position: feed.current_position().await?,
        copied: false,
        resyncs,
    };
    file.save_as(&state).await?;
    Ok(state)
}

/// One full copy: the sink made to hold what the source holds; a resync's copy also deletes
/// what the source lacks (within `max_delete`), since the deletes it lost are in no feed.
async fn copy_once(
    source: &dyn RecordSource,
    sink_view: &dyn RecordSource,
    sink: &dyn RecordSink,
    options: &FollowOptions,
    resync: bool,
    progress: &dyn Progress,
    report: &mut FollowReport,
) -> Result<()> {
    let synced = sync(
        source,
        sink_view,
        sink,
        &SyncOptions {
            batch_size: options.batch_size,
            delete: options.delete || resync,
            max_delete: options.max_delete,
            dry_run: false,
            check_every_record: false,
            create: options.create,
            spill: options.spill.clone(),
        },
        progress,
    )
    .await?;
    report.copies += 1;
    report.copied += synced.created + synced.updated;
    report.extra_kept = synced.extra_kept;
    Ok(())
}

/// Applies a batch: each key's last change, upserts and deletes by key (their keys are
/// distinct, so their order does not matter). Returns how many changes were applied.
async fn apply(
    sink: &dyn RecordSink,
    batch: &ChangeBatch,
    key_names: &[String],
    report: &mut FollowReport,
) -> Result<u64> {
    let mut last: HashMap<String, (RecordKey, Option<&store_core::Document>)> = HashMap::new();
    for change in &batch.changes {
        let key = RecordKey::of(change.key(), key_names)?;
        let doc = match change {
            Change::Upsert { doc, .. } => Some(doc),
            Change::Delete { .. } => None,
        };
        last.insert(key.id().to_owned(), (key, doc));
    }
    let mut upserts = Vec::new();
    let mut deletes = Vec::new();
    for (key, doc) in last.into_values() {
        match doc {
            Some(doc) => upserts.push(Record {
                key,
                doc: doc.clone(),
            }),
            None => deletes.push(key),
        }
    }
    let (u, d) = (upserts.len() as u64, deletes.len() as u64);
    if !upserts.is_empty() {
        sink.upsert(upserts).await?;
    }
    if !deletes.is_empty() {
        sink.delete(deletes).await?;
    }
    report.upserts += u;
    report.deletes += d;
    Ok(u + d)
}

/// How far behind the source a batch was applied.
fn lag_seconds(batch: &ChangeBatch) -> Option<f64> {
    match batch.source_time {
        Some(made) => Some(
            SystemTime::now()
                .duration_since(made)
                .map_or(0.0, |d| d.as_secs_f64()),
        ),
        None if batch.pending == Some(0) => Some(0.0),
        None => None,
    }
}
