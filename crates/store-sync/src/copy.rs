//! [`copy`]: every record of a source written to a sink, in batches, resumable from a
//! checkpoint.
//!
//! Delivery is at least once: a batch is written, the sink confirms it durable, and only then
//! does the checkpoint move past it. A copy killed at any point and started again with the same
//! checkpoint re-sends at most the one batch that was in flight, and since sinks write by key,
//! the result is the same as one uninterrupted copy.

use std::path::PathBuf;

use futures::StreamExt;
use store_core::{Result, StoreError};

use crate::checkpoint::{Checkpoint, CheckpointFile};
use crate::progress::{Event, Progress};
use crate::sink::RecordSink;
use crate::source::{Partition, RecordSource};

/// How a copy runs.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Records per batch (each batch is one checkpoint step).
    pub batch_size: usize,
    /// The share of the source this process copies.
    pub partition: Partition,
    /// Where the checkpoint lives; `None` copies without one.
    pub checkpoint: Option<PathBuf>,
    /// Ignore an existing checkpoint and start over.
    pub restart: bool,
    /// Create the sink's collection from the source's schema when it does not exist.
    pub create: bool,
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self {
            batch_size: 1_000,
            partition: Partition::whole(),
            checkpoint: None,
            restart: false,
            create: true,
        }
    }
}

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Records the sink confirmed, over every run of this job.
    pub records: u64,
    /// Records confirmed by earlier runs, before this one resumed.
    pub resumed_records: u64,
    /// Whether an earlier run had already finished the job (nothing was copied this time).
    pub already_done: bool,
}

/// The identity of a job, stored in its checkpoint.
pub(crate) fn job_name(verb: &str, source: &str, sink: &str, partition: Partition) -> String {
    format!("{verb} {source} -> {sink} partition {partition}")
}

/// Copies every record of `partition` of `source` into `sink`.
///
/// The sink is prepared first (a pair with no mapping fails before anything is read). With a
/// checkpoint, an unfinished earlier run of the same job is resumed unless `restart` is set; a
/// checkpoint of a different job is refused.
pub async fn copy(
    source: &dyn RecordSource,
    sink: &dyn RecordSink,
    options: &CopyOptions,
    progress: &dyn Progress,
) -> Result<CopyReport> {
    if options.batch_size == 0 {
        return Err(StoreError::invalid_input(
            "the batch size must be at least 1",
        ));
    }
    let job = job_name(
        "copy",
        &source.describe(),
        &sink.describe(),
        options.partition,
    );
    let file = options.checkpoint.clone().map(CheckpointFile::new);
    let mut state = match &file {
        Some(file) if !options.restart => match file.load().await? {
            Some(found) if found.job != job => {
                return Err(StoreError::invalid_input(format!(
                    "the checkpoint {} belongs to another job ({}); pass --restart to replace it",
                    file.path().display(),
                    found.job
                )));
            }
            Some(found) => found,
            None => Checkpoint::new(&job),
        },
        _ => Checkpoint::new(&job),
    };
    let resumed_records = state.records;
    if state.done {
        return Ok(CopyReport {
            records: state.records,
            resumed_records,
            already_done: true,
        });
    }
    let schema = source.schema().await?;
    sink.prepare(&schema, options.create).await?;
    progress.event(&Event::Started {
        source: source.describe(),
        sink: sink.describe(),
        resumed_records,
        // Only a whole-source copy can compare its progress with the source's size.
        estimated_total: if options.partition.is_whole() {
            source.estimated_count().await.ok().flatten()
        } else {
            None
        },
    });

    let mut batches = source.read(options.partition, state.resume.clone(), options.batch_size);
    let mut next = batches.next().await;
    while let Some(batch) = next {
        let batch = batch?;
        let count = batch.records.len() as u64;
        // Read the following batch while this one is written.
        let (written, following) = if batch.records.is_empty() {
            (Ok(serde_json::Value::Null), batches.next().await)
        } else {
            futures::join!(sink.upsert(batch.records), batches.next())
        };
        let receipt = written?;
        state.records += count;
        state.batches += 1;
        if !receipt.is_null() {
            state.receipts.push(receipt);
        }
        state.resume = batch.resume;
        if let Some(file) = &file {
            file.save(&state).await?;
        }
        progress.event(&Event::Progress {
            records: state.records,
            batch: count,
        });
        next = following;
    }
    drop(batches);
    sink.finish(state.receipts.clone()).await?;
    state.done = true;
    if let Some(file) = &file {
        file.save(&state).await?;
    }
    Ok(CopyReport {
        records: state.records,
        resumed_records,
        already_done: false,
    })
}
