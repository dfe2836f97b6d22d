//! `stores copy` and `stores sync`: records between keyed collections, objects between object
//! locations.

use anyhow::{Context as _, Result, bail};
use serde_json::{Map, Value as Json};
use store_sync::objects::{
    ObjectCopySink, ObjectTransferOptions, ObjectTransferReport, transfer_objects,
};
use store_sync::{
    CopyPosition, ObjectListing, RecordSink as _, RecordSource as _, SyncOptions, copy_position,
    sync as sync_records,
};

use super::dry_share::{dry_copy, dry_run_of_share};
use super::{
    Context, Outcome, copy_fields, copy_notes, dry_run_of_finished, sync_counts, sync_fields,
};
use crate::location::Location;
use crate::open::{Access, Collection};

/// `sync`'s own flags.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SyncFlags {
    /// Delete from the target what the source lacks.
    pub(crate) delete: bool,
    /// The most records or objects that may be deleted.
    pub(crate) max_delete: Option<u64>,
}

/// Refuses a pair of locations that cannot be copied into each other, before anything is read.
pub(crate) fn check_pair(verb: &str, src: &Location, dst: &Location) -> Result<()> {
    match (src.kind().is_records(), dst.kind().is_records()) {
        (false, true) if is_archive_folder(src) => bail!(
            "cannot {verb} from {src}: it is an archive, not a collection; load it into {dst} \
             with `stores restore {src} {dst}`"
        ),
        (false, true) => bail!(
            "cannot {verb} objects into a {}: {src} holds objects and {dst} is a {}; {verb} \
             objects to an object location (file://, s3://, mem://NAME?kind=objects), or load an \
             archive with `stores restore`",
            dst.kind(),
            dst.kind()
        ),
        (true, false) => bail!(
            "cannot {verb} a {} into objects: {src} is a {} and {dst} holds objects; write it \
             as an archive with `stores backup`, or {verb} into a table, document table or \
             search index",
            src.kind(),
            src.kind()
        ),
        _ => Ok(()),
    }
}

/// Whether `location` is a folder holding a finished archive (its `manifest.json`).
fn is_archive_folder(location: &Location) -> bool {
    matches!(location, Location::File { path } if path.join("manifest.json").is_file())
}

/// Opens the source collection and reads its shape (so a missing one fails before anything is
/// written).
pub(crate) async fn open_source(
    ctx: &Context,
    src: &Location,
) -> Result<(Collection, store_sync::CollectionSchema)> {
    let source = ctx
        .opener
        .collection(src, Access::Read, None, false)
        .await?;
    let schema = source
        .source()
        .schema()
        .await
        .with_context(|| format!("cannot read {src}"))?;
    Ok((source, schema))
}

/// `stores copy SRC DST`.
pub(crate) async fn copy(ctx: &Context, src: &Location, dst: &Location) -> Result<Outcome> {
    check_pair("copy", src, dst)?;
    if !src.kind().is_records() {
        return copy_objects(ctx, src, dst).await;
    }
    let (source, schema) = open_source(ctx, src).await?;
    ctx.refuse_gone(dst).await?;
    ctx.reporter.start(&src.describe(), Some(&dst.describe()));
    if ctx.common.dry_run {
        let target = ctx
            .opener
            .collection(dst, Access::DryRun, Some(&schema), true)
            .await?;
        // A checkpoint of another job is refused, and a finished one copies nothing, as in
        // the real run; one it would resume from is named (the counts compare everything).
        let sink = target.sink()?;
        if !ctx.partition().is_whole() {
            return dry_run_of_share(ctx, "copy", source.source(), sink, src, dst).await;
        }
        let position =
            copy_position(source.source(), sink, &ctx.copy_options(true, sink).await?).await?;
        if let CopyPosition::Done { records } = position {
            return dry_run_of_finished(ctx, src, dst, records, "records", Map::new());
        }
        let resumes = match position {
            CopyPosition::Resume { records, .. } => format!(
                "; the checkpoint would resume after {records} records, rewriting none of them"
            ),
            _ => String::new(),
        };
        let options = SyncOptions {
            batch_size: ctx.batch_size_into(sink),
            dry_run: true,
            // The copy writes every record, not only those that differ.
            check_every_record: true,
            ..SyncOptions::default()
        };
        let report = sync_records(
            source.source(),
            target.source(),
            target.sink()?,
            &options,
            &ctx.reporter,
        )
        .await?;
        let total = report.created + report.updated + report.unchanged;
        ctx.reporter.summary(
            &format!(
                "would copy {total} records from {src} to {dst} ({}){resumes}; nothing was \
                 written",
                sync_counts(&report, true)
            ),
            {
                let mut fields = sync_fields(&report, true);
                fields.insert("records".into(), total.into());
                fields
            },
        );
        return Ok(Outcome::Done);
    }
    let target = ctx
        .opener
        .collection(dst, Access::Write, Some(&schema), true)
        .await?;
    let sink = target.sink()?;
    let options = ctx.copy_options(true, sink).await?;
    let report = store_sync::copy(source.source(), sink, &options, &ctx.reporter).await?;
    ctx.reporter.summary(
        &format!(
            "copied {} records from {src} to {dst} {}{}",
            report.records,
            ctx.reporter.took(),
            copy_notes(&report, ctx.partition())
        ),
        copy_fields(&report, ctx.partition()),
    );
    Ok(Outcome::Done)
}

/// `stores sync SRC DST`.
pub(crate) async fn sync(
    ctx: &Context,
    src: &Location,
    dst: &Location,
    flags: SyncFlags,
) -> Result<Outcome> {
    check_pair("sync", src, dst)?;
    ctx.refuse("sync", true, true)?;
    if !src.kind().is_records() {
        return sync_objects(ctx, src, dst, flags).await;
    }
    let (source, schema) = open_source(ctx, src).await?;
    ctx.reporter.start(&src.describe(), Some(&dst.describe()));
    let dry_run = ctx.common.dry_run;
    let access = if dry_run {
        Access::DryRun
    } else {
        Access::Write
    };
    let target = ctx
        .opener
        .collection(dst, access, Some(&schema), true)
        .await?;
    let options = SyncOptions {
        batch_size: ctx.batch_size_into(target.sink()?),
        delete: flags.delete,
        max_delete: flags.max_delete,
        dry_run,
        check_every_record: false,
        create: true,
        spill: ctx.spill(),
    };
    let report = ctx
        .until_interrupted(sync_records(
            source.source(),
            target.source(),
            target.sink()?,
            &options,
            &ctx.reporter,
        ))
        .await?;
    let text = if dry_run {
        format!(
            "sync would change {dst} to match {src}: {}; nothing was written",
            sync_counts(&report, true)
        )
    } else {
        format!(
            "synced {src} to {dst}: {} {}",
            sync_counts(&report, false),
            ctx.reporter.took()
        )
    };
    ctx.reporter.summary(&text, sync_fields(&report, dry_run));
    Ok(Outcome::Done)
}

/// `stores copy` of objects: every object listed under SRC written to the same relative key
/// under DST, through the checkpointed copy, so `--checkpoint` resumes it after a crash and
/// `--partition` splits it between processes (by a hash of each key).
async fn copy_objects(ctx: &Context, src: &Location, dst: &Location) -> Result<Outcome> {
    let from = ctx.opener.objects(src, Access::Read).await?;
    let listing = ObjectListing::new(from.clone());
    ctx.reporter.counts_objects();
    ctx.reporter.start(&src.describe(), Some(&dst.describe()));
    ctx.refuse_gone(dst).await?;
    let partition = ctx.partition();
    if ctx.common.dry_run {
        let to = ctx.opener.objects(dst, Access::DryRun).await?;
        let sink = ObjectCopySink::new(from, to);
        // What the real run would refuse before reading (a location inside the source, a
        // checkpoint of another job), and where its checkpoint would have it start.
        sink.prepare(&listing.schema().await?, false).await?;
        let position =
            copy_position(&listing, &sink, &ctx.copy_options(true, &sink).await?).await?;
        let (resume, earlier) = match position {
            CopyPosition::Start => (None, 0),
            CopyPosition::Resume { records, resume } => (resume, records),
            CopyPosition::Done { records } => {
                let mut nothing = Map::new();
                nothing.insert("objects".into(), 0.into());
                nothing.insert("bytes".into(), 0.into());
                return dry_run_of_finished(ctx, src, dst, records, "objects", nothing);
            }
        };
        let (objects, bytes) = listing.size(partition, resume.as_deref()).await?;
        let (report, mut fields) = dry_copy(earlier, objects, partition);
        fields.insert("objects".into(), objects.into());
        fields.insert("bytes".into(), bytes.into());
        let text = format!(
            "would copy {objects} objects ({bytes} bytes) from {src} to {dst}{}; nothing was \
             written",
            copy_notes(&report, partition)
        );
        ctx.reporter.summary(&text, fields);
        return Ok(Outcome::Done);
    }
    let to = ctx.opener.objects(dst, Access::Write).await?;
    let sink = ObjectCopySink::new(from, to);
    let options = ctx.copy_options(true, &sink).await?;
    let report = ctx
        .until_interrupted(store_sync::copy(&listing, &sink, &options, &ctx.reporter))
        .await?;
    let bytes = sink.bytes_written().unwrap_or(0);
    let by_this_run = if report.resumed_records > 0 || report.already_done {
        " by this run"
    } else {
        ""
    };
    let mut fields = copy_fields(&report, partition);
    fields.insert(
        "objects".into(),
        (report.records - report.resumed_records).into(),
    );
    fields.insert("bytes".into(), bytes.into());
    ctx.reporter.summary(
        &format!(
            "copied {} objects ({bytes} bytes{by_this_run}) from {src} to {dst} {}{}",
            report.records,
            ctx.reporter.took(),
            copy_notes(&report, partition)
        ),
        fields,
    );
    Ok(Outcome::Done)
}

/// `stores sync` of objects: what differs written, and with `--delete` what SRC lacks deleted
/// (both sides compared, so there is nothing to resume).
async fn sync_objects(
    ctx: &Context,
    src: &Location,
    dst: &Location,
    flags: SyncFlags,
) -> Result<Outcome> {
    let dry_run = ctx.common.dry_run;
    let from = ctx.opener.objects(src, Access::Read).await?;
    let access = if dry_run {
        Access::DryRun
    } else {
        Access::Write
    };
    let to = ctx.opener.objects(dst, access).await?;
    ctx.reporter.counts_objects();
    ctx.reporter.start(&src.describe(), Some(&dst.describe()));
    let options = ObjectTransferOptions {
        skip_unchanged: true,
        delete: flags.delete,
        max_delete: flags.max_delete,
        dry_run,
        spill: ctx.spill(),
        ..ObjectTransferOptions::default()
    };
    let report = ctx
        .until_interrupted(transfer_objects(&from, &to, &options, &ctx.reporter))
        .await?;
    let text = if dry_run {
        format!(
            "would write {} objects ({} bytes) from {src} to {dst}, {} unchanged, {} to delete, \
             {} extra kept; nothing was written",
            report.copied, report.bytes, report.unchanged, report.deleted, report.extra_kept
        )
    } else {
        format!(
            "synced {} objects ({} bytes) from {src} to {dst}, {} unchanged, {} deleted {}",
            report.copied,
            report.bytes,
            report.unchanged,
            report.deleted,
            ctx.reporter.took()
        )
    };
    ctx.reporter.summary(&text, object_fields(&report, dry_run));
    Ok(Outcome::Done)
}

fn object_fields(report: &ObjectTransferReport, dry_run: bool) -> Map<String, Json> {
    let mut fields = Map::new();
    fields.insert("objects".into(), report.copied.into());
    fields.insert("bytes".into(), report.bytes.into());
    fields.insert("unchanged".into(), report.unchanged.into());
    fields.insert("deleted".into(), report.deleted.into());
    fields.insert("extra_kept".into(), report.extra_kept.into());
    fields.insert("dry_run".into(), dry_run.into());
    fields
}
