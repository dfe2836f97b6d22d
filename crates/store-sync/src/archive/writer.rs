//! [`ArchiveSink`]: a backup's writing end.

use serde::Deserialize as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sha2::{Digest as _, Sha256};
use store_core::{ObjectStore, Result, StoreError};

use super::lines::write_checked_line;
use super::manifest::{ARCHIVE_FORMAT, ARCHIVE_VERSION, CollectionEntry, Manifest, PartEntry};
use super::path_segment;
use super::storage::Storage;
use crate::digest::hex;
use crate::plan::PlanHome;
use crate::record::{Record, RecordKey};
use crate::schema::CollectionSchema;
use crate::sink::{Receipt, RecordSink};
use crate::source::Partition;

/// zstd's level for data parts: fast, and about as small as gzip -9.
const ZSTD_LEVEL: i32 = 3;

/// Writes an archive into an object store: each batch becomes one compressed data part, and
/// the manifest is written when the job finishes.
#[derive(Debug, Clone)]
pub struct ArchiveSink {
    storage: Storage,
    label: String,
    tool: String,
    partition: Partition,
    source: String,
    schema: Arc<Mutex<Option<CollectionSchema>>>,
    /// The digest of the partition plan the records are read by, if any.
    plan: Arc<Mutex<Option<String>>>,
    /// The bytes of the parts written so far.
    written: Arc<AtomicU64>,
}

impl ArchiveSink {
    /// Where the archive's files are.
    pub(crate) fn storage(&self) -> &Storage {
        &self.storage
    }

    /// An archive under `prefix` of `store`, written by `partition` of the backup; `label`
    /// names it in messages and `tool` in the manifest (e.g. `stores 0.1.0`).
    pub fn new(
        store: Arc<dyn ObjectStore>,
        prefix: impl Into<String>,
        label: impl Into<String>,
        tool: impl Into<String>,
        partition: Partition,
    ) -> Self {
        let storage = Storage::Objects {
            store,
            prefix: prefix.into(),
        };
        Self::with_storage(storage, label.into(), tool.into(), partition)
    }

    /// An archive of plain files in the local directory `dir` (created if missing).
    pub fn in_dir(
        dir: impl Into<PathBuf>,
        label: impl Into<String>,
        tool: impl Into<String>,
        partition: Partition,
    ) -> Self {
        Self::with_storage(
            Storage::Dir(dir.into()),
            label.into(),
            tool.into(),
            partition,
        )
    }

    fn with_storage(storage: Storage, label: String, tool: String, partition: Partition) -> Self {
        Self {
            storage,
            label,
            tool,
            partition,
            source: String::new(),
            schema: Arc::new(Mutex::new(None)),
            plan: Arc::new(Mutex::new(None)),
            written: Arc::default(),
        }
    }

    /// Records where the data comes from in the manifest (give a location without secrets).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    fn schema(&self) -> Result<CollectionSchema> {
        self.schema
            .lock()
            .expect("schema lock")
            .clone()
            .ok_or_else(|| StoreError::internal("the archive was written to before prepare"))
    }

    async fn put(&self, path: &str, body: Vec<u8>, content_type: &str) -> Result<()> {
        self.storage.write(path, body, content_type).await
    }

    fn partition_path(partition: Partition) -> String {
        format!(
            "partitions/{}-of-{}.json",
            partition.index(),
            partition.total()
        )
    }

    /// The manifests of the partitions already finished in this location, each with its path;
    /// one of a backup of another source is refused (a location left half-done by another
    /// backup must not lend its partitions to this one).
    async fn finished_partitions(&self, source: &str) -> Result<Vec<(String, Manifest)>> {
        let total = self.partition.total();
        let mut finished = Vec::new();
        for index in 0..total {
            let path = Self::partition_path(Partition::new(index, total)?);
            let Some(bytes) = self.storage.read(&path).await? else {
                continue;
            };
            let manifest = Manifest::parse(&bytes, &path)?;
            if !source.is_empty() && !manifest.source.is_empty() && manifest.source != source {
                return Err(StoreError::already_exists(format!(
                    "{}/{path} is a partition of a backup of {}, not of {source}; back up \
                     into a new location",
                    self.label, manifest.source
                )));
            }
            finished.push((path, manifest));
        }
        Ok(finished)
    }

    /// Writes `manifest.json` and `SHA256SUMS` when every partition's manifest is present.
    async fn merge_if_complete(&self, source: &str) -> Result<()> {
        let total = self.partition.total();
        let finished = self.finished_partitions(source).await?;
        if finished.len() < total as usize {
            return Ok(());
        }
        let plan = same_plan(&self.label, &finished)?;
        let mut entries: Vec<CollectionEntry> = Vec::new();
        for (_, part) in finished {
            for entry in part.collections {
                match entries.iter_mut().find(|e| e.name == entry.name) {
                    Some(merged) => {
                        merged.records += entry.records;
                        merged.bytes += entry.bytes;
                        merged.parts.extend(entry.parts);
                    }
                    None => entries.push(entry),
                }
            }
        }
        let manifest = Manifest {
            format: ARCHIVE_FORMAT.to_owned(),
            version: ARCHIVE_VERSION,
            tool: self.tool.clone(),
            source: source.to_owned(),
            partitions: total,
            plan,
            collections: entries,
        };
        self.put(
            "SHA256SUMS",
            manifest.sha256sums().into_bytes(),
            "text/plain",
        )
        .await?;
        self.put("manifest.json", manifest.to_json(), "application/json")
            .await
    }
}

#[async_trait]
impl RecordSink for ArchiveSink {
    fn describe(&self) -> String {
        self.label.clone()
    }

    /// `partitions/plan.json`, beside the partitions' manifests.
    fn plan_home(&self) -> Option<PlanHome> {
        Some(PlanHome::of_archive(&self.storage))
    }

    /// Kept in this partition's manifest, and compared with the other partitions' when they
    /// are merged.
    fn read_by_plan(&self, digest: &str) {
        *self.plan.lock().expect("plan lock") = Some(digest.to_owned());
    }

    async fn prepare(&self, schema: &CollectionSchema, _create: bool) -> Result<()> {
        // A finished archive is written into again only by the same backup (same source,
        // collection and partition count): that is how a backup killed after writing its
        // manifest but before saving its checkpoint finishes, and how a backup is re-run in
        // place (the new manifest then lists the new run's parts; unchanged parts are the same
        // files, since they are named by their content). Any other backup goes elsewhere.
        if let Some(bytes) = self.storage.read("manifest.json").await? {
            let finished = Manifest::parse(&bytes, &format!("{}/manifest.json", self.label))?;
            let same_backup = !self.source.is_empty()
                && finished.source == self.source
                && finished.partitions == self.partition.total()
                && finished
                    .collections
                    .iter()
                    .any(|c| c.name == schema.name() && c.kind == schema.kind_name());
            if !same_backup {
                return Err(StoreError::already_exists(format!(
                    "{} already holds a finished archive of {}; back up into a new location",
                    self.label,
                    if finished.source.is_empty() {
                        "another source"
                    } else {
                        &finished.source
                    }
                )));
            }
        }
        self.finished_partitions(&self.source).await?;
        let name = path_segment(schema.name());
        let body = serde_json::to_vec_pretty(schema)
            .map_err(|e| StoreError::internal(format!("schema encoding failed: {e}")))?;
        self.put(&format!("schema/{name}.json"), body, "application/json")
            .await?;
        *self.schema.lock().expect("schema lock") = Some(schema.clone());
        Ok(())
    }

    async fn upsert(&self, records: Vec<Record>) -> Result<Receipt> {
        let count = records.len() as u64;
        let compressed = tokio::task::spawn_blocking(move || compress(&records))
            .await
            .map_err(|e| StoreError::internal(format!("archive compression failed: {e}")))??;
        let sha256 = hex(&Sha256::digest(&compressed));
        let name = path_segment(self.schema()?.name());
        let path = format!("data/{name}/{sha256}.ndjson.zst");
        let bytes = compressed.len() as u64;
        self.put(&path, compressed, "application/zstd").await?;
        self.written.fetch_add(bytes, Ordering::Relaxed);
        let entry = PartEntry {
            path,
            records: count,
            bytes,
            sha256,
        };
        serde_json::to_value(entry)
            .map_err(|e| StoreError::internal(format!("receipt encoding failed: {e}")))
    }

    fn bytes_written(&self) -> Option<u64> {
        Some(self.written.load(Ordering::Relaxed))
    }

    async fn delete(&self, _keys: Vec<RecordKey>) -> Result<()> {
        Err(StoreError::unsupported(
            "an archive is written once: records cannot be deleted from it",
        ))
    }

    /// Each part an earlier run wrote is here, at its size: a part gone (the archive
    /// deleted since, say) would be listed by the manifest with no file.
    async fn confirm_resume(&self, receipts: &[Receipt]) -> Result<()> {
        let parts = parts_of(receipts)?;
        // One listing of the collection's folder (its parts are all there), not a request
        // per part.
        let Some(first) = parts.first() else {
            return Ok(());
        };
        let dir = first.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let sizes = self.storage.sizes_under(dir).await?;
        for part in parts {
            let found = sizes.get(&part.path).copied();
            if found != Some(part.bytes) {
                return Err(StoreError::precondition_failed(format!(
                    "{} is {}",
                    self.storage.describe(&part.path),
                    found.map_or_else(
                        || "gone".to_owned(),
                        |n| format!("{n} bytes, not the {} written", part.bytes)
                    )
                )));
            }
        }
        Ok(())
    }

    async fn finish(&self, receipts: Vec<Receipt>) -> Result<()> {
        let schema = self.schema()?;
        let parts = parts_of(&receipts)?;
        let name = path_segment(schema.name());
        let entry = CollectionEntry {
            name: schema.name().to_owned(),
            kind: schema.kind_name().to_owned(),
            schema: format!("schema/{name}.json"),
            records: parts.iter().map(|p| p.records).sum(),
            bytes: parts.iter().map(|p| p.bytes).sum(),
            parts,
        };
        let mine = Manifest {
            format: ARCHIVE_FORMAT.to_owned(),
            version: ARCHIVE_VERSION,
            tool: self.tool.clone(),
            source: self.source.clone(),
            partitions: self.partition.total(),
            plan: self.plan.lock().expect("plan lock").clone(),
            collections: vec![entry],
        };
        self.put(
            &Self::partition_path(self.partition),
            mine.to_json(),
            "application/json",
        )
        .await?;
        self.merge_if_complete(&self.source).await
    }
}

/// The archive parts a copy's receipts name.
fn parts_of(receipts: &[Receipt]) -> Result<Vec<PartEntry>> {
    receipts
        .iter()
        .map(PartEntry::deserialize)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| {
            StoreError::invalid_input(format!("a checkpoint receipt is not an archive part: {e}"))
        })
}

/// The plan the partitions of `finished` read by (`None` when none recorded one); partitions
/// that recorded different plans are refused, naming two of them: the plan was replaced during
/// the backup (its file deleted, then cut again from a changed table), so their key ranges need
/// not meet, and rows between them may be missing or held twice. A partition manifest with no
/// plan is one of an unplanned source, or one written before manifests recorded plans (an
/// archive finished in place by a newer stores): it agrees with any plan.
fn same_plan(label: &str, finished: &[(String, Manifest)]) -> Result<Option<String>> {
    let mut recorded = finished
        .iter()
        .filter_map(|(path, m)| Some((path, m.plan.as_ref()?)));
    let Some((first_path, first)) = recorded.next() else {
        return Ok(None);
    };
    match recorded.find(|(_, plan)| plan != &first) {
        None => Ok(Some(first.clone())),
        Some((path, other)) => Err(StoreError::invalid_input(format!(
            "{label}: {first_path} was read by partition plan {first} but {path} by {other}: \
             the plan was replaced during the backup, so the partitions' key ranges need not \
             meet; no manifest was written. Back up again into a new location"
        ))),
    }
}

/// The part of `records`: their lines written into one buffer, compressed in one call.
fn compress(records: &[Record]) -> Result<Vec<u8>> {
    let mut text = Vec::with_capacity(records.len() * 256);
    for record in records {
        write_checked_line(&mut text, record)?;
        text.push(b'\n');
    }
    zstd::bulk::compress(&text, ZSTD_LEVEL).map_err(|e| StoreError::internal(format!("zstd: {e}")))
}
