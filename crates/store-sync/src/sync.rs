//! [`sync`]: make a sink hold exactly what a source holds, writing only what differs.
//!
//! As rclone's `sync` does: records new or different in the source are written; records the
//! source no longer has are deleted only when asked (`delete`), never after an error, and never
//! more than `max_delete` of them.

use std::collections::HashSet;

use futures::TryStreamExt;
use store_core::{Result, StoreError};

use crate::batch_bytes::BATCH_BYTES;
use crate::check::comparison_for;
use crate::digest::{Comparison, RecordDigest};
use crate::progress::{Event, Progress};
use crate::record::Record;
use crate::sink::RecordSink;
use crate::source::{Partition, RecordSource};
use crate::spill::{
    Joined, KeyAndDigest, PackedKey, RecordAndDigest, SpillJoin, SpillLog, SpillOptions,
};

/// How a sync runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Records per write batch.
    pub batch_size: usize,
    /// Delete from the sink what the source does not have.
    pub delete: bool,
    /// Refuse to delete more than this many records. With `delete`, the sync then first
    /// counts as a dry run does (reading both sides once more) and refuses before writing
    /// anything; the deletes are counted again, and the cap enforced again, when they are made.
    pub max_delete: Option<u64>,
    /// Only count what would be written and deleted; write nothing.
    pub dry_run: bool,
    /// With `dry_run`: ask the sink whether it takes every record of the source, not only
    /// those the sync would write — the check of a copy, which writes them all (a record the
    /// sink holds equal, nulls aside, may still name an attribute the sink has no place for).
    pub check_every_record: bool,
    /// Create the sink's collection from the source's schema when it does not exist.
    pub create: bool,
    /// How many of the sink's keys are held in memory, and where the rest spill.
    pub spill: SpillOptions,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            batch_size: 1_000,
            delete: false,
            max_delete: None,
            dry_run: false,
            check_every_record: false,
            create: true,
            spill: SpillOptions::default(),
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
/// The sink's keys and record digests are held in memory up to
/// `options.spill.in_memory_keys` (100 to 200 bytes each); past that they, and the source's
/// records waiting to be compared, are partitioned into temporary files and compared a
/// partition at a time, so memory stays bounded however large the collections are.
pub async fn sync(
    source: &dyn RecordSource,
    sink_view: &dyn RecordSource,
    sink: &dyn RecordSink,
    options: &SyncOptions,
    progress: &dyn Progress,
) -> Result<SyncReport> {
    if options.delete && options.max_delete.is_some() && !options.dry_run {
        // Counted first, writing nothing: a sync refused for what it would delete writes
        // nothing at all, not the new and changed records before it.
        let counting = SyncOptions {
            dry_run: true,
            ..options.clone()
        };
        Box::pin(sync(source, sink_view, sink, &counting, &crate::Silent)).await?;
    }
    let batch_size = options.batch_size.max(1);
    let schema = source.schema().await?;
    if !options.dry_run {
        sink.prepare(&schema, options.create).await?;
    }
    let comparison = comparison_for(source.comparison(), sink.comparison());
    let mut join = SpillJoin::<KeyAndDigest, RecordAndDigest>::new(&options.spill);
    {
        let mut batches = sink_view.read(Partition::whole(), None, batch_size);
        loop {
            match batches.try_next().await {
                Ok(Some(batch)) => {
                    for record in batch.records {
                        let digest = RecordDigest::of(&record, comparison);
                        let id = record.key.match_id(comparison);
                        join.insert(
                            id,
                            KeyAndDigest {
                                key: PackedKey::of(&record.key),
                                digest,
                            },
                        )?;
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

    let mut tally = Tally::new(
        options,
        !join.is_empty() && sink.may_match_keys_loosely(),
        comparison,
    );
    let mut batches = source.read(Partition::whole(), None, batch_size);
    let check_every_record = options.dry_run && options.check_every_record;
    while let Some(batch) = batches.try_next().await? {
        if check_every_record {
            sink.check_writable(&batch.records)?;
        }
        for record in batch.records {
            let digest = RecordDigest::of(&record, comparison);
            let id = record.key.match_id(comparison);
            if let Some((id, joined)) = join.probe(id, RecordAndDigest { record, digest })? {
                tally.take(id, joined)?;
            }
        }
        tally.flush_full(sink, progress, batch_size).await?;
    }
    drop(batches);
    let mut rest = join.finish()?;
    while let Some((id, joined)) = rest.next()? {
        tally.take(id, joined)?;
        tally.flush_full(sink, progress, batch_size).await?;
    }
    drop(rest);
    tally.flush(sink, progress).await?;
    tally.settle_extras(sink, options).await
}

/// What a sync found so far, the records waiting to be written, and the keys it must look
/// at again once everything is written.
struct Tally {
    report: SyncReport,
    dry_run: bool,
    pending: Vec<Record>,
    /// About how many bytes `pending` holds: it is written at a batch's count or at
    /// `BATCH_BYTES`, whichever comes first.
    pending_bytes: usize,
    written: u64,
    /// Keys the sink lacked exactly, kept only when it held anything and may match keys
    /// loosely: such a match is an update, not a new record and an extra one.
    created: Option<SpillLog<PackedKey>>,
    /// Keys only the sink has, to be joined with the keys the created ones matched loosely.
    unmatched: SpillJoin<PackedKey, ()>,
    spill: SpillOptions,
    /// How records are compared, which says what keys are matched by.
    comparison: Comparison,
}

impl Tally {
    fn new(options: &SyncOptions, remember_created: bool, comparison: Comparison) -> Self {
        // The main join holds up to the limit; these three share a quarter of it each.
        let spill = options.spill.share(4);
        Self {
            report: SyncReport::default(),
            dry_run: options.dry_run,
            pending: Vec::with_capacity(options.batch_size.clamp(1, 4096)),
            pending_bytes: 0,
            written: 0,
            created: remember_created.then(|| SpillLog::new(&spill)),
            unmatched: SpillJoin::new(&spill),
            spill,
            comparison,
        }
    }

    fn take(&mut self, id: String, joined: Joined<KeyAndDigest, RecordAndDigest>) -> Result<()> {
        match joined {
            Joined::Both(theirs, mine) if theirs.digest == mine.digest => {
                self.report.unchanged += 1;
            }
            Joined::Both(_, mine) => {
                self.report.updated += 1;
                self.hold(mine.record);
            }
            Joined::ProbeOnly(mine) => {
                self.report.created += 1;
                if let Some(created) = &mut self.created {
                    created.push(PackedKey::of(&mine.record.key))?;
                }
                self.hold(mine.record);
            }
            Joined::BuildOnly(theirs) => self.unmatched.insert(id, theirs.key)?,
        }
        Ok(())
    }

    /// Keeps a record to write with the next batch.
    fn hold(&mut self, record: Record) {
        self.pending_bytes += record.doc.approximate_size();
        self.pending.push(record);
    }

    async fn flush_full(
        &mut self,
        sink: &dyn RecordSink,
        progress: &dyn Progress,
        batch_size: usize,
    ) -> Result<()> {
        if self.pending.len() >= batch_size || self.pending_bytes >= BATCH_BYTES {
            self.flush(sink, progress).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, sink: &dyn RecordSink, progress: &dyn Progress) -> Result<()> {
        let records = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let count = records.len() as u64;
        if self.dry_run {
            sink.check_writable(&records)?;
        } else if count > 0 {
            sink.upsert(records).await?;
        }
        self.written += count;
        progress.event(&Event::Progress {
            records: self.written,
            batch: count,
            bytes: None,
        });
        Ok(())
    }

    /// Counts the sink's extra records (less those a written key matched loosely) and, when
    /// asked and within the cap, deletes them.
    async fn settle_extras(
        mut self,
        sink: &dyn RecordSink,
        options: &SyncOptions,
    ) -> Result<SyncReport> {
        let mut unmatched = self.unmatched;
        let mut extras = SpillLog::new(&self.spill);
        let mut take = |joined: Joined<PackedKey, ()>, report: &mut SyncReport| match joined {
            // A key column that ignores case holds "a" where the source has "A": the upsert
            // of "A" wrote over "a", which is not extra.
            Joined::Both(..) => {
                report.created -= 1;
                report.updated += 1;
                Ok(())
            }
            Joined::BuildOnly(key) => extras.push(key),
            Joined::ProbeOnly(()) => Ok(()),
        };
        if let Some(created) = &mut self.created
            && !unmatched.is_empty()
        {
            let mut reader = created.read()?;
            loop {
                let chunk = PackedKey::unpack_all(&reader.chunk(options.batch_size.max(1))?)?;
                if chunk.is_empty() {
                    break;
                }
                let comparison = self.comparison;
                let asked: HashSet<String> =
                    chunk.iter().map(|key| key.match_id(comparison)).collect();
                for held in sink.keys_matching(&chunk).await? {
                    let held = held.match_id(comparison);
                    if asked.contains(&held) {
                        continue;
                    }
                    if let Some((_, joined)) = unmatched.probe(held, ())? {
                        take(joined, &mut self.report)?;
                    }
                }
            }
        }
        let mut rest = unmatched.finish()?;
        while let Some((_, joined)) = rest.next()? {
            take(joined, &mut self.report)?;
        }
        drop(rest);
        let extra = extras.len();
        let mut report = self.report;
        if !options.delete {
            report.extra_kept = extra;
            return Ok(report);
        }
        within_max_delete(extra, options.max_delete, "records", &sink.describe())?;
        report.deleted = extra;
        if !options.dry_run {
            let mut extras = extras.read()?;
            loop {
                let chunk = PackedKey::unpack_all(&extras.chunk(options.batch_size.max(1))?)?;
                if chunk.is_empty() {
                    break;
                }
                sink.delete(chunk).await?;
            }
        }
        Ok(report)
    }
}

/// Refuses deleting `extra` things (named by `what`) from `sink` when that is more than `max`.
pub(crate) fn within_max_delete(
    extra: u64,
    max: Option<u64>,
    what: &str,
    sink: &str,
) -> Result<()> {
    match max {
        Some(max) if extra > max => Err(StoreError::precondition_failed(format!(
            "sync would delete {extra} {what} from {sink}, more than --max-delete {max}; nothing was deleted"
        ))),
        _ => Ok(()),
    }
}
