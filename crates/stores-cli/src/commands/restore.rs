//! `stores restore ARCHIVE DST`: an archive loaded into a keyed collection.

use anyhow::{Context as _, Result, bail};
use futures::TryStreamExt;
use store_core::ErrorKind;
use store_sync::{
    ArchiveSource, CollectionSchema, CopyOptions, CopyPosition, ObjectRestoreSink, Partition,
    RecordSink, RecordSource, SyncOptions, SyncReport, copy_position, sync,
};

use super::backup::refuse_as_archive;
use super::dry_share::dry_run_of_share;
use super::{Context, Outcome, copy_fields, copy_notes, sync_counts, sync_fields};
use crate::cli::RestoreMode;
use crate::location::Location;
use crate::open::{Access, Collection};

/// `restore`'s own flags.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RestoreFlags {
    /// How to treat what the target holds.
    pub(crate) mode: RestoreMode,
    /// Confirms `replace`.
    pub(crate) yes: bool,
    /// Do not create the target.
    pub(crate) data_only: bool,
}

/// `stores restore ARCHIVE DST`.
pub(crate) async fn restore(
    ctx: &Context,
    archive: &Location,
    dst: &Location,
    flags: RestoreFlags,
) -> Result<Outcome> {
    refuse_as_archive(archive)?;
    if !dst.kind().is_records() {
        return restore_objects(ctx, archive, dst, flags).await;
    }
    let dry_run = ctx.common.dry_run;
    if flags.mode == RestoreMode::Replace && !ctx.partition().is_whole() {
        bail!(
            "--mode replace makes {dst} match the whole archive, so it does not take \
             --partition: restore the shares with --mode upsert"
        );
    }
    if flags.mode == RestoreMode::CreateOnly && !ctx.partition().is_whole() {
        bail!(
            "--mode create-only first checks that {dst} is empty, which processes sharing it \
             cannot do (the first to write fills it for the others): restore the shares into \
             an empty target with --mode upsert"
        );
    }
    if flags.mode == RestoreMode::Replace && !flags.yes && !dry_run {
        bail!(
            "--mode replace deletes from {dst} every record the archive lacks: add --yes to \
             confirm (or --dry-run to see how many)"
        );
    }
    let source = ctx.opener.archive_source(archive).await?;
    let schema = source
        .schema()
        .await
        .with_context(|| format!("cannot read the archive {archive}"))?;
    // Every part is read and its digest checked before anything is written: a damaged
    // archive restores nothing.
    verify(ctx, &source).await?;
    ctx.refuse_gone(dst).await?;
    ctx.reporter.counts_objects();
    ctx.reporter
        .start(&archive.describe(), Some(&dst.describe()));
    let create = !flags.data_only;
    if dry_run {
        let target = ctx
            .opener
            .collection(dst, Access::DryRun, Some(&schema), create)
            .await?;
        if !ctx.partition().is_whole() {
            let sink = target.sink()?;
            return dry_run_of_share(ctx, "restore", &source, sink, archive, dst).await;
        }
        if flags.mode == RestoreMode::CreateOnly {
            let options = restore_options(ctx, create, target.sink()?, flags.mode).await?;
            ensure_empty_unless_resumed(&source, &target, &options, dst).await?;
        }
        let replace = flags.mode == RestoreMode::Replace;
        let report = sync_into(ctx, &source, &target, create, replace, true).await?;
        let total = report.created + report.updated + report.unchanged;
        let mut fields = sync_fields(&report, true);
        fields.insert("records".into(), total.into());
        ctx.reporter.summary(
            &format!(
                "would restore {total} records from {archive} into {dst} ({}); nothing was written",
                sync_counts(&report, true)
            ),
            fields,
        );
        return Ok(Outcome::Done);
    }
    let target = ctx
        .opener
        .collection(dst, Access::Write, Some(&schema), create)
        .await?;
    if flags.mode == RestoreMode::Replace {
        let report = sync_into(ctx, &source, &target, create, true, false).await?;
        ctx.reporter.summary(
            &format!(
                "restored {archive} into {dst}, replacing its records: {} {}",
                sync_counts(&report, false),
                ctx.reporter.took()
            ),
            sync_fields(&report, false),
        );
        return Ok(Outcome::Done);
    }
    let sink = target.sink()?;
    let options = restore_options(ctx, create, sink, flags.mode).await?;
    if flags.mode == RestoreMode::CreateOnly {
        ensure_empty_unless_resumed(&source, &target, &options, dst).await?;
    }
    let report = store_sync::copy(&source, sink, &options, &ctx.reporter).await?;
    ctx.reporter.summary(
        &format!(
            "restored {} records from {archive} into {dst} {}{}",
            report.records,
            ctx.reporter.took(),
            copy_notes(&report, ctx.partition())
        ),
        copy_fields(&report, ctx.partition()),
    );
    Ok(Outcome::Done)
}

/// Checks every part this run will restore (SHA-256, size) before anything is written; the
/// lines are checked as they are read.
async fn verify(ctx: &Context, source: &ArchiveSource) -> Result<()> {
    source.verify_digests(ctx.partition()).await?;
    Ok(())
}

/// The options of a restore's copy in `mode`: a create-only restore is a job of its own kind,
/// so that it never resumes (and so skips its check of the target) from a checkpoint an
/// upsert restore took.
async fn restore_options(
    ctx: &Context,
    create: bool,
    sink: &dyn RecordSink,
    mode: RestoreMode,
) -> Result<CopyOptions> {
    let mut options = ctx.copy_options(create, sink).await?;
    if mode == RestoreMode::CreateOnly {
        options.kind = Some("create-only");
    }
    Ok(options)
}

/// Refuses a target that already holds a record (`--mode create-only`), unless this
/// restore's own checkpoint says an earlier run of it wrote them: a killed create-only restore
/// resumes (or, finished, copies nothing) like any other.
async fn ensure_empty_unless_resumed(
    source: &ArchiveSource,
    target: &Collection,
    options: &CopyOptions,
    dst: &Location,
) -> Result<()> {
    match copy_position(source, target.sink()?, options).await? {
        CopyPosition::Start => ensure_empty(target.source(), dst).await,
        CopyPosition::Resume { .. } | CopyPosition::Done { .. } => Ok(()),
    }
}

/// Refuses a target that already holds a record.
async fn ensure_empty(target: &dyn RecordSource, dst: &Location) -> Result<()> {
    let mut batches = target.read(Partition::whole(), None, 1);
    loop {
        match batches.try_next().await {
            Ok(Some(batch)) if !batch.records.is_empty() => bail!(
                "{dst} already holds records and --mode create-only restores only into a missing \
                 or empty target; use --mode upsert, or --mode replace --yes"
            ),
            Ok(Some(_)) => {}
            Ok(None) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}

/// `stores restore ARCHIVE OBJECTS`: an archive of objects restored under a location, each
/// body checked against its SHA-256 as it streams.
async fn restore_objects(
    ctx: &Context,
    archive: &Location,
    dst: &Location,
    flags: RestoreFlags,
) -> Result<Outcome> {
    if flags.mode != RestoreMode::Upsert {
        bail!("objects restore in upsert mode only (objects present are replaced); drop --mode");
    }
    let source = ctx.opener.archive_source(archive).await?;
    let schema = source
        .schema()
        .await
        .with_context(|| format!("cannot read the archive {archive}"))?;
    if !matches!(schema, CollectionSchema::Objects { .. }) {
        bail!(
            "the archive {archive} holds a {} `{}`, not objects: restore it into a table, \
             document table or search index",
            schema.kind_name(),
            schema.name()
        );
    }
    verify(ctx, &source).await?;
    ctx.refuse_gone(dst).await?;
    ctx.reporter
        .start(&archive.describe(), Some(&dst.describe()));
    if ctx.common.dry_run {
        let mut objects = 0u64;
        let mut batches = source.read(ctx.partition(), None, ctx.batch_size());
        while let Some(batch) = batches.try_next().await? {
            objects += batch.records.len() as u64;
        }
        let mut fields = serde_json::Map::new();
        fields.insert("records".into(), objects.into());
        fields.insert("dry_run".into(), true.into());
        ctx.reporter.summary(
            &format!(
                "would restore {objects} objects from {archive} into {dst}; nothing was written"
            ),
            fields,
        );
        return Ok(Outcome::Done);
    }
    let to = ctx.opener.objects(dst, Access::Write).await?;
    let sink = ObjectRestoreSink::new(&source, to);
    let options = ctx.copy_options(false, &sink).await?;
    let report = store_sync::copy(&source, &sink, &options, &ctx.reporter).await?;
    ctx.reporter.summary(
        &format!(
            "restored {} objects from {archive} into {dst} {}{}",
            report.records,
            ctx.reporter.took(),
            copy_notes(&report, ctx.partition())
        ),
        copy_fields(&report, ctx.partition()),
    );
    Ok(Outcome::Done)
}

/// Makes `target` match the archive `source` (deleting what the archive lacks only when
/// `delete`; writing nothing when `dry_run`), until done or interrupted.
async fn sync_into(
    ctx: &Context,
    source: &dyn RecordSource,
    target: &Collection,
    create: bool,
    delete: bool,
    dry_run: bool,
) -> Result<SyncReport> {
    let options = SyncOptions {
        batch_size: ctx.batch_size_into(target.sink()?),
        delete,
        dry_run,
        // Short of replacing, a restore writes every record, not only those that differ.
        check_every_record: !delete,
        create,
        spill: ctx.spill(),
        ..SyncOptions::default()
    };
    let sync = sync(
        source,
        target.source(),
        target.sink()?,
        &options,
        &ctx.reporter,
    );
    ctx.until_interrupted(sync).await
}
