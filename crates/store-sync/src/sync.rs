//! [`sync`]: make a sink hold exactly what a source holds, writing only what differs.
//!
//! As rclone's `sync` does: records new or different in the source are written; records the
//! source no longer has are deleted only when asked (`delete`), never after an error, and never
//! more than `max_delete` of them.

use std::collections::HashMap;

use futures::TryStreamExt;
use store_core::{Result, StoreError};

use crate::check::comparison_for;
use crate::digest::RecordDigest;
use crate::progress::{Event, Progress};
use crate::record::{Record, RecordKey};
use crate::sink::RecordSink;
use crate::source::{Partition, RecordSource};

/// How a sync runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Records per write batch.
    pub batch_size: usize,
    /// Delete from the sink what the source does not have.
    pub delete: bool,
    /// Refuse to delete more than this many records (the sync fails before deleting any).
    pub max_delete: Option<u64>,
    /// Only count what would be written and deleted; write nothing.
    pub dry_run: bool,
    /// Create the sink's collection from the source's schema when it does not exist.
    pub create: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            batch_size: 1_000,
            delete: false,
            max_delete: None,
            dry_run: false,
            create: true,
        }
    }
}

/// What a sync did (or, with `dry_run`, would do).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncReport {
    /// Records the sink did not have.
    pub created: u64,
    /// Records the sink had with different content.
    pub updated: u64,
    /// Records already equal.
    pub unchanged: u64,
    /// Records deleted from the sink (or that would be, with `dry_run`).
    pub deleted: u64,
    /// Records the sink has and the source does not, left in place because `delete` was off.
    pub extra_kept: u64,
}

/// Makes `sink` hold what `source` holds. `sink_view` reads the same collection `sink` writes.
///
/// The sink's keys and record digests are held in memory (about 100 bytes a record); the
/// source is streamed.
pub async fn sync(
    source: &dyn RecordSource,
    sink_view: &dyn RecordSource,
    sink: &dyn RecordSink,
    options: &SyncOptions,
    progress: &dyn Progress,
) -> Result<SyncReport> {
    let batch_size = options.batch_size.max(1);
    let schema = source.schema().await?;
    if !options.dry_run {
        sink.prepare(&schema, options.create).await?;
    }
    let comparison = comparison_for(source.comparison(), sink.comparison());
    let mut existing: HashMap<String, (RecordKey, RecordDigest)> = HashMap::new();
    {
        let mut batches = sink_view.read(Partition::whole(), None, batch_size);
        loop {
            match batches.try_next().await {
                Ok(Some(batch)) => {
                    for record in batch.records {
                        let digest = RecordDigest::of(&record, comparison);
                        existing.insert(record.key.id().to_owned(), (record.key, digest));
                    }
                }
                Ok(None) => break,
                // A sink whose collection does not exist yet holds nothing.
                Err(e) if e.kind() == store_core::ErrorKind::NotFound && options.create => break,
                Err(e) => return Err(e),
            }
        }
    }
    progress.event(&Event::Started {
        source: source.describe(),
        sink: sink.describe(),
        resumed_records: 0,
        estimated_total: source.estimated_count().await.ok().flatten(),
    });

    let mut report = SyncReport::default();
    // Keys the sink lacks exactly (kept only while it holds any): it may match them more
    // loosely, and such a match is an update, not a new record and an extra one.
    let mut created: Vec<RecordKey> = Vec::new();
    let mut pending: Vec<Record> = Vec::with_capacity(batch_size);
    let mut done = 0u64;
    let mut batches = source.read(Partition::whole(), None, batch_size);
    while let Some(batch) = batches.try_next().await? {
        for record in batch.records {
            let digest = RecordDigest::of(&record, comparison);
            match existing.remove(record.key.id()) {
                Some((_, theirs)) if theirs == digest => report.unchanged += 1,
                Some(_) => {
                    report.updated += 1;
                    pending.push(record);
                }
                None => {
                    report.created += 1;
                    if !existing.is_empty() {
                        created.push(record.key.clone());
                    }
                    pending.push(record);
                }
            }
        }
        if pending.len() >= batch_size {
            done += flush(sink, &mut pending, options.dry_run).await?;
            progress.event(&Event::Progress {
                records: done,
                batch: 0,
            });
        }
    }
    done += flush(sink, &mut pending, options.dry_run).await?;
    progress.event(&Event::Progress {
        records: done,
        batch: 0,
    });

    if !existing.is_empty() && !created.is_empty() {
        // A key column that ignores case holds "a" where the source has "A": the upsert of
        // "A" wrote over "a", which is not extra.
        for held in sink.keys_matching(&created).await? {
            if existing.remove(held.id()).is_some() {
                report.created -= 1;
                report.updated += 1;
            }
        }
    }
    let extra = existing.len() as u64;
    if !options.delete {
        report.extra_kept = extra;
        return Ok(report);
    }
    if let Some(max) = options.max_delete
        && extra > max
    {
        return Err(StoreError::precondition_failed(format!(
            "sync would delete {extra} records from {}, more than --max-delete {max}; nothing was deleted",
            sink.describe()
        )));
    }
    report.deleted = extra;
    if !options.dry_run {
        let keys: Vec<RecordKey> = existing.into_values().map(|(key, _)| key).collect();
        for chunk in keys.chunks(batch_size) {
            sink.delete(chunk.to_vec()).await?;
        }
    }
    Ok(report)
}

async fn flush(sink: &dyn RecordSink, pending: &mut Vec<Record>, dry_run: bool) -> Result<u64> {
    let records = std::mem::take(pending);
    let count = records.len() as u64;
    if count > 0 && !dry_run {
        sink.upsert(records).await?;
    }
    Ok(count)
}
