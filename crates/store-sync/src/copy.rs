//! [`copy`]: every record of a source written to a sink, in batches, resumable from a
//! checkpoint.
//!
//! Delivery is at least once: a batch is written, the sink confirms it durable, and only then
//! does the checkpoint move past it. A copy killed at any point and started again with the same
//! checkpoint re-sends at most the one batch that was in flight, and since sinks write by key,
//! the result is the same as one uninterrupted copy.

use std::future::Future;
use std::path::PathBuf;

use futures::{Stream, StreamExt};
use store_core::{ErrorKind, Result, StoreError};

use crate::checkpoint::{Checkpoint, CheckpointFile};
use crate::plan::{PlanHome, check_stored_plan, resumed_by_another, share_plan};
use crate::progress::{Event, Progress, with_size_beside};
use crate::sink::{Receipt, RecordSink};
use crate::source::{Partition, RecordSource};

/// How a copy runs.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Records per batch (each batch is one checkpoint step).
    pub batch_size: usize,
    /// The share of the source this process copies.
    pub partition: Partition,
    /// Where the checkpoint lives; `None` copies without one.
    pub checkpoint: Option<PathBuf>,
    /// Ignore an existing checkpoint and start over.
    pub restart: bool,
    /// Create the sink's collection from the source's schema when it does not exist. A
    /// job resumed from a checkpoint whose earlier runs wrote records never creates it: a
    /// collection gone since is refused (`PreconditionFailed`), as going on would leave it
    /// without those records.
    pub create: bool,
    /// Where the processes of a partitioned job share their [`PartitionPlan`](crate::PartitionPlan),
    /// for a source that needs one (a SQL table), when the sink keeps none. A sink that keeps
    /// one ([`RecordSink::plan_home`]: an archive) is always used, so that every partition of
    /// one backup reads by the same plan.
    pub plan: Option<PlanHome>,
    /// What kind of copy the job is, when that matters to what it may write (a restore's
    /// `create-only`): kept in its checkpoint's job name, so a checkpoint another kind of job
    /// took (over a target this one would have refused) is refused.
    pub kind: Option<&'static str>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self {
            batch_size: 1_000,
            partition: Partition::whole(),
            checkpoint: None,
            restart: false,
            create: true,
            plan: None,
            kind: None,
        }
    }
}

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Records the sink confirmed, over every run of this job.
    pub records: u64,
    /// Records confirmed by earlier runs, before this one resumed.
    pub resumed_records: u64,
    /// Whether an earlier run had already finished the job (nothing was copied this time).
    pub already_done: bool,
}

/// The identity of a job, stored in its checkpoint.
pub(crate) fn job_name(verb: &str, source: &str, sink: &str, partition: Partition) -> String {
    format!("{verb} {source} -> {sink} partition {partition}")
}

/// Whether the job named `job` (in a checkpoint of a copy or a follower) writes into the sink
/// described as `sink`.
pub fn job_writes_into(job: &str, sink: &str) -> bool {
    job.contains(&format!(" -> {sink} partition "))
}

/// Copies every record of `partition` of `source` into `sink`.
///
/// The sink is prepared first (a pair with no mapping fails before anything is read). With a
/// checkpoint, an unfinished earlier run of the same job is resumed unless `restart` is set; a
/// checkpoint of a different job is refused. A resumed job first confirms that what its
/// earlier runs wrote is still there ([`RecordSink::confirm_resume`]: an archive's parts; the
/// sink's collection, which a resume does not create): if not, it fails with
/// `PreconditionFailed`, writing nothing. A finished job confirms the archive parts only.
pub async fn copy(
    source: &dyn RecordSource,
    sink: &dyn RecordSink,
    options: &CopyOptions,
    progress: &dyn Progress,
) -> Result<CopyReport> {
    if options.batch_size == 0 {
        return Err(StoreError::invalid_input(
            "the batch size must be at least 1",
        ));
    }
    let (file, mut state) = load_state(source, sink, options).await?;
    let resumed_records = state.records;
    let gone = |error| gone_since(error, file.as_ref(), resumed_records);
    if state.done {
        // Done, as long as what it wrote is there (an archive's parts).
        sink.confirm_resume(&state.receipts).await.map_err(gone)?;
        return Ok(CopyReport {
            records: state.records,
            resumed_records,
            already_done: true,
        });
    }
    let schema = source.schema().await?;
    let home = sink.plan_home().or_else(|| options.plan.clone());
    let read_by = state.plan.clone();
    check_stored_plan(source, options.partition, home.as_ref(), read_by.as_deref()).await?;
    if resumed_records > 0 {
        // What earlier runs wrote must still be there: a collection made again now, or an
        // archive part gone, would lose their records while the copy reports them copied.
        sink.confirm_resume(&state.receipts).await.map_err(gone)?;
        sink.prepare_load(&schema, false).await.map_err(gone)?;
    } else {
        sink.prepare_load(&schema, options.create).await?;
    }
    if let Some(plan) = share_plan(source, options.partition, home.as_ref()).await? {
        let digest = plan.digest();
        // Checked before the sink was prepared; made again meanwhile, it is refused here.
        if read_by.is_some_and(|read_by| read_by != digest) {
            let home = home.as_ref().expect("a plan comes from a home");
            return Err(resumed_by_another(home));
        }
        sink.read_by_plan(&digest);
        state.plan = Some(digest);
    }
    // Only a whole-source copy can compare its progress with the source's size.
    let whole = options.partition.is_whole();
    let estimated_total = if whole {
        source.estimated_count().await.ok().flatten()
    } else {
        None
    };
    progress.event(&Event::Started {
        source: source.describe(),
        sink: sink.describe(),
        resumed_records,
        estimated_total,
    });
    // The source's records and bytes, beside the copy.
    let counting = whole && progress.wants_source_size();
    let size = async {
        if counting {
            source.size_for_progress().await
        } else {
            Ok(None)
        }
    };
    let writing = write_all(source, sink, options, &mut state, file.as_ref(), progress);
    with_size_beside(progress, size, writing).await?;
    sink.finish(state.receipts.clone()).await?;
    state.done = true;
    if let Some(file) = &file {
        file.save(&state).await?;
    }
    Ok(CopyReport {
        records: state.records,
        resumed_records,
        already_done: false,
    })
}

/// `error` from a sink asked to resume a job (its collection gone, say), as the refusal to
/// resume: the `records` earlier runs wrote there, as `file` says, are not all there now.
fn gone_since(error: StoreError, file: Option<&CheckpointFile>, records: u64) -> StoreError {
    let checkpoint = file.map_or_else(String::new, |f| format!(" {}", f.path().display()));
    let refusal = || {
        format!(
            "{}; the checkpoint{checkpoint} says earlier runs of this job wrote {records} records \
         there, so going on from it would lose them: run again with --restart to copy everything",
            error.message()
        )
    };
    match error.kind() {
        ErrorKind::NotFound | ErrorKind::PreconditionFailed => {
            StoreError::precondition_failed(refusal())
        }
        // Not an answer about what is there (a timeout, say): the error as it is.
        _ => error,
    }
}

/// The checkpoint file of a copy with `options` (if it keeps one) and the state it starts
/// from: the file's, unless `restart` is set or there is none; a checkpoint of another job is
/// refused.
async fn load_state(
    source: &dyn RecordSource,
    sink: &dyn RecordSink,
    options: &CopyOptions,
) -> Result<(Option<CheckpointFile>, Checkpoint)> {
    let verb = match options.kind {
        Some(kind) => format!("copy {kind}"),
        None => "copy".to_owned(),
    };
    let job = job_name(
        &verb,
        &source.describe(),
        &sink.describe(),
        options.partition,
    );
    let file = options.checkpoint.clone().map(CheckpointFile::new);
    let state = match &file {
        Some(file) if !options.restart => match file.load().await? {
            Some(found) if found.job != job => {
                return Err(StoreError::invalid_input(format!(
                    "the checkpoint {} belongs to another job ({}); pass --restart to replace it",
                    file.path().display(),
                    found.job
                )));
            }
            Some(found) => found,
            None => Checkpoint::new(&job),
        },
        _ => Checkpoint::new(&job),
    };
    Ok((file, state))
}

/// Where a copy with `options` would start, as its checkpoint says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyPosition {
    /// From the beginning (no checkpoint, a new one, or `restart`).
    Start,
    /// After `records` records an earlier run wrote, reading on after `resume`.
    Resume {
        /// Records the sink confirmed in earlier runs.
        records: u64,
        /// The source position to read on from (as [`RecordSource::read`] takes it).
        resume: Option<String>,
    },
    /// Nowhere: an earlier run finished the job, having written `records` records.
    Done {
        /// Records the job wrote.
        records: u64,
    },
}

/// Where [`copy`] with these arguments would start, reading its checkpoint and writing
/// nothing (a checkpoint of another job is refused, as the copy refuses it): for a dry run to
/// count what the real run would copy.
pub async fn copy_position(
    source: &dyn RecordSource,
    sink: &dyn RecordSink,
    options: &CopyOptions,
) -> Result<CopyPosition> {
    let (_, state) = load_state(source, sink, options).await?;
    Ok(if state.done {
        CopyPosition::Done {
            records: state.records,
        }
    } else if state.records > 0 || state.resume.is_some() {
        CopyPosition::Resume {
            records: state.records,
            resume: state.resume,
        }
    } else {
        CopyPosition::Start
    })
}

/// Writes every batch of `source` into `sink` from where `state` stands, saving `state` (in
/// `file`, when there is one) after each.
async fn write_all(
    source: &dyn RecordSource,
    sink: &dyn RecordSink,
    options: &CopyOptions,
    state: &mut Checkpoint,
    file: Option<&CheckpointFile>,
    progress: &dyn Progress,
) -> Result<()> {
    // A sink that writes rows is handed rows by a source that makes them more cheaply than
    // records (an archive restored into a table).
    let resume = state.resume.clone();
    let rows = if sink.takes_rows() {
        source.read_rows(options.partition, resume.clone(), options.batch_size)
    } else {
        None
    };
    let to_write = Checkpointing {
        state,
        file,
        progress,
        source,
        partition: options.partition,
        sink,
    };
    match rows {
        Some(batches) => {
            let steps = batches.map(|b| {
                b.map(|b| Step {
                    count: b.rows.len() as u64,
                    resume: b.resume.clone(),
                    payload: b,
                })
            });
            to_write.run(steps, |b| sink.upsert_rows(b)).await
        }
        None => {
            let batches = source.read(options.partition, resume, options.batch_size);
            let steps = batches.map(|b| {
                b.map(|b| Step {
                    count: b.records.len() as u64,
                    payload: b.records,
                    resume: b.resume,
                })
            });
            to_write.run(steps, |records| sink.upsert(records)).await
        }
    }
}

/// One batch read: what the sink is given, how many records it holds, and where reading
/// continues after it.
struct Step<P> {
    payload: P,
    count: u64,
    resume: Option<String>,
}

/// A copy's state as its batches are written, saved after each.
struct Checkpointing<'a> {
    state: &'a mut Checkpoint,
    file: Option<&'a CheckpointFile>,
    progress: &'a dyn Progress,
    /// Asked after each batch for the bytes that held the records confirmed so far, for the
    /// progress, when the sink does not count what it writes.
    source: &'a dyn RecordSource,
    /// The share of the source this copy reads.
    partition: Partition,
    /// Asked after each batch for the bytes it has written, for the progress.
    sink: &'a dyn RecordSink,
}

impl Checkpointing<'_> {
    /// Writes every batch of `steps` with `write`, reading the following batch while one is
    /// written; the checkpoint moves past a batch once `write` confirmed it.
    async fn run<P, F>(
        self,
        steps: impl Stream<Item = Result<Step<P>>>,
        write: impl Fn(P) -> F,
    ) -> Result<()>
    where
        F: Future<Output = Result<Receipt>>,
    {
        let mut steps = std::pin::pin!(steps);
        let mut next = steps.next().await;
        while let Some(step) = next {
            let step = step?;
            // Read the following batch while this one is written.
            let (written, following) = if step.count == 0 {
                (Ok(serde_json::Value::Null), steps.next().await)
            } else {
                futures::join!(write(step.payload), steps.next())
            };
            let receipt = written?;
            self.state.records += step.count;
            self.state.batches += 1;
            if !receipt.is_null() {
                self.state.receipts.push(receipt);
            }
            self.state.resume = step.resume;
            if let Some(file) = self.file {
                file.save(self.state).await?;
            }
            let bytes = self.sink.bytes_written().or_else(|| {
                let position = self.state.resume.as_deref()?;
                self.source.bytes_before(self.partition, position)
            });
            self.progress.event(&Event::Progress {
                records: self.state.records,
                batch: step.count,
                bytes,
            });
            next = following;
        }
        Ok(())
    }
}
