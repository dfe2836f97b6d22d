//! `--follow` for sources without a change feed (SQLite, search indexes, objects, memory):
//! `sync` again every `--poll-interval` until Ctrl-C or SIGTERM. Each round compares the whole
//! source with the sink (records by digest, objects by size and checksum) and writes only what
//! differs, so a round is cheap when little changed; deletes reach the sink only with `--delete`.

use std::time::Duration;

use anyhow::Result;
use serde_json::Map;
use store_sync::objects::{ObjectTransferOptions, transfer_objects};
use store_sync::{SyncOptions, sync as sync_records};

use super::super::copy::{SyncFlags, open_source};
use super::super::{Context, Outcome};
use super::interrupted;
use crate::location::Location;
use crate::open::Access;

/// What every round did, added up.
#[derive(Debug, Default)]
struct Totals {
    rounds: u64,
    written: u64,
    deleted: u64,
}

/// Syncs `src` into `dst` every `every` until interrupted.
pub(crate) async fn follow_by_polling(
    ctx: &Context,
    src: &Location,
    dst: &Location,
    flags: SyncFlags,
    every: Duration,
) -> Result<Outcome> {
    let mut stop = std::pin::pin!(interrupted());
    let mut totals = Totals::default();
    ctx.reporter.start(&src.describe(), Some(&dst.describe()));
    if src.kind().is_records() {
        let (source, schema) = open_source(ctx, src).await?;
        let target = ctx
            .opener
            .collection(dst, Access::Write, Some(&schema), true)
            .await?;
        let options = SyncOptions {
            batch_size: ctx.batch_size(),
            delete: flags.delete,
            max_delete: flags.max_delete,
            dry_run: false,
            check_every_record: false,
            create: true,
            spill: ctx.spill(),
        };
        loop {
            let round = sync_records(
                source.source(),
                target.source(),
                target.sink()?,
                &options,
                &ctx.reporter,
            );
            let report = tokio::select! {
                report = round => report?,
                () = &mut stop => break,
            };
            totals.rounds += 1;
            totals.written += report.created + report.updated;
            totals.deleted += report.deleted;
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = &mut stop => break,
            }
        }
    } else {
        let from = ctx.opener.objects(src, Access::Read).await?;
        let to = ctx.opener.objects(dst, Access::Write).await?;
        let options = ObjectTransferOptions {
            skip_unchanged: true,
            delete: flags.delete,
            max_delete: flags.max_delete,
            spill: ctx.spill(),
            ..ObjectTransferOptions::default()
        };
        loop {
            let round = transfer_objects(&from, &to, &options, &ctx.reporter);
            let report = tokio::select! {
                report = round => report?,
                () = &mut stop => break,
            };
            totals.rounds += 1;
            totals.written += report.copied;
            totals.deleted += report.deleted;
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = &mut stop => break,
            }
        }
    }
    let mut fields = Map::new();
    fields.insert("rounds".into(), totals.rounds.into());
    fields.insert("written".into(), totals.written.into());
    fields.insert("deleted".into(), totals.deleted.into());
    ctx.reporter.summary(
        &format!(
            "followed {src} into {dst} by polling (it has no change feed): {} rounds, {} \
             written, {} deleted {}",
            totals.rounds,
            totals.written,
            totals.deleted,
            ctx.reporter.took()
        ),
        fields,
    );
    Ok(Outcome::Done)
}
