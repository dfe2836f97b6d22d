//! The commands, one module each, and what they share.

mod backup;
mod check;
mod copy;
mod dry_share;
mod follow;
mod ls;
mod restore;

use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::{Map, Value as Json};
use store_core::StoreError;
use store_sync::{
    CheckpointFile, CopyOptions, CopyReport, Partition, PlanHome, RecordSink, SyncReport,
};

use crate::cli::{Cli, Command, Common};
use crate::location::Location;
use crate::open::Opener;
use crate::output::Reporter;

/// What a command needs: the shared flags, where it reports, and how it opens locations.
#[derive(Debug)]
pub(crate) struct Context {
    /// The flags every command takes.
    pub(crate) common: Common,
    /// Where events and summaries go.
    pub(crate) reporter: Reporter,
    /// Opens locations.
    pub(crate) opener: Opener,
}

/// Records per batch when neither `--batch-size` nor the sink says otherwise.
const DEFAULT_BATCH_SIZE: usize = 5_000;

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It did its job (check: both sides are equal).
    Done,
    /// `check` found differences (exit code 2).
    Differences,
}

/// Runs the command line's command.
pub(crate) async fn run(cli: Cli) -> Result<ExitCode> {
    if let Command::Tour { args } = &cli.command {
        // The tour's own code for a bad argument is 2; here 2 means differences, so it is 1.
        let code = match stores_tour::main_with_args(args.clone(), "stores tour").await {
            0 => ExitCode::SUCCESS,
            _ => ExitCode::FAILURE,
        };
        return Ok(code);
    }
    let ctx = Context {
        reporter: Reporter::new(cli.command.name(), cli.common.json),
        opener: Opener {
            key_fields: cli.common.keys.clone(),
            rate_limit: cli.common.rate_limit,
        },
        common: cli.common,
    };
    let takes_checkpoint = !matches!(cli.command, Command::Check { .. } | Command::Ls { .. });
    if takes_checkpoint
        && (ctx.common.restart || ctx.common.resume)
        && ctx.common.checkpoint.is_none()
    {
        // check and ls say that they take no checkpoint at all.
        bail!("--restart and --resume act on a checkpoint: add --checkpoint FILE");
    }
    let outcome = match &cli.command {
        Command::Copy { src, dst } => {
            let (src, dst) = apart(src, dst, &ctx)?;
            copy::copy(&ctx, &src, &dst).await?
        }
        Command::Sync {
            src,
            dst,
            delete,
            max_delete,
            follow,
            poll_interval,
            cleanup,
            watermark,
            lag_window,
        } => {
            let options = copy::SyncFlags {
                delete: *delete,
                max_delete: *max_delete,
            };
            if !*follow {
                // Said before the paths are looked at: the flags are the first mistake.
                ctx.refuse("sync", true, true)?;
                if max_delete.is_some() && !*delete {
                    bail!(
                        "--max-delete bounds what --delete deletes: add --delete, or drop \
                         --max-delete"
                    );
                }
            }
            let (src, dst) = apart(src, dst, &ctx)?;
            if *follow {
                let flags = follow::FollowFlags {
                    feed: crate::open::FeedSettings {
                        poll: follow::seconds("--poll-interval", *poll_interval, false)?,
                        watermark: watermark.clone(),
                        lag_window: follow::seconds("--lag-window", *lag_window, true)?,
                    },
                    cleanup: *cleanup,
                };
                follow::follow(&ctx, &src, &dst, options, flags).await?
            } else {
                copy::sync(&ctx, &src, &dst, options).await?
            }
        }
        Command::Backup { src, archive } => {
            let (src, archive) = apart(src, archive, &ctx)?;
            backup::backup(&ctx, &src, &archive).await?
        }
        Command::Restore {
            archive,
            dst,
            mode,
            yes,
            data_only,
        } => {
            let flags = restore::RestoreFlags {
                mode: *mode,
                yes: *yes,
                data_only: *data_only,
            };
            let (archive, dst) = apart(archive, dst, &ctx)?;
            restore::restore(&ctx, &archive, &dst, flags).await?
        }
        Command::Check { a, b } => check::check(&ctx, &parse(a)?, &parse(b)?).await?,
        Command::Ls { url } => ls::ls(&ctx, &parse(url)?).await?,
        Command::Tour { .. } => unreachable!("handled above"),
    };
    Ok(match outcome {
        Outcome::Done => ExitCode::SUCCESS,
        Outcome::Differences => ExitCode::from(2),
    })
}

fn parse(text: &str) -> Result<Location> {
    Ok(text.parse::<Location>()?)
}

/// The source and destination of a copy, sync, backup or restore, refused when they are one
/// embedded store (one redb file, one tantivy index: it would write what it reads, and its
/// one writer's lock would say only that the store is busy), or two folders one inside the
/// other (a copy into `src/objects/x` damages the store `src`); and the job's checkpoint
/// file, refused inside either.
fn apart(src: &str, dst: &str, ctx: &Context) -> Result<(Location, Location)> {
    let (src, dst) = (parse(src)?, parse(dst)?);
    if src.is_same_file_store(&dst) {
        anyhow::bail!("{src} and {dst} are one store: a copy into itself writes what it reads");
    }
    if src.is_nested_folder(&dst) {
        anyhow::bail!(
            "{src} and {dst} are folders one inside the other: writing one would change the \
             other's files; name folders apart"
        );
    }
    if let Some(checkpoint) = &ctx.common.checkpoint {
        check_checkpoint_path(checkpoint, [&src, &dst])?;
    }
    Ok((src, dst))
}

/// Refuses a checkpoint file that is a folder, in a missing folder, or inside one of the
/// stores of its job (saving it would change the store's own files).
fn check_checkpoint_path(checkpoint: &std::path::Path, stores: [&Location; 2]) -> Result<()> {
    let shown = checkpoint.display();
    if let Some(store) = stores
        .into_iter()
        .find(|store| store.holds_path(checkpoint))
    {
        bail!(
            "--checkpoint {shown} is inside {store}: saving it would change the store's files; \
             keep the checkpoint outside the stores of its job"
        );
    }
    if checkpoint.is_dir() {
        bail!("--checkpoint {shown} is a folder; name a file (made if missing) in a folder");
    }
    let parent = match checkpoint.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    if !parent.is_dir() {
        bail!(
            "--checkpoint {shown}: the folder {} does not exist; create it first",
            parent.display()
        );
    }
    Ok(())
}

impl Context {
    /// The batch size: `--batch-size`, else [`DEFAULT_BATCH_SIZE`].
    fn batch_size(&self) -> usize {
        self.common.batch_size.map_or(DEFAULT_BATCH_SIZE, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        })
    }

    /// The batch size of a copy into `sink`: `--batch-size`, else the size the sink writes
    /// best, else [`DEFAULT_BATCH_SIZE`].
    fn batch_size_into(&self, sink: &dyn RecordSink) -> usize {
        match self.common.batch_size {
            Some(_) => self.batch_size(),
            None => sink.preferred_batch_size().unwrap_or(DEFAULT_BATCH_SIZE),
        }
    }

    /// Runs `work` until it ends or the process is interrupted (Ctrl-C, SIGTERM); then `work`
    /// is dropped, which removes the temporary files it spilled, and the command fails
    /// saying so. What was written before stays.
    async fn until_interrupted<T>(
        &self,
        work: impl std::future::Future<Output = store_core::Result<T>>,
    ) -> Result<T> {
        tokio::select! {
            done = work => Ok(done?),
            () = follow::interrupted() => bail!("interrupted; what was written before stays"),
        }
    }

    /// How many keys sync and check hold in memory, and where the rest spill.
    fn spill(&self) -> store_sync::SpillOptions {
        store_sync::SpillOptions {
            in_memory_keys: usize::try_from(self.common.in_memory_keys).unwrap_or(usize::MAX),
            dir: self.common.spill_dir.clone(),
        }
    }

    /// The partition (the whole collection by default).
    fn partition(&self) -> Partition {
        self.common.partition.unwrap_or_default()
    }

    /// Options from the flags for a copy into `sink`.
    async fn copy_options(&self, create: bool, sink: &dyn RecordSink) -> Result<CopyOptions> {
        Ok(CopyOptions {
            batch_size: self.batch_size_into(sink),
            partition: self.partition(),
            checkpoint: self.common.checkpoint.clone(),
            restart: self.common.restart,
            create,
            plan: self.plan_home().await?,
            kind: None,
        })
    }

    /// Where `--plan` says the partitions keep their plan.
    async fn plan_home(&self) -> Result<Option<PlanHome>> {
        match &self.common.plan {
            Some(url) => Ok(Some(self.opener.plan_home(&parse(url)?).await?)),
            None => Ok(None),
        }
    }

    /// Refuses flags a command does not use, rather than ignoring them.
    fn refuse(&self, command: &str, partition: bool, checkpoint: bool) -> Result<()> {
        if partition && self.common.partition.is_some() {
            bail!("{command} does not take --partition: it works on whole collections");
        }
        if checkpoint && (self.common.checkpoint.is_some() || self.common.restart) {
            let instead = match command {
                "ls" => "it lists, writing nothing, and has nothing to resume",
                _ => "it compares both sides instead of resuming",
            };
            bail!("{command} does not take --checkpoint or --restart: {instead}");
        }
        Ok(())
    }
}

impl Context {
    /// Refuses, before `dst` is opened (so that nothing is made there), a job whose
    /// checkpoint says earlier runs wrote into `dst` when `dst` is gone (a file, folder,
    /// archive folder or DynamoDB table deleted since): going on from the checkpoint would
    /// copy only the rest, or nothing, and report everything copied. A dry run refuses as the
    /// real run does. A table or index dropped from a store that is still there is refused by
    /// the copy itself, which resumes without creating it.
    async fn refuse_gone(&self, dst: &Location) -> Result<()> {
        let (Some(path), false) = (&self.common.checkpoint, self.common.restart) else {
            return Ok(());
        };
        let Some(state) = CheckpointFile::new(path).load().await? else {
            return Ok(());
        };
        // A checkpoint of another job is the copy's to refuse, as such.
        let ours = store_sync::job_writes_into(&state.job, &dst.describe());
        if !ours || (state.records == 0 && !state.done) {
            return Ok(());
        }
        if crate::open::exists(dst).await? != Some(false) {
            return Ok(());
        }
        if state.done {
            return Err(done_into_new(dst));
        }
        Err(StoreError::precondition_failed(format!(
            "the checkpoint {} says earlier runs of this job wrote {} records into {dst}, but \
             {dst} does not exist: what they wrote is gone, and resuming would leave it \
             without them; run again with --restart to copy everything",
            path.display(),
            state.records
        ))
        .into())
    }
}

/// The refusal of a finished job whose destination is gone.
fn done_into_new(dst: &Location) -> anyhow::Error {
    StoreError::precondition_failed(format!(
        "the checkpoint says this job finished, but {dst} does not exist: what the job wrote \
         is gone; run again with --restart to copy everything again"
    ))
    .into()
}

/// The dry run of a copy whose checkpoint says an earlier run finished it (writing
/// `records` records or objects, the `unit`), summed up as copying nothing, with the copy's
/// fields and `extra` (one whose `dst` is gone since was refused by
/// [`Context::refuse_gone`] before).
fn dry_run_of_finished(
    ctx: &Context,
    src: &Location,
    dst: &Location,
    records: u64,
    unit: &str,
    extra: Map<String, Json>,
) -> Result<Outcome> {
    let report = CopyReport {
        records,
        resumed_records: records,
        already_done: true,
    };
    let mut fields = copy_fields(&report, ctx.partition());
    fields.insert("dry_run".into(), true.into());
    fields.extend(extra);
    ctx.reporter.summary(
        &format!(
            "would copy nothing from {src} to {dst}: the checkpoint says an earlier run \
             finished the job ({records} {unit})"
        ),
        fields,
    );
    Ok(Outcome::Done)
}

/// `(resumed after N records)` and similar notes on a copy's summary.
fn copy_notes(report: &CopyReport, partition: Partition) -> String {
    let mut notes = Vec::new();
    if report.already_done {
        notes.push("already done by an earlier run: nothing copied".to_owned());
    } else if report.resumed_records > 0 {
        notes.push(format!("resumed after {} records", report.resumed_records));
    }
    if !partition.is_whole() {
        notes.push(format!("partition {partition}"));
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join(", "))
    }
}

/// A copy report's summary fields.
fn copy_fields(report: &CopyReport, partition: Partition) -> Map<String, Json> {
    let mut fields = Map::new();
    fields.insert("records".into(), report.records.into());
    fields.insert("resumed_records".into(), report.resumed_records.into());
    fields.insert("already_done".into(), report.already_done.into());
    fields.insert("partition".into(), partition.to_string().into());
    fields.insert("dry_run".into(), false.into());
    fields
}

/// A sync report's summary fields.
fn sync_fields(report: &SyncReport, dry_run: bool) -> Map<String, Json> {
    let mut fields = Map::new();
    fields.insert("created".into(), report.created.into());
    fields.insert("updated".into(), report.updated.into());
    fields.insert("unchanged".into(), report.unchanged.into());
    fields.insert("deleted".into(), report.deleted.into());
    fields.insert("extra_kept".into(), report.extra_kept.into());
    fields.insert("dry_run".into(), dry_run.into());
    fields
}

/// `2 new, 1 changed, 7 equal, 0 deleted`, for summaries.
fn sync_counts(report: &SyncReport, dry_run: bool) -> String {
    let (deleted, kept) = if dry_run {
        ("to delete", "extra kept")
    } else {
        ("deleted", "extra kept")
    };
    format!(
        "{} new, {} changed, {} already equal, {} {deleted}, {} {kept}",
        report.created, report.updated, report.unchanged, report.deleted, report.extra_kept
    )
}
