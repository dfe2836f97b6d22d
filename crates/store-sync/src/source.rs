//! [`RecordSource`]: anything records can be read from, in batches, resumably.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use futures::stream::BoxStream;
use store_core::{Result, StoreError, Value};

use crate::digest::Comparison;
use crate::plan::PartitionPlan;
use crate::record::Record;
use crate::schema::CollectionSchema;

/// One share of a collection, `index` of `total`: N processes each given a different index read
/// the whole collection between them, each record exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    index: u32,
    total: u32,
}

impl Partition {
    /// Share `index` (from 0) of `total`.
    pub fn new(index: u32, total: u32) -> Result<Self> {
        if total == 0 || index >= total {
            return Err(StoreError::invalid_input(format!(
                "partition {index}/{total} does not exist: write I/N with 0 <= I < N"
            )));
        }
        Ok(Self { index, total })
    }

    /// The whole collection.
    pub const fn whole() -> Self {
        Self { index: 0, total: 1 }
    }

    /// This share's number, from 0.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// How many shares there are.
    pub fn total(&self) -> u32 {
        self.total
    }

    /// Whether this is the whole collection.
    pub fn is_whole(&self) -> bool {
        self.total == 1
    }

    /// Whether a record with this canonical key text belongs to this share, for sources that
    /// cannot split on the server: by the first eight bytes of the key's SHA-256.
    pub fn holds_id(&self, id: &str) -> bool {
        use sha2::{Digest as _, Sha256};
        if self.total == 1 {
            return true;
        }
        let hash = Sha256::digest(id.as_bytes());
        let n = u64::from_be_bytes(hash[..8].try_into().expect("eight bytes"));
        n % u64::from(self.total) == u64::from(self.index)
    }
}

impl Default for Partition {
    fn default() -> Self {
        Self::whole()
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

impl FromStr for Partition {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        let bad =
            || StoreError::invalid_input(format!("`{s}` is not a partition: write I/N, e.g. 0/4"));
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        Self::new(
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        )
    }
}

/// Records read together, and where reading continues after them.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The records.
    pub records: Vec<Record>,
    /// An opaque position after these records: handing it back to [`RecordSource::read`]
    /// continues with the next record. `None` when nothing follows.
    pub resume: Option<String>,
}

/// Records read together as rows: each record's attributes as values in the order of
/// `columns`, `NULL` where a record lacks one (what a table writes), and where reading
/// continues after them.
#[derive(Debug, Clone, PartialEq)]
pub struct RowBatch {
    /// The attributes, in order of first appearance among the records.
    pub columns: Vec<String>,
    /// One row per record, each as wide as `columns`.
    pub rows: Vec<Vec<Value>>,
    /// As [`Batch::resume`].
    pub resume: Option<String>,
}

/// Something records can be read from: a document table, a SQL table or query, a search
/// index, an archive.
#[async_trait]
pub trait RecordSource: Send + Sync {
    /// What this source is, for messages and checkpoints (never with a secret in it).
    fn describe(&self) -> String;

    /// How its values compare with another store's: [`Comparison::Json`] for sources that hold
    /// JSON only (search indexes).
    fn comparison(&self) -> Comparison {
        Comparison::Typed
    }

    /// The collection's shape.
    async fn schema(&self) -> Result<CollectionSchema>;

    /// About how many records the collection holds, when the source can tell cheaply (for a
    /// progress bar's ETA); `None` when it cannot.
    async fn estimated_count(&self) -> Result<Option<u64>> {
        Ok(None)
    }

    /// The records and bytes the whole source holds, for a progress bar that shows both:
    /// an archive tells them from its manifest, an object listing (which cannot estimate its
    /// size up front) counts them by listing a second time and keeping nothing. A copy asks
    /// beside itself, without waiting for the answer, only when its progress asks
    /// ([`Progress::wants_source_size`](crate::Progress::wants_source_size)). `None` by
    /// default.
    async fn size_for_progress(&self) -> Result<Option<(u64, u64)>> {
        Ok(None)
    }

    /// For progress, the bytes of `partition` that hold its records before `position` (a
    /// position a [`Batch`] of this source returned), when this source counts bytes: an
    /// archive answers from its manifest, the compressed parts before `position` plus the
    /// share of its part up to its line, so a resumed restore counts what earlier runs
    /// read. `None` (the default) for a store.
    fn bytes_before(&self, partition: Partition, position: &str) -> Option<u64> {
        let _ = (partition, position);
        None
    }

    /// Reads `partition` in batches of about `batch_size` records, from the start or from a
    /// position a previous batch returned, from one consistent view where the service has one.
    fn read(
        &self,
        partition: Partition,
        resume: Option<String>,
        batch_size: usize,
    ) -> BoxStream<'_, Result<Batch>>;

    /// Reads as [`read`](Self::read) does (the same batches, positions and checks), each
    /// batch as rows, when this source makes rows more cheaply than records (an archive
    /// decodes its lines straight into rows); `None` when it has no such path. A copy asks
    /// for rows when its sink writes them ([`RecordSink::takes_rows`](crate::RecordSink::takes_rows)).
    fn read_rows(
        &self,
        partition: Partition,
        resume: Option<String>,
        batch_size: usize,
    ) -> Option<BoxStream<'_, Result<RowBatch>>> {
        let _ = (partition, resume, batch_size);
        None
    }

    /// Whether this source's partitions are cut from its data (a SQL table's key ranges), so
    /// that every process of one partitioned job must read by one shared [`PartitionPlan`]
    /// ([`share_plan`](crate::share_plan)); `false` (the default) for sources that split by
    /// hash or by the service's own segments.
    fn plans_partitions(&self) -> bool {
        false
    }

    /// Cuts this source into `total` partitions from one consistent view of it.
    async fn cut_plan(&self, total: u32) -> Result<PartitionPlan> {
        let _ = total;
        Err(StoreError::unsupported(format!(
            "{} splits into partitions without a plan",
            self.describe()
        )))
    }

    /// Reads its partitions by `plan` from now on. A source that plans its partitions refuses
    /// a partitioned read without one.
    fn use_plan(&self, plan: &PartitionPlan) -> Result<()> {
        let _ = plan;
        Ok(())
    }
}
