//! [`RecordSink`]: anything records can be written to, idempotently by key.

use async_trait::async_trait;
use store_core::{Result, StoreError};

use crate::digest::Comparison;
use crate::plan::PlanHome;
use crate::record::{Record, RecordKey};
use crate::schema::CollectionSchema;
use crate::source::RowBatch;

/// What a sink hands back for a batch it has durably written; the copy keeps them in its
/// checkpoint and gives them all to [`RecordSink::finish`] (an archive lists its parts from them).
pub type Receipt = serde_json::Value;

/// Something records can be written to. Writes are upserts keyed by the record key, so sending
/// a record twice leaves the same state as sending it once.
#[async_trait]
pub trait RecordSink: Send + Sync {
    /// What this sink is, for messages and checkpoints (never with a secret in it).
    fn describe(&self) -> String;

    /// How its values compare with another store's (see [`RecordSource::comparison`](crate::RecordSource::comparison)).
    fn comparison(&self) -> Comparison {
        Comparison::Typed
    }

    /// Checks that records of `schema` can be written here, creating the collection when it
    /// does not exist and `create` is true. A pair with no mapping is an error here, before
    /// anything is read.
    async fn prepare(&self, schema: &CollectionSchema, create: bool) -> Result<()>;

    /// [`prepare`](Self::prepare) for a load that ends with [`finish`](Self::finish) (a copy
    /// or a restore): a collection the sink creates may be left without what only slows the
    /// writes down, built in `finish` (a PostgreSQL table gets its primary key after its
    /// rows, as `pg_restore` does). The default is `prepare`.
    async fn prepare_load(&self, schema: &CollectionSchema, create: bool) -> Result<()> {
        self.prepare(schema, create).await
    }

    /// Writes records (insert or replace by key). Returns once they are durable in the sink.
    async fn upsert(&self, records: Vec<Record>) -> Result<Receipt>;

    /// Checks, writing nothing, what [`upsert`](Self::upsert) checks of records before it
    /// writes any (a key's type, an id's length): a dry run asks, so that it refuses what the
    /// real run would. The default checks nothing.
    fn check_writable(&self, records: &[Record]) -> Result<()> {
        let _ = records;
        Ok(())
    }

    /// The bytes this sink has written so far (this run), for progress, when it counts
    /// them: an archive counts its compressed parts and, for objects, their bodies. `None`
    /// (the default) for a store, whose bytes on disk only it knows.
    fn bytes_written(&self) -> Option<u64> {
        None
    }

    /// The records per batch this sink writes best, for a caller with no batch size of its
    /// own (the `stores` command without `--batch-size`). `None` (the default): no
    /// preference. A PostgreSQL table prefers large batches: each is one `COPY` and its
    /// commit, a fixed cost the rows share.
    fn preferred_batch_size(&self) -> Option<usize> {
        None
    }

    /// Whether this sink writes rows ([`upsert_rows`](Self::upsert_rows)) as well as
    /// records: a table does.
    fn takes_rows(&self) -> bool {
        false
    }

    /// Writes records given as rows, as [`upsert`](Self::upsert) writes the records they
    /// were read as. Only called on a sink that [`takes_rows`](Self::takes_rows).
    async fn upsert_rows(&self, batch: RowBatch) -> Result<Receipt> {
        let _ = batch;
        Err(StoreError::unsupported(format!(
            "{} does not write rows",
            self.describe()
        )))
    }

    /// Deletes records by key; a key that is not there is not an error.
    async fn delete(&self, keys: Vec<RecordKey>) -> Result<()>;

    /// The keys of the records held here that equal any of `keys` by the sink's own
    /// comparison, as the sink holds them. A sink that compares keys exactly (the default)
    /// holds no record matching a key it does not hold exactly, and answers none; a SQL table
    /// whose key column ignores case or trailing blanks answers the rows an upsert of `keys`
    /// writes over, which a sync must not delete as missing from the source.
    async fn keys_matching(&self, keys: &[RecordKey]) -> Result<Vec<RecordKey>> {
        let _ = keys;
        Ok(Vec::new())
    }

    /// Whether [`RecordSink::keys_matching`] may answer keys other than those asked: `false`
    /// (the default) lets a sync skip remembering the keys it created.
    fn may_match_keys_loosely(&self) -> bool {
        false
    }

    /// Where the processes of a partitioned job writing here keep their shared
    /// [`PartitionPlan`](crate::PartitionPlan) when none is given: an archive keeps it among its
    /// files. `None` (the default) for sinks with no room for it.
    fn plan_home(&self) -> Option<PlanHome> {
        None
    }

    /// Told, before the first batch of every run (a resumed one too), the
    /// [digest](crate::PartitionPlan::digest) of the partition plan its records are read by:
    /// an archive keeps it in its partition's manifest and refuses to merge partitions read
    /// by different plans. Not called when no plan cuts the source; ignored by default.
    fn read_by_plan(&self, digest: &str) {
        let _ = digest;
    }

    /// Checks, before a copy resumes, that what earlier runs of the job wrote here (their
    /// `receipts`) is still here: an archive checks that its parts are. The default checks
    /// nothing (a store's records cannot be told from another writer's).
    async fn confirm_resume(&self, receipts: &[Receipt]) -> Result<()> {
        let _ = receipts;
        Ok(())
    }

    /// Called once after the last batch, with every receipt of the job (across resumes).
    async fn finish(&self, receipts: Vec<Receipt>) -> Result<()> {
        let _ = receipts;
        Ok(())
    }
}

/// `error`, about the record keyed `key`, saying so: what a sink's check of a record before
/// writing returns.
pub(crate) fn refused_record(key: &RecordKey, error: StoreError) -> StoreError {
    StoreError::new(
        error.kind(),
        format!(
            "the record keyed {}: {}",
            key.shown_brief(),
            error.message()
        ),
    )
}
