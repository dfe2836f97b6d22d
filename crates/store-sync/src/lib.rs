#![doc = include_str!("../README.md")]
//!
//! ## API at a glance
//!
//! store-sync depends on store-core only: backends are handed in as trait objects, wrapped as
//! a [`RecordSource`] (something records are read from) and a [`RecordSink`] (something they
//! are written to). A table row, a document and a search document are all a [`Record`]: a key
//! and a [`Document`](store_core::Document), so any keyed collection copies into any other whose
//! key matches. Objects move between object stores with [`objects`].
//!
//! What is promised:
//! - **At least once, converging.** Sinks write by key (upsert), so a record sent twice leaves
//!   the state of sending it once; per-key order is kept; no global order is claimed.
//! - **Checkpoints that never run ahead.** [`copy`] saves its position only after the sink
//!   confirmed the batch before it; a killed copy resumes and re-sends at most one batch.
//! - **Exact values.** Numbers keep every digit, bytes stay bytes, sets stay sets — in the
//!   archive's [typed JSON](codec) too.
//! - **Followable.** [`follow`] keeps a sink in step with a source's change feed
//!   ([`store_core::feed::ChangeFeed`]: DynamoDB Streams, PostgreSQL logical replication):
//!   position first, then a copy, then the changes, acknowledged only once applied.
//! - **Verifiable.** [`check`] compares two collections of any kinds by count, keys and an
//!   order-independent digest ([`digest`]).

pub mod archive;
mod batch_bytes;
mod check;
mod checkpoint;
pub mod codec;
mod copy;
pub mod digest;
mod files;
mod follow;
mod kinds;
pub mod objects;
mod plan;
mod progress;
mod record;
mod schema;
mod sink;
mod source;
mod spill;
mod sync;
mod task;

pub use archive::{
    ArchiveSink, ArchiveSource, ObjectArchiveSink, ObjectListing, ObjectRestoreSink,
};
pub use batch_bytes::BATCH_BYTES;
pub use check::{CheckReport, Differences, SAMPLE_LIMIT, check, check_with, comparison_for};
pub use checkpoint::{CHECKPOINT_VERSION, Checkpoint, CheckpointFile};
pub use copy::{CopyOptions, CopyPosition, CopyReport, copy, copy_position, job_writes_into};
pub use digest::{CollectionDigest, Comparison, RecordDigest};
pub use follow::{FollowOptions, FollowReport, follow};
pub use kinds::documents::DocumentCollection;
pub use kinds::query::SqlQuery;
pub use kinds::search::{
    ReadOrder, Scanner, SearchCollection, SliceScanner, SlicedHit, default_spec,
};
pub use kinds::table::SqlTable;
pub use plan::{PartitionPlan, PlanHome, preview_plan, share_plan};
pub use progress::{Event, Progress, Silent};
pub use record::{Record, RecordKey, canonical_number};
pub use schema::{CollectionSchema, Column, KeyField, TableOption};
pub use sink::{Receipt, RecordSink};
pub use source::{Batch, Partition, RecordSource, RowBatch};
pub use spill::SpillOptions;
pub use sync::{SyncOptions, SyncReport, sync};
