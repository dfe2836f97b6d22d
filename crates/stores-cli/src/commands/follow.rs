//! `stores sync SRC DST --follow`: make DST match SRC, then keep it in step through SRC's change
//! feed until Ctrl-C or SIGTERM, with the checkpoint saved; a source without a feed is synced
//! again every `--poll-interval` instead ([`poll`]).

mod poll;

use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::Map;
use store_sync::{FollowOptions, FollowReport};

use super::copy::{SyncFlags, check_pair, open_source};
use super::{Context, Outcome};
use crate::location::Location;
use crate::open::{Access, FeedSettings};

/// A flag's seconds as a duration: above 0 (or 0 itself when `zero` is allowed) and at most an
/// hour.
pub(crate) fn seconds(flag: &str, seconds: f64, zero: bool) -> Result<Duration> {
    let positive = seconds > 0.0 || (zero && seconds == 0.0);
    if !positive || seconds > 3_600.0 {
        bail!("{flag} takes seconds between 0 and 3600, not {seconds}");
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `--follow`'s own flags.
#[derive(Debug, Clone)]
pub(crate) struct FollowFlags {
    /// Which feed, and how it reads.
    pub(crate) feed: FeedSettings,
    /// Drop the feed's server-side state and the checkpoint instead of following.
    pub(crate) cleanup: bool,
}

/// `stores sync SRC DST --follow`.
pub(crate) async fn follow(
    ctx: &Context,
    src: &Location,
    dst: &Location,
    flags: SyncFlags,
    follow_flags: FollowFlags,
) -> Result<Outcome> {
    check_pair("sync", src, dst)?;
    if ctx.common.partition.is_some() || ctx.common.dry_run {
        bail!("sync --follow takes neither --partition nor --dry-run: it follows a whole source");
    }
    let Some(feed) = ctx
        .opener
        .feed(src, &follow_flags.feed, &dst.describe())
        .await?
    else {
        if follow_flags.cleanup {
            bail!("{src} has no change feed: --cleanup has nothing to drop");
        }
        let every = follow_flags.feed.poll;
        return poll::follow_by_polling(ctx, src, dst, flags, every).await;
    };
    let Some(checkpoint) = ctx.common.checkpoint.clone() else {
        bail!("sync --follow needs --checkpoint FILE: where it saves its place in the feed");
    };
    if follow_flags.cleanup {
        feed.cleanup().await?;
        if let Err(e) = tokio::fs::remove_file(&checkpoint).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            bail!("cannot remove the checkpoint {}: {e}", checkpoint.display());
        }
        ctx.reporter.summary(
            &format!(
                "stopped following {src} for good: what its feed held on the server and the \
                 checkpoint {} are gone; the next --follow copies it again",
                checkpoint.display()
            ),
            Map::new(),
        );
        return Ok(Outcome::Done);
    }
    let (source, schema) = open_source(ctx, src).await?;
    let gone = !ctx.common.restart && destination_gone(&checkpoint, dst).await?;
    let target = ctx
        .opener
        .collection(dst, Access::Write, Some(&schema), true)
        .await?;
    ctx.reporter.start(&src.describe(), Some(&dst.describe()));
    let options = FollowOptions {
        checkpoint,
        batch_size: ctx.batch_size(),
        restart: ctx.common.restart,
        sink_made_anew: gone,
        create: true,
        delete: flags.delete,
        max_delete: flags.max_delete,
        spill: ctx.spill(),
    };
    let report = store_sync::follow(
        source.source(),
        feed.as_ref(),
        target.source(),
        target.sink()?,
        &options,
        &ctx.reporter,
        interrupted(),
    )
    .await?;
    let ended = if report.feed_ended {
        "the feed ended"
    } else {
        "stopped"
    };
    ctx.reporter.summary(
        &format!(
            "followed {src} into {dst}: {} copied, {} upserts and {} deletes applied, {} \
             resyncs; {ended}, checkpoint saved {}{}",
            report.copied,
            report.upserts,
            report.deletes,
            report.resyncs,
            ctx.reporter.took(),
            extra_note(&report)
        ),
        fields(&report),
    );
    Ok(Outcome::Done)
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
pub(crate) async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn extra_note(report: &FollowReport) -> String {
    if report.extra_kept == 0 {
        return String::new();
    }
    format!(
        " ({} records DST has and SRC lacks were kept: pass --delete to remove them)",
        report.extra_kept
    )
}

fn fields(report: &FollowReport) -> Map<String, serde_json::Value> {
    let mut fields = Map::new();
    fields.insert("copies".into(), report.copies.into());
    fields.insert("copied".into(), report.copied.into());
    fields.insert("upserts".into(), report.upserts.into());
    fields.insert("deletes".into(), report.deletes.into());
    fields.insert("resyncs".into(), report.resyncs.into());
    fields.insert("extra_kept".into(), report.extra_kept.into());
    fields.insert("feed_ended".into(), report.feed_ended.into());
    fields
}

/// Whether the checkpoint at `checkpoint` is this job's (it follows into `dst`) while `dst`, a
/// file, folder or DynamoDB table, is gone, so that opening it makes it anew: following on
/// would apply the feed's changes to an empty store, without what the first copy wrote.
async fn destination_gone(checkpoint: &std::path::Path, dst: &Location) -> Result<bool> {
    let Ok(text) = tokio::fs::read(checkpoint).await else {
        return Ok(false);
    };
    let job = serde_json::from_slice::<serde_json::Value>(&text)
        .ok()
        .and_then(|state| state["job"].as_str().map(str::to_owned))
        .unwrap_or_default();
    if !store_sync::job_writes_into(&job, &dst.describe()) {
        return Ok(false);
    }
    Ok(crate::open::exists(dst).await? == Some(false))
}
