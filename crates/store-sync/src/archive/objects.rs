//! Objects in an archive: the listing is a collection of records (one per object: its key
//! relative to the prefix, size, content type, metadata and SHA-256), and each body is stored
//! once as the blob `blobs/<sha256>`, so equal bodies are stored once and every blob checks
//! itself by its name.
//!
//! Backing up objects is a [`copy`](crate::copy) from an [`ObjectListing`] into an
//! [`ObjectArchiveSink`]; restoring is a copy from the archive into an [`ObjectRestoreSink`];
//! checking an archive against a location is a [`check`](crate::check) against an
//! [`ObjectListing`] that hashes contents. Checkpoints, partitions and resume work as for any
//! other collection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest as _, Sha256};
use store_core::object::{ByteStream, GetOptions, ObjectMeta, PutOptions};
use store_core::{Document, Number, Result, StoreError, Value};

use super::blobs::listed_blob;
use super::reader::ArchiveSource;
use super::storage::Storage;
use super::writer::ArchiveSink;
use crate::batch_bytes::chunks_within_bytes;
use crate::digest::hex;
use crate::objects::ObjectLocation;
use crate::record::{Record, RecordKey};
use crate::schema::CollectionSchema;
use crate::sink::{Receipt, RecordSink};
use crate::source::{Batch, Partition, RecordSource};

/// Bodies moved at once by the object sinks and hashed at once by a hashing listing.
pub(crate) const CONCURRENCY: usize = 8;

/// The objects under a location as records, in key order: `key`, `size`, `content_type` (when
/// known), `metadata`, and with [`hashing`](ObjectListing::hashing) the content's `sha256`.
#[derive(Debug, Clone)]
pub struct ObjectListing {
    location: ObjectLocation,
    hash: bool,
}

impl ObjectListing {
    /// The listing of `location`, without reading any body.
    pub fn new(location: ObjectLocation) -> Self {
        Self {
            location,
            hash: false,
        }
    }

    /// Also reads every body to record its SHA-256 (for comparing with an archive).
    pub fn hashing(mut self) -> Self {
        self.hash = true;
        self
    }

    /// The objects of `partition` listed after the relative key `resume` (where a copy's
    /// checkpoint would have it start), and their bytes, by listing them: what a dry run
    /// counts.
    pub async fn size(&self, partition: Partition, resume: Option<&str>) -> Result<(u64, u64)> {
        crate::objects::count_after(&self.location, partition, resume).await
    }

    async fn record(&self, relative: String, meta: ObjectMeta) -> Result<Record> {
        let doc = if self.hash {
            let (read, sha) = self.location.read_content(&meta.key).await?;
            let mut doc = describe(&relative, &read);
            doc.insert("sha256", hex(&sha));
            doc
        } else {
            describe(&relative, &meta)
        };
        Ok(Record {
            key: RecordKey::new(vec![("key".to_owned(), Value::String(relative))])?,
            doc,
        })
    }
}

/// An object's listing record, without its hash.
fn describe(relative: &str, meta: &ObjectMeta) -> Document {
    let mut doc = Document::new()
        .with("key", relative)
        .with("size", Number::from(meta.size));
    if let Some(content_type) = &meta.content_type {
        doc.insert("content_type", content_type.as_str());
    }
    let metadata: Document = meta
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    doc.insert("metadata", Value::Map(metadata));
    doc
}

/// About how many bytes of object bodies one batch of a copy or backup of objects covers at
/// most (each batch is one checkpoint step and one progress event).
const OBJECT_BATCH_BYTES: usize = 64 << 20;

#[async_trait]
impl RecordSource for ObjectListing {
    fn describe(&self) -> String {
        self.location.label.clone()
    }

    async fn schema(&self) -> Result<CollectionSchema> {
        Ok(CollectionSchema::Objects {
            name: self.location.label.clone(),
        })
    }

    async fn size_for_progress(&self) -> Result<Option<(u64, u64)>> {
        crate::objects::count(&self.location).await.map(Some)
    }

    fn read(
        &self,
        partition: Partition,
        resume: Option<String>,
        batch_size: usize,
    ) -> BoxStream<'_, Result<Batch>> {
        // The listing is walked a batch at a time from where the last run stopped: memory is
        // a batch or two of entries, however many objects there are. A batch also ends once
        // its objects' bodies reach OBJECT_BATCH_BYTES, so that large objects are confirmed
        // (and a killed copy resumes) a few at a time, not thousands.
        let listing = self.location.listing_after(resume.as_deref());
        chunks_within_bytes(listing, batch_size, OBJECT_BATCH_BYTES, |(_, meta)| {
            usize::try_from(meta.size).unwrap_or(usize::MAX)
        })
        .map(|chunk| chunk.into_iter().collect::<Result<Vec<_>>>())
        .and_then(move |chunk| async move {
            let resume = chunk.last().map(|(relative, _)| relative.clone());
            let mine = chunk
                .into_iter()
                .filter(|(relative, _)| partition.holds_id(relative));
            let records = futures::stream::iter(mine)
                .map(|(relative, meta)| self.record(relative, meta))
                .buffered(CONCURRENCY)
                .try_collect::<Vec<_>>()
                .await?;
            Ok(Batch { records, resume })
        })
        .boxed()
    }
}

/// Writes objects into an archive: each body as a blob, then the batch's listing records.
#[derive(Debug, Clone)]
pub struct ObjectArchiveSink {
    archive: ArchiveSink,
    from: ObjectLocation,
    /// The bytes of the bodies stored so far.
    bodies: Arc<AtomicU64>,
}

impl ObjectArchiveSink {
    /// Archives the bodies of objects listed from `from` into `archive`.
    pub fn new(archive: ArchiveSink, from: ObjectLocation) -> Self {
        Self {
            archive,
            from,
            bodies: Arc::default(),
        }
    }

    async fn store_body(&self, record: Record) -> Result<Record> {
        let relative = listed_text(&record, "key")?;
        let key = self.from.key_for(&relative)?;
        let got = self.from.store.get(&key, GetOptions::new()).await?;
        // The read's content type and metadata, which a listing (S3's) may leave out.
        let mut doc = describe(&relative, &got.meta);
        let (sha, size) = self.archive.storage().write_blob(got.body).await?;
        self.bodies.fetch_add(size, Ordering::Relaxed);
        doc.insert("size", Number::from(size));
        doc.insert("sha256", sha);
        Ok(Record {
            key: record.key,
            doc,
        })
    }
}

#[async_trait]
impl RecordSink for ObjectArchiveSink {
    fn describe(&self) -> String {
        self.archive.describe()
    }

    async fn prepare(&self, schema: &CollectionSchema, create: bool) -> Result<()> {
        self.archive.prepare(schema, create).await
    }

    async fn upsert(&self, records: Vec<Record>) -> Result<Receipt> {
        let stored = futures::stream::iter(records)
            .map(|record| self.store_body(record))
            .buffered(CONCURRENCY)
            .try_collect::<Vec<_>>()
            .await?;
        self.archive.storage().sync_blobs().await?;
        self.archive.upsert(stored).await
    }

    fn bytes_written(&self) -> Option<u64> {
        let parts = self.archive.bytes_written().unwrap_or(0);
        Some(parts + self.bodies.load(Ordering::Relaxed))
    }

    async fn delete(&self, keys: Vec<RecordKey>) -> Result<()> {
        self.archive.delete(keys).await
    }

    fn plan_home(&self) -> Option<crate::plan::PlanHome> {
        self.archive.plan_home()
    }

    fn read_by_plan(&self, digest: &str) {
        self.archive.read_by_plan(digest);
    }

    async fn confirm_resume(&self, receipts: &[Receipt]) -> Result<()> {
        self.archive.confirm_resume(receipts).await
    }

    async fn finish(&self, receipts: Vec<Receipt>) -> Result<()> {
        self.archive.finish(receipts).await
    }
}

/// Restores objects from an archive into a location, checking each body's SHA-256 as it
/// streams; a body that does not match fails before its end, so nothing is stored under its
/// key (what was there stays), and the restore fails naming its blob.
#[derive(Debug, Clone)]
pub struct ObjectRestoreSink {
    storage: Storage,
    to: ObjectLocation,
}

impl ObjectRestoreSink {
    /// Restores the objects of `archive` under `to`.
    pub fn new(archive: &ArchiveSource, to: ObjectLocation) -> Self {
        Self {
            storage: archive.storage().clone(),
            to,
        }
    }

    async fn restore(&self, record: Record) -> Result<()> {
        let text = |name: &str| listed_text(&record, name);
        let relative = text("key")?;
        let sha = text("sha256")?;
        let blob = listed_blob(&sha)?;
        let damaged = Arc::new(Mutex::new(None));
        let body = verified(
            self.storage.read_stream(&blob).await?,
            &sha,
            damaged.clone(),
        );
        let mut options = PutOptions::new();
        if let Ok(content_type) = text("content_type") {
            options = options.content_type(content_type);
        }
        if let Some(Value::Map(metadata)) = record.doc.get("metadata") {
            for (name, value) in metadata.iter() {
                if let Value::String(value) = value {
                    options = options.metadata(name, value.as_str());
                }
            }
        }
        let key = self.to.key_for(&relative)?;
        let stored = self.to.store.put_stream(&key, body, options).await;
        // However the store words a body that failed, a damaged blob is named as such.
        if let Some(actual) = damaged.lock().expect("damage lock").take() {
            return Err(StoreError::invalid_input(format!(
                "archive blob {blob} is damaged (its SHA-256 is {actual}); {relative} was not \
                 restored, and what the destination held under it is unchanged"
            )));
        }
        stored.map(|_| ())
    }
}

/// `body` (a blob's bytes), ending in an error instead of its end when the bytes' SHA-256 is
/// not `expected` (the actual digest is then left in `damaged`). A store writes a body
/// whole or not at all ([`put_stream`](store_core::ObjectStore::put_stream) stores nothing
/// when its stream fails), so a damaged blob never replaces what the destination holds.
fn verified(body: ByteStream, expected: &str, damaged: Arc<Mutex<Option<String>>>) -> ByteStream {
    let hasher = Arc::new(Mutex::new(Sha256::new()));
    let feeding = hasher.clone();
    let expected = expected.to_owned();
    let verdict = futures::stream::once(async move {
        let actual = hex(&hasher.lock().expect("hasher lock").clone().finalize());
        if actual == expected {
            return None;
        }
        let error = StoreError::invalid_input(format!(
            "the archive blob's SHA-256 is {actual}, not {expected}"
        ));
        *damaged.lock().expect("damage lock") = Some(actual);
        Some(Err(error))
    })
    .filter_map(futures::future::ready);
    body.inspect_ok(move |chunk| feeding.lock().expect("hasher lock").update(chunk))
        .chain(verdict)
        .boxed()
}

#[async_trait]
impl RecordSink for ObjectRestoreSink {
    fn describe(&self) -> String {
        self.to.label.clone()
    }

    async fn prepare(&self, schema: &CollectionSchema, _create: bool) -> Result<()> {
        match schema {
            CollectionSchema::Objects { .. } => Ok(()),
            other => Err(StoreError::invalid_input(format!(
                "the archive holds a {} `{}`, not objects",
                other.kind_name(),
                other.name()
            ))),
        }
    }

    async fn upsert(&self, records: Vec<Record>) -> Result<Receipt> {
        futures::stream::iter(records)
            .map(|record| self.restore(record))
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(Receipt::Null)
    }

    async fn delete(&self, keys: Vec<RecordKey>) -> Result<()> {
        delete_listed(&self.to, keys).await
    }
}

/// The text field `name` of an object's listing record (its relative `key`, `sha256`,
/// `content_type`).
pub(crate) fn listed_text(record: &Record, name: &str) -> Result<String> {
    match record.doc.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(StoreError::invalid_input(format!(
            "object record {} has no text `{name}`",
            record.key
        ))),
    }
}

/// Deletes the objects under `to` whose relative keys are the listing keys `keys`.
pub(crate) async fn delete_listed(to: &ObjectLocation, keys: Vec<RecordKey>) -> Result<()> {
    let keys = keys
        .iter()
        .map(|k| to.key_for(k.id()))
        .collect::<Result<Vec<_>>>()?;
    match to.store.delete_many(&keys).await?.into_iter().next() {
        None => Ok(()),
        Some(failure) => Err(failure.error),
    }
}
