//! `stores backup SRC ARCHIVE`: a keyed collection written as a stores archive.

use anyhow::{Result, bail};
use futures::TryStreamExt;
use serde_json::Map;

use super::copy::open_source;
use super::{Context, Outcome, copy_fields, copy_notes};
use crate::location::Location;
use crate::open::{Access, refuse_store_folder};
use store_sync::{ObjectArchiveSink, ObjectListing};

/// `stores backup SRC ARCHIVE`.
pub(crate) async fn backup(ctx: &Context, src: &Location, archive: &Location) -> Result<Outcome> {
    refuse_as_archive(archive)?;
    // Before a dry run too, which would otherwise promise a backup the real run refuses.
    refuse_store_folder(archive, "an archive")?;
    if ctx.common.plan.is_some() {
        // Every partition of one backup must read by one plan: the archive's, which all of
        // them reach; a --plan given to some processes only would split the table twice.
        bail!(
            "backup does not take --plan: the partitions of a backup share the plan kept in \
             its archive (partitions/plan.json); --plan is for copies"
        );
    }
    if !src.kind().is_records() {
        return backup_objects(ctx, src, archive).await;
    }
    let (source, _schema) = open_source(ctx, src).await?;
    ctx.refuse_gone(archive).await?;
    ctx.reporter
        .start(&src.describe(), Some(&archive.describe()));
    if ctx.common.dry_run {
        // The plan the partitions share: the one in the archive, if any.
        let home = if !ctx.partition().is_whole() && source.source().plans_partitions() {
            Some(ctx.opener.archive_source(archive).await?.plan_home())
        } else {
            None
        };
        store_sync::preview_plan(source.source(), ctx.partition(), home.as_ref()).await?;
        let mut records = 0u64;
        let mut batches = source
            .source()
            .read(ctx.partition(), None, ctx.batch_size());
        while let Some(batch) = batches.try_next().await? {
            records += batch.records.len() as u64;
        }
        let mut fields = Map::new();
        fields.insert("records".into(), records.into());
        fields.insert("dry_run".into(), true.into());
        ctx.reporter.summary(
            &format!(
                "would back up {records} records from {src} into {archive}; nothing was written"
            ),
            fields,
        );
        return Ok(Outcome::Done);
    }
    let sink = ctx
        .opener
        .archive_sink(archive, ctx.partition(), &src.describe())
        .await?;
    let options = ctx.copy_options(true, &sink).await?;
    let report = store_sync::copy(source.source(), &sink, &options, &ctx.reporter).await?;
    ctx.reporter.summary(
        &format!(
            "backed up {} records from {src} to {archive} {}{}",
            report.records,
            ctx.reporter.took(),
            copy_notes(&report, ctx.partition())
        ),
        copy_fields(&report, ctx.partition()),
    );
    Ok(Outcome::Done)
}

/// Refuses a record location given where an archive goes.
pub(crate) fn refuse_as_archive(archive: &Location) -> Result<()> {
    if archive.kind().is_records() {
        bail!(
            "{archive} is a {}, not an archive location: an ARCHIVE is file:///dir, \
             s3://bucket/prefix or mem://NAME?kind=objects",
            archive.kind()
        );
    }
    Ok(())
}

/// `stores backup OBJECTS ARCHIVE`: the listing as records, each body as a blob.
async fn backup_objects(ctx: &Context, src: &Location, archive: &Location) -> Result<Outcome> {
    let from = ctx.opener.objects(src, Access::Read).await?;
    let listing = ObjectListing::new(from.clone());
    ctx.refuse_gone(archive).await?;
    ctx.reporter.counts_objects();
    ctx.reporter
        .start(&src.describe(), Some(&archive.describe()));
    if ctx.common.dry_run {
        let (objects, _) = listing.size(ctx.partition(), None).await?;
        let mut fields = Map::new();
        fields.insert("records".into(), objects.into());
        fields.insert("dry_run".into(), true.into());
        ctx.reporter.summary(
            &format!(
                "would back up {objects} objects from {src} into {archive}; nothing was written"
            ),
            fields,
        );
        return Ok(Outcome::Done);
    }
    let sink = ObjectArchiveSink::new(
        ctx.opener
            .archive_sink(archive, ctx.partition(), &src.describe())
            .await?,
        from,
    );
    let options = ctx.copy_options(true, &sink).await?;
    let report = store_sync::copy(&listing, &sink, &options, &ctx.reporter).await?;
    ctx.reporter.summary(
        &format!(
            "backed up {} objects from {src} to {archive} {}{}",
            report.records,
            ctx.reporter.took(),
            copy_notes(&report, ctx.partition())
        ),
        copy_fields(&report, ctx.partition()),
    );
    Ok(Outcome::Done)
}
