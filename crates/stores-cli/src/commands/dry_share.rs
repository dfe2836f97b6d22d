//! The dry run of a copy or restore of records with `--partition I/N`: what the real run
//! would write is the share's records from where its checkpoint stands, so they are read,
//! counted and checked as the sink would take them. A share has no counterpart in the
//! target to compare with, so there is no new/changed/equal breakdown, only the count.

use anyhow::Result;
use futures::TryStreamExt;
use serde_json::{Map, Value as Json};
use store_sync::{CopyPosition, CopyReport, Partition, RecordSink, RecordSource, copy_position};

use super::{Context, Outcome, copy_fields, copy_notes, dry_run_of_finished};
use crate::location::Location;

/// Counts what a copy (`verb`: "copy" or "restore") of this run's partition of `source` into
/// `sink` would write, refusing what the real run would refuse, and sums it up.
pub(super) async fn dry_run_of_share(
    ctx: &Context,
    verb: &str,
    source: &dyn RecordSource,
    sink: &dyn RecordSink,
    src: &Location,
    dst: &Location,
) -> Result<Outcome> {
    let options = ctx.copy_options(true, sink).await?;
    let (resume, earlier) = match copy_position(source, sink, &options).await? {
        CopyPosition::Start => (None, 0),
        CopyPosition::Resume { records, resume } => (resume, records),
        CopyPosition::Done { records } => {
            return dry_run_of_finished(ctx, src, dst, records, "records", Default::default());
        }
    };
    let partition = ctx.partition();
    // The plan the shares of a table are cut by: the one the real run would share, or one
    // cut now and kept nowhere.
    let home = sink.plan_home().or_else(|| options.plan.clone());
    store_sync::preview_plan(source, partition, home.as_ref()).await?;
    let mut batches = source.read(partition, resume, options.batch_size);
    let mut records = 0u64;
    while let Some(batch) = batches.try_next().await? {
        sink.check_writable(&batch.records)?;
        records += batch.records.len() as u64;
    }
    let (report, fields) = dry_copy(earlier, records, partition);
    let into = if verb == "restore" { "into" } else { "to" };
    ctx.reporter.summary(
        &format!(
            "would {verb} {records} records from {src} {into} {dst}{}; nothing was written",
            copy_notes(&report, partition)
        ),
        fields,
    );
    Ok(Outcome::Done)
}

/// The report of a dry run that would write `more` records after the `earlier` ones a
/// checkpoint holds, and its summary fields.
pub(super) fn dry_copy(
    earlier: u64,
    more: u64,
    partition: Partition,
) -> (CopyReport, Map<String, Json>) {
    let report = CopyReport {
        records: earlier + more,
        resumed_records: earlier,
        already_done: false,
    };
    let mut fields = copy_fields(&report, partition);
    fields.insert("dry_run".into(), true.into());
    (report, fields)
}
