//! `stores ls URL`: the objects under a location, or the keys of a collection or archive.

use anyhow::{Context as _, Result};
use futures::TryStreamExt;
use serde_json::Map;
use store_core::{ErrorKind, Value};
use store_sync::{ArchiveSource, RecordSource};

use super::{Context, Outcome};
use crate::location::Location;
use crate::open::Access;
use crate::output::shown_key;

/// `stores ls URL`.
pub(crate) async fn ls(ctx: &Context, location: &Location) -> Result<Outcome> {
    ctx.refuse("ls", true, true)?;
    if location.kind().is_records() {
        return keys(ctx, location).await;
    }
    if let Some(archive) = archive_at(ctx, location).await? {
        return archive_keys(ctx, location, archive).await;
    }
    let objects = ctx.opener.objects(location, Access::Read).await?;
    ctx.reporter.start(&location.describe(), None);
    // The objects a copy or check of the location takes.
    let mut listing = objects.listing_stream();
    let (mut count, mut bytes) = (0u64, 0u64);
    while let Some((relative, meta)) = listing
        .try_next()
        .await
        .with_context(|| format!("cannot list {location}"))?
    {
        count += 1;
        bytes += meta.size;
        object_item(ctx, &relative, meta.size);
    }
    let mut fields = Map::new();
    fields.insert("count".into(), count.into());
    fields.insert("bytes".into(), bytes.into());
    ctx.reporter.summary(
        &format!("{count} objects, {bytes} bytes in {location}"),
        fields,
    );
    Ok(Outcome::Done)
}

/// The archive at an object location, when one is there: its root holds a stores archive's
/// `manifest.json`. A folder's damaged manifest is an error; under an object prefix, a
/// `manifest.json` that is not an archive's is one of the objects to list, and a manifest
/// that cannot be read is an error.
async fn archive_at(ctx: &Context, location: &Location) -> Result<Option<ArchiveSource>> {
    let archive = ctx.opener.archive_source(location).await?;
    match archive.manifest().await {
        Ok(_) => Ok(Some(archive)),
        Err(e) if e.kind() == ErrorKind::NotFound => match location {
            Location::File { path } if path.join("partitions").is_dir() => anyhow::bail!(
                "{location} holds a backup that has not finished: it has no manifest.json yet \
                 (every partition of the backup must finish)"
            ),
            _ => Ok(None),
        },
        // Under an object prefix, a manifest.json that is not an archive's is an object; a
        // failed read (access, throttling) is an error, not a reason to list something else.
        Err(e)
            if e.kind() == ErrorKind::InvalidInput
                && !matches!(location, Location::File { .. }) =>
        {
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read the archive {location}")),
    }
}

/// The keys of an archive's records (objects, rows, items or documents), in its order.
async fn archive_keys(
    ctx: &Context,
    location: &Location,
    archive: ArchiveSource,
) -> Result<Outcome> {
    let manifest = archive.manifest().await?;
    let (what, unit) = match manifest.collections.as_slice() {
        [one] if one.kind == "objects" => ("objects".to_owned(), "objects"),
        [one] => {
            let kind = match one.kind.as_str() {
                "documents" => "document table",
                "search" => "search index",
                other => other,
            };
            (format!("{kind} `{}`", one.name), "records")
        }
        _ => ("nothing".to_owned(), "records"),
    };
    let about = format!("an archive of {what} from {}", manifest.source);
    ctx.reporter.start(&location.describe(), None);
    let mut fields = Map::new();
    let summary = if unit == "objects" {
        // Listed as the objects of a folder are: each with its size, and their bytes.
        let (count, bytes) = list_objects(ctx, &archive).await?;
        fields.insert("count".into(), count.into());
        fields.insert("bytes".into(), bytes.into());
        format!("{count} objects, {bytes} bytes in {location} ({about})")
    } else {
        let count = list_keys(ctx, &archive).await?;
        fields.insert("count".into(), count.into());
        format!("{count} {unit} in {location} ({about})")
    };
    fields.insert("archive_of".into(), manifest.source.clone().into());
    ctx.reporter.summary(&summary, fields);
    Ok(Outcome::Done)
}

/// Reports every object an archive of objects lists, with its size; returns how many and
/// their bytes.
async fn list_objects(ctx: &Context, archive: &ArchiveSource) -> Result<(u64, u64)> {
    let mut batches = archive.read(ctx.partition(), None, ctx.batch_size());
    let (mut count, mut bytes) = (0u64, 0u64);
    while let Some(batch) = batches.try_next().await? {
        for record in batch.records {
            let key = record
                .doc
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let size = match record.doc.get("size") {
                Some(Value::Number(size)) => size.to_u64().unwrap_or(0),
                _ => 0,
            };
            count += 1;
            bytes += size;
            object_item(ctx, key, size);
        }
    }
    Ok((count, bytes))
}

/// Reports one object as `ls` lists objects: its size and key.
fn object_item(ctx: &Context, key: &str, size: u64) {
    let mut fields = Map::new();
    fields.insert("key".into(), key.into());
    fields.insert("size".into(), size.into());
    ctx.reporter
        .item(fields, &format!("{size:>12}  {}", shown_key(key)));
}

/// The keys of a collection, in the order it reads them.
async fn keys(ctx: &Context, location: &Location) -> Result<Outcome> {
    let collection = ctx
        .opener
        .collection(location, Access::Read, None, false)
        .await?;
    let source = collection.source();
    source
        .schema()
        .await
        .with_context(|| format!("cannot read {location}"))?;
    ctx.reporter.start(&location.describe(), None);
    store_sync::preview_plan(source, ctx.partition(), ctx.plan_home().await?.as_ref()).await?;
    let count = list_keys(ctx, source).await?;
    let mut fields = Map::new();
    fields.insert("count".into(), count.into());
    ctx.reporter
        .summary(&format!("{count} records in {location}"), fields);
    Ok(Outcome::Done)
}

/// Reports every key `source` reads as an item; returns how many.
async fn list_keys(ctx: &Context, source: &dyn RecordSource) -> Result<u64> {
    let mut batches = source.read(ctx.partition(), None, ctx.batch_size());
    let mut count = 0u64;
    while let Some(batch) = batches.try_next().await? {
        for record in batch.records {
            count += 1;
            let mut fields = Map::new();
            fields.insert("key".into(), record.key.id().into());
            ctx.reporter.item(fields, &shown_key(&record.key.shown()));
        }
    }
    Ok(count)
}
