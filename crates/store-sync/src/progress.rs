//! [`Progress`]: what a running job reports, for progress bars and JSON event streams.

/// One thing a job reports.
#[derive(Debug, Clone, PartialEq)]
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
        /// Records confirmed so far (earlier runs included).
        records: u64,
        /// Records in this batch.
        batch: u64,
    },
}

/// Receives a job's events; the default does nothing.
pub trait Progress: Send + Sync {
    /// Called for each event, in order.
    fn event(&self, event: &Event) {
        let _ = event;
    }
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {}
