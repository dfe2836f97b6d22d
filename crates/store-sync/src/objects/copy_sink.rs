//! [`ObjectCopySink`]: objects copied by the checkpointed [`copy`](crate::copy), so an object
//! copy resumes after a crash and splits into partitions as any other copy does.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use store_core::{Result, StoreError};

use super::{ObjectLocation, copy_object, refuse_overlap};
use crate::archive::{OBJECT_CONCURRENCY, delete_listed, listed_text};
use crate::record::{Record, RecordKey};
use crate::schema::CollectionSchema;
use crate::sink::{Receipt, RecordSink};

/// Writes the objects an [`ObjectListing`](crate::ObjectListing) of `from` lists to the same
/// relative keys under `to`, each body streamed from `from` with its content type and user
/// metadata; a batch counts as written once every object in it is stored.
///
/// ```no_run
/// # async fn run(from: store_sync::objects::ObjectLocation, to: store_sync::objects::ObjectLocation) -> store_core::Result<()> {
/// use store_sync::objects::ObjectCopySink;
/// use store_sync::{CopyOptions, ObjectListing, Silent, copy};
///
/// let options = CopyOptions {
///     checkpoint: Some("photos.checkpoint.json".into()),
///     ..CopyOptions::default()
/// };
/// let listing = ObjectListing::new(from.clone());
/// copy(&listing, &ObjectCopySink::new(from, to), &options, &Silent).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ObjectCopySink {
    from: ObjectLocation,
    to: ObjectLocation,
    /// The bytes of the bodies written so far.
    bytes: Arc<AtomicU64>,
}

impl ObjectCopySink {
    /// Copies objects listed under `from` into `to`.
    pub fn new(from: ObjectLocation, to: ObjectLocation) -> Self {
        Self {
            from,
            to,
            bytes: Arc::default(),
        }
    }

    async fn copy(&self, record: Record) -> Result<()> {
        let relative = listed_text(&record, "key")?;
        let size = copy_object(&self.from, &self.to, &relative).await?;
        self.bytes.fetch_add(size, Ordering::Relaxed);
        Ok(())
    }
}

#[async_trait]
impl RecordSink for ObjectCopySink {
    fn describe(&self) -> String {
        self.to.label.clone()
    }

    async fn prepare(&self, schema: &CollectionSchema, _create: bool) -> Result<()> {
        if !matches!(schema, CollectionSchema::Objects { .. }) {
            return Err(StoreError::invalid_input(format!(
                "{} takes objects, not a {} `{}`",
                self.to.label,
                schema.kind_name(),
                schema.name()
            )));
        }
        refuse_overlap(&self.from, &self.to)
    }

    async fn upsert(&self, records: Vec<Record>) -> Result<Receipt> {
        futures::stream::iter(records)
            .map(|record| self.copy(record))
            .buffer_unordered(OBJECT_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(Receipt::Null)
    }

    fn bytes_written(&self) -> Option<u64> {
        Some(self.bytes.load(Ordering::Relaxed))
    }

    async fn delete(&self, keys: Vec<RecordKey>) -> Result<()> {
        delete_listed(&self.to, keys).await
    }
}
