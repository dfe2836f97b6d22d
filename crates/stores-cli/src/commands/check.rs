//! `stores check A B`: do two collections, object locations or archives hold the same data?

use anyhow::{Context as _, Result};
use serde_json::{Map, json};
use store_sync::objects::{ObjectCheckReport, check_objects};
use store_sync::{
    ArchiveSource, CheckReport, CollectionDigest, Comparison, Differences, ObjectListing,
    RecordSource,
};

use super::{Context, Outcome};
use crate::location::Location;
use crate::open::{Access, Collection};
use crate::output::shown_in_list;

/// How many objects are hashed at once.
const OBJECT_CONCURRENCY: usize = 8;

/// One side of a check, opened.
enum Side {
    Collection(Collection),
    Archive(ArchiveSource),
}

impl Side {
    fn source(&self) -> &dyn RecordSource {
        match self {
            Self::Collection(c) => c.source(),
            Self::Archive(a) => a,
        }
    }
}

/// What was compared, in the terms both kinds of report share.
struct Verdict {
    left: CollectionDigest,
    right: CollectionDigest,
    comparison: Option<Comparison>,
    only_left: Differences,
    only_right: Differences,
    differing: Differences,
    /// Of `differing`, the objects whose contents are equal (only their content type or
    /// metadata differ); `None` for records.
    metadata_only: Option<Differences>,
    equal: bool,
}

impl From<CheckReport> for Verdict {
    fn from(r: CheckReport) -> Self {
        Self {
            equal: r.is_equal(),
            left: r.left,
            right: r.right,
            comparison: Some(r.comparison),
            only_left: r.only_left,
            only_right: r.only_right,
            differing: r.differing,
            metadata_only: None,
        }
    }
}

impl From<ObjectCheckReport> for Verdict {
    fn from(r: ObjectCheckReport) -> Self {
        Self {
            equal: r.is_equal(),
            left: r.left,
            right: r.right,
            comparison: None,
            only_left: r.only_left,
            only_right: r.only_right,
            differing: r.differing,
            metadata_only: Some(r.metadata_only),
        }
    }
}

/// `stores check A B`.
pub(crate) async fn check(ctx: &Context, a: &Location, b: &Location) -> Result<Outcome> {
    ctx.refuse("check", true, true)?;
    let verdict: Verdict = match (a.kind().is_records(), b.kind().is_records()) {
        (false, false) if is_archive(ctx, a).await || is_archive(ctx, b).await => {
            // An archive beside objects is an archive of objects: its listing (with each
            // body's SHA-256) against the objects' listing with their contents hashed.
            let left = archive_or_listing(ctx, a).await?;
            let right = archive_or_listing(ctx, b).await?;
            ctx.reporter.start(&a.describe(), Some(&b.describe()));
            check_records(ctx, left.as_ref(), right.as_ref()).await?
        }
        (false, false) => {
            let left = ctx.opener.objects(a, Access::Read).await?;
            let right = ctx.opener.objects(b, Access::Read).await?;
            ctx.reporter.start(&a.describe(), Some(&b.describe()));
            check_objects(&left, &right, OBJECT_CONCURRENCY)
                .await?
                .into()
        }
        _ => {
            let left = open_side(ctx, a).await?;
            let right = open_side(ctx, b).await?;
            ctx.reporter.start(&a.describe(), Some(&b.describe()));
            check_records(ctx, left.source(), right.source()).await?
        }
    };
    report(ctx, a, b, &verdict);
    Ok(if verdict.equal {
        Outcome::Done
    } else {
        Outcome::Differences
    })
}

/// Compares two record sources, until done or interrupted.
async fn check_records(
    ctx: &Context,
    left: &dyn RecordSource,
    right: &dyn RecordSource,
) -> Result<Verdict> {
    let spill = ctx.spill();
    let check = store_sync::check_with(left, right, ctx.batch_size(), &spill);
    Ok(ctx.until_interrupted(check).await?.into())
}

/// A record location as a collection; an object location (beside a collection) as an archive.
async fn open_side(ctx: &Context, location: &Location) -> Result<Side> {
    Ok(if location.kind().is_records() {
        let collection = ctx
            .opener
            .collection(location, Access::Read, None, false)
            .await?;
        // Read the shape now, so a missing table is named before any comparison.
        collection
            .source()
            .schema()
            .await
            .with_context(|| format!("cannot read {location}"))?;
        Side::Collection(collection)
    } else {
        Side::Archive(ctx.opener.archive_source(location).await?)
    })
}

/// Whether an object location holds a finished archive.
async fn is_archive(ctx: &Context, location: &Location) -> bool {
    match ctx.opener.archive_source(location).await {
        Ok(archive) => archive.manifest().await.is_ok(),
        Err(_) => false,
    }
}

/// An object location as records: its archive when it holds one, else its objects' listing
/// with their contents hashed.
async fn archive_or_listing(ctx: &Context, location: &Location) -> Result<Box<dyn RecordSource>> {
    if is_archive(ctx, location).await {
        let archive = ctx.opener.archive_source(location).await?;
        return Ok(Box::new(archive.checking_blobs()));
    }
    let objects = ctx.opener.objects(location, Access::Read).await?;
    Ok(Box::new(ObjectListing::new(objects).hashing()))
}

fn report(ctx: &Context, a: &Location, b: &Location, v: &Verdict) {
    let unit = if v.comparison.is_some() {
        "records"
    } else {
        "objects"
    };
    let width = a.describe().len().max(b.describe().len());
    for (name, location, digest) in [("A", a, &v.left), ("B", b, &v.right)] {
        ctx.reporter.result(&format!(
            "{name}  {:<width$}  {:>9} {unit}  digest {}",
            location.describe(),
            digest.count(),
            digest.hex()
        ));
    }
    let how = match v.comparison {
        Some(Comparison::Typed) => " (values compared with their types)",
        Some(Comparison::TypedValues) => " (values compared with their types, keys as text)",
        Some(Comparison::Json) => " (values compared as JSON)",
        None => {
            " (objects compared by key, content, content type and user metadata; digests over \
             keys and contents)"
        }
    };
    if v.equal {
        ctx.reporter.result(&format!("equal{how}"));
    } else {
        ctx.reporter.result(&format!(
            "different{how}: {} only in A, {} only in B, {} differing",
            v.only_left.count, v.only_right.count, v.differing.count
        ));
        let none = Differences::default();
        for (what, differences) in [
            ("only in A", &v.only_left),
            ("only in B", &v.only_right),
            ("differing", &v.differing),
            (
                "of which in content type or metadata only",
                v.metadata_only.as_ref().unwrap_or(&none),
            ),
        ] {
            if differences.count > 0 {
                let more = differences.count - differences.sample.len() as u64;
                let tail = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                let sample: Vec<_> = differences
                    .sample
                    .iter()
                    .map(|k| shown_in_list(k))
                    .collect();
                ctx.reporter
                    .result(&format!("  {what}: {}{tail}", sample.join(", ")));
            }
        }
    }
    let side = |location: &Location, digest: &CollectionDigest| json!({"location": location.describe(), "count": digest.count(), "digest": digest.hex()});
    let differences = |d: &Differences| json!({"count": d.count, "sample": d.sample.clone()});
    let mut fields = Map::new();
    fields.insert("equal".into(), v.equal.into());
    fields.insert(
        "comparison".into(),
        match v.comparison {
            Some(Comparison::Typed) => "typed".into(),
            Some(Comparison::TypedValues) => "typed-values".into(),
            Some(Comparison::Json) => "json".into(),
            None => "objects".into(),
        },
    );
    fields.insert("left".into(), side(a, &v.left));
    fields.insert("right".into(), side(b, &v.right));
    fields.insert("only_left".into(), differences(&v.only_left));
    fields.insert("only_right".into(), differences(&v.only_right));
    fields.insert("differing".into(), differences(&v.differing));
    if let Some(metadata_only) = &v.metadata_only {
        fields.insert("metadata_only".into(), differences(metadata_only));
    }
    let text = if v.equal {
        format!("checked {a} against {b}: equal {}", ctx.reporter.took())
    } else {
        format!(
            "checked {a} against {b}: {} differences {}",
            v.only_left.count + v.only_right.count + v.differing.count,
            ctx.reporter.took()
        )
    };
    ctx.reporter.summary(&text, fields);
}
