//! [`Progress`]: what a running job reports, for progress bars and JSON event streams.

use store_core::Result;

/// One thing a job reports. More kinds of event may come: match with a wildcard arm.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The job started (or resumed, with the records already confirmed before).
    Started {
        /// The source.
        source: String,
        /// The sink.
        sink: String,
        /// Records confirmed by earlier runs of this job.
        resumed_records: u64,
        /// About how many records the source holds (the whole source, not one partition),
        /// when it can tell.
        estimated_total: Option<u64>,
    },
    /// A batch was confirmed by the sink.
    Progress {
        /// Records confirmed so far (earlier runs included); for objects, objects copied or
        /// found equal.
        records: u64,
        /// Records in this batch (objects since the last event).
        batch: u64,
        /// Bytes done, when the job counts them: an object transfer counts the objects in
        /// `records`, a backup what it has written into the archive this run (compressed
        /// parts, and the bodies of objects), a restore the archive's parts it has read;
        /// `None` otherwise.
        bytes: Option<u64>,
    },
    /// The size of the whole source, learnt while the job runs, when its [`Progress`] asks
    /// for it ([`Progress::wants_source_size`]): an object transfer (or a backup of objects)
    /// lists its source a second time beside the copy, only counting (not in a dry run); an
    /// archive tells it from its manifest (see
    /// [`RecordSource::size_for_progress`](crate::RecordSource::size_for_progress)).
    Sized {
        /// Objects (or records) the source holds.
        records: u64,
        /// Their bytes.
        bytes: u64,
    },
    /// Following a change feed: a batch of changes was applied and its position saved.
    Applied {
        /// Changes applied in this batch (after keeping each key's last change).
        changes: u64,
        /// Changes applied since the follower started (this run).
        total: u64,
        /// Seconds between the source making the batch's last change and its application,
        /// when the feed reports change times (0 when caught up).
        lag_seconds: Option<f64>,
        /// Changes the feed knows are still waiting, when it can tell (0 when caught up).
        pending: Option<u64>,
    },
    /// Following a change feed: the feed lost its position and the whole source is copied
    /// again before following resumes.
    Resync {
        /// What the feed lost.
        reason: String,
    },
}

/// Receives a job's events; the default does nothing.
pub trait Progress: Send + Sync {
    /// Called for each event, in order.
    fn event(&self, event: &Event) {
        let _ = event;
    }

    /// Whether a job whose source's size is not known up front (objects under a prefix)
    /// should count it with a second listing, for an [`Event::Sized`]; `false` by default,
    /// so a job nobody watches lists once.
    fn wants_source_size(&self) -> bool {
        false
    }
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {}

/// Runs `job` with the source's size counted beside it by `size`, whose answer is reported
/// as an [`Event::Sized`] (a failed count only costs the estimate: the job reports its own
/// errors). `size` is polled first, so an answer ready at once comes before any progress;
/// the job does not wait for it, and a job done first drops it.
pub(crate) async fn with_size_beside<T>(
    progress: &dyn Progress,
    size: impl Future<Output = Result<Option<(u64, u64)>>>,
    job: impl Future<Output = T>,
) -> T {
    let sizing = std::pin::pin!(async {
        if let Ok(Some((records, bytes))) = size.await {
            progress.event(&Event::Sized { records, bytes });
        }
    });
    let job = std::pin::pin!(job);
    match futures::future::select(sizing, job).await {
        futures::future::Either::Left(((), job)) => job.await,
        futures::future::Either::Right((done, _)) => done,
    }
}
