//! [`ArchiveSource`]: a restore's reading end.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest as _, Sha256};
use store_core::{ObjectStore, Result, StoreError};
use tokio::sync::OnceCell;

use super::blob_check::with_blobs_checked;
use super::line_rows::Rows;
use super::line_skim::check_line_shape;
use super::manifest::{CollectionEntry, Manifest, PartEntry};
use super::storage::Storage;
use crate::batch_bytes::{BATCH_BYTES, chunks_within};
use crate::digest::hex;
use crate::plan::PlanHome;
use crate::schema::CollectionSchema;
use crate::source::{Batch, Partition, RecordSource, RowBatch};
use crate::task::{AbortOnDrop, joined};

mod decode;

use decode::{count_matches, decode_part, decode_part_rows, for_each_line, within_count};

/// Reads an archive from an object store, checking each part's SHA-256 before using a byte of
/// it. An archive whose manifest is missing but whose partitions all finished is read from the
/// partitions' own manifests.
#[derive(Debug, Clone)]
pub struct ArchiveSource {
    storage: Storage,
    label: String,
    manifest: Arc<OnceCell<Manifest>>,
    /// Whether a read of an archive of objects first checks each listed blob.
    check_blobs: bool,
}

impl ArchiveSource {
    /// Where the archive's files are.
    pub(crate) fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The archive under `prefix` of `store`; `label` names it in messages.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        prefix: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        let storage = Storage::Objects {
            store,
            prefix: prefix.into(),
        };
        Self::with_storage(storage, label.into())
    }

    /// The archive of plain files in the local directory `dir`.
    pub fn in_dir(dir: impl Into<PathBuf>, label: impl Into<String>) -> Self {
        Self::with_storage(Storage::Dir(dir.into()), label.into())
    }

    /// Where a partitioned backup into this archive keeps its partitions' plan (read by a dry
    /// run of one, which writes nothing).
    pub fn plan_home(&self) -> PlanHome {
        PlanHome::of_archive(&self.storage)
    }

    fn with_storage(storage: Storage, label: String) -> Self {
        Self {
            storage,
            label,
            manifest: Arc::new(OnceCell::new()),
            check_blobs: false,
        }
    }

    /// For an archive of objects: each batch a read gives has every listed blob read first
    /// and found present, of its listed size and SHA-256 (a damaged one fails the read,
    /// named). What a `check` of an archive against its objects needs; a restore checks
    /// each blob as it copies it anyway.
    pub fn checking_blobs(mut self) -> Self {
        self.check_blobs = true;
        self
    }

    /// The archive's manifest (read once).
    pub async fn manifest(&self) -> Result<&Manifest> {
        self.manifest.get_or_try_init(|| self.load_manifest()).await
    }

    async fn load_manifest(&self) -> Result<Manifest> {
        match self.storage.read("manifest.json").await? {
            Some(bytes) => Manifest::parse(&bytes, &format!("{}/manifest.json", self.label)),
            None => Err(StoreError::not_found(format!(
                "{} has no manifest.json: it is not an archive, or its backup has not finished \
                 (every partition must finish)",
                self.label
            ))),
        }
    }

    async fn collection(&self) -> Result<&CollectionEntry> {
        let manifest = self.manifest().await?;
        match manifest.collections.as_slice() {
            [one] => Ok(one),
            [] => Err(StoreError::invalid_input(format!(
                "{} holds no collection",
                self.label
            ))),
            _ => Err(StoreError::unsupported(format!(
                "{} holds {} collections; restore reads archives of one",
                self.label,
                manifest.collections.len()
            ))),
        }
    }

    /// Checks, before a restore writes anything, every part `partition` will read: present,
    /// of the size and SHA-256 the manifest gives, decompressing to as many lines as it says,
    /// each of an archive line's shape: typed values with known tags and the JSON types they
    /// take, none nested deeper than a line holds, and every key attribute (only the text of
    /// numbers and bytes is not decoded). Lighter than reading (no value is built); returns
    /// how many records the parts hold. A part that
    /// fails is named in the `InvalidInput` error.
    pub async fn verify(&self, partition: Partition) -> Result<u64> {
        let entry = self.collection().await?;
        let key_names = self.schema().await?.key_names();
        let parts = parts_from(entry, partition, 0);
        let mut counted = self.decoded(parts, move |bytes, part| {
            let mut lines = 0;
            for_each_line(&bytes, &part.path, |_, line| {
                within_count(lines, part.records)?;
                check_line_shape(line, &key_names).map(|()| lines += 1)
            })?;
            count_matches(lines, part.records, &part.path).map(|()| lines)
        });
        let mut records = 0;
        while let Some((_, lines)) = counted.next().await {
            records += lines?;
        }
        Ok(records)
    }

    /// Checks, before a restore writes anything, every part `partition` will read: present,
    /// of the size and SHA-256 the manifest gives. Any change to a part after its backup
    /// fails here, with the part named; the lines themselves are checked as they are read.
    /// Returns how many records the manifest says the parts hold.
    pub async fn verify_digests(&self, partition: Partition) -> Result<u64> {
        let entry = self.collection().await?;
        let parts = parts_from(entry, partition, 0);
        let records = parts.iter().map(|(_, part)| part.records).sum();
        let mut checked = futures::stream::iter(parts)
            .map(|(_, part)| async move { self.fetch_part(&part).await.map(drop) })
            .buffer_unordered(PARTS_AHEAD);
        while let Some(done) = checked.next().await {
            done?;
        }
        Ok(records)
    }

    /// `decode` run on each of `parts` once it is downloaded and its size and SHA-256
    /// checked, each part on its own task and [`PARTS_AHEAD`] at a time, the results in
    /// the parts' order: a restore decodes the next parts while it writes, and a check
    /// of every part uses every core. Dropping the stream cancels the downloads; a decode
    /// already running finishes and its result is dropped.
    fn decoded<T, F>(
        &self,
        parts: Vec<(usize, PartEntry)>,
        decode: F,
    ) -> BoxStream<'static, (usize, Result<T>)>
    where
        T: Send + 'static,
        F: Fn(bytes::Bytes, &PartEntry) -> Result<T> + Clone + Send + Sync + 'static,
    {
        let source = self.clone();
        futures::stream::iter(parts)
            .map(move |(i, part)| {
                let (source, decode) = (source.clone(), decode.clone());
                let task = AbortOnDrop::spawn(async move {
                    let bytes = source.fetch_part(&part).await?;
                    let decoding = tokio::task::spawn_blocking(move || decode(bytes, &part));
                    joined("archive decoding", decoding.await)
                });
                async move { (i, joined("archive decoding", task.await)) }
            })
            .buffered(PARTS_AHEAD)
            .boxed()
    }

    /// Downloads one part and checks its size and SHA-256.
    async fn fetch_part(&self, part: &PartEntry) -> Result<bytes::Bytes> {
        let bytes = self.storage.read(&part.path).await?.ok_or_else(|| {
            StoreError::not_found(format!(
                "archive part {} is missing from {}",
                part.path, self.label
            ))
        })?;
        let actual = hex(&Sha256::digest(&bytes));
        if actual != part.sha256 || bytes.len() as u64 != part.bytes {
            return Err(StoreError::invalid_input(format!(
                "archive part {} is damaged: its SHA-256 is {actual} ({} bytes) where the manifest \
                 says {} ({} bytes); nothing from it was used",
                part.path,
                bytes.len(),
                part.sha256,
                part.bytes
            )));
        }
        Ok(bytes)
    }

    /// Where a read starts: the collection, its key names, and the part and line to start at.
    async fn start(
        &self,
        resume: Option<&str>,
    ) -> Result<(&CollectionEntry, Vec<String>, usize, usize)> {
        let (first_part, first_line) = match resume {
            Some(token) => decode_position(token)?,
            None => (0, 0),
        };
        let entry = self.collection().await?;
        let key_names = self.schema().await?.key_names();
        Ok((entry, key_names, first_part, first_line))
    }
}

/// How many parts are downloaded, checked and decoded at once, ahead of their reader.
const PARTS_AHEAD: usize = 2;

/// A position in an archive: the part and the line within it to continue from.
fn encode_position(part: usize, line: usize) -> String {
    format!("{part}:{line}")
}

fn decode_position(token: &str) -> Result<(usize, usize)> {
    let bad = || StoreError::invalid_input("the resume position is not one this archive issued");
    let (part, line) = token.split_once(':').ok_or_else(bad)?;
    Ok((
        part.parse().map_err(|_| bad())?,
        line.parse().map_err(|_| bad())?,
    ))
}

#[async_trait]
impl RecordSource for ArchiveSource {
    fn describe(&self) -> String {
        self.label.clone()
    }

    async fn schema(&self) -> Result<CollectionSchema> {
        let entry = self.collection().await?;
        let bytes = self.storage.read(&entry.schema).await?.ok_or_else(|| {
            StoreError::not_found(format!(
                "{} has no schema file {}",
                self.label, entry.schema
            ))
        })?;
        serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::invalid_input(format!(
                "{}/{} is not a collection schema: {e}",
                self.label, entry.schema
            ))
        })
    }

    async fn estimated_count(&self) -> Result<Option<u64>> {
        Ok(Some(self.collection().await?.records))
    }

    async fn size_for_progress(&self) -> Result<Option<(u64, u64)>> {
        let entry = self.collection().await?;
        Ok(Some((entry.records, entry.bytes)))
    }

    fn bytes_before(&self, partition: Partition, position: &str) -> Option<u64> {
        let [entry] = self.manifest.get()?.collections.as_slice() else {
            return None;
        };
        let (part, line) = decode_position(position).ok()?;
        Some(bytes_before(entry, partition, part, line))
    }

    fn read(
        &self,
        partition: Partition,
        resume: Option<String>,
        batch_size: usize,
    ) -> BoxStream<'_, Result<Batch>> {
        let batch_size = batch_size.max(1);
        let start = async move { self.start(resume.as_deref()).await };
        futures::stream::once(start)
            .flat_map(move |started| match started {
                Err(e) => futures::stream::iter([Err(e)]).boxed(),
                Ok((entry, key_names, first_part, first_line)) => {
                    let parts = parts_from(entry, partition, first_part);
                    // Records of consecutive parts fill one batch: a batch's size is the
                    // caller's (and about `BATCH_BYTES`), whatever size the backup gave its
                    // parts.
                    let lines = self
                        .decoded(parts, move |bytes, part| {
                            decode_part(&bytes, &key_names, &part.path, part.records)
                        })
                        .flat_map(move |(i, records)| {
                            let skip = if i == first_part { first_line } else { 0 };
                            match records {
                                Err(e) => futures::stream::iter(vec![Err(e)]).boxed(),
                                Ok(records) => futures::stream::iter(
                                    records
                                        .into_iter()
                                        .enumerate()
                                        .skip(skip)
                                        .map(move |(line, record)| Ok((i, line + 1, record))),
                                )
                                .boxed(),
                            }
                        })
                        .boxed();
                    let batches = chunks_within(lines, batch_size, |(_, _, record)| {
                        record.doc.approximate_size()
                    })
                    .map(|chunk| {
                        let mut records = Vec::with_capacity(chunk.len());
                        let mut resume = None;
                        for item in chunk {
                            let (part, after, record) = item?;
                            records.push(record);
                            resume = Some(encode_position(part, after));
                        }
                        Ok(Batch { records, resume })
                    });
                    if self.check_blobs && entry.kind == "objects" {
                        let storage = &self.storage;
                        batches
                            .and_then(move |batch| with_blobs_checked(storage, batch))
                            .boxed()
                    } else {
                        batches.boxed()
                    }
                }
            })
            .boxed()
    }

    fn read_rows(
        &self,
        partition: Partition,
        resume: Option<String>,
        batch_size: usize,
    ) -> Option<BoxStream<'_, Result<RowBatch>>> {
        // A search document keyed by its `_id` holds the key apart from its fields: read as
        // records, whose key the table puts in its key column.
        if self
            .manifest
            .get()
            .is_some_and(|m| m.collections.iter().any(|c| c.kind == "search"))
        {
            return None;
        }
        let batch_size = batch_size.max(1);
        let start = async move { self.start(resume.as_deref()).await };
        let batches = futures::stream::once(start).flat_map(move |started| match started {
            Err(e) => futures::stream::iter([Err(e)]).boxed(),
            Ok((entry, key_names, first_part, first_line)) => {
                let parts = parts_from(entry, partition, first_part);
                let reader = RowReader {
                    parts: self.decoded(parts, move |bytes, part| {
                        decode_part_rows(&bytes, &key_names, &part.path, part.records)
                    }),
                    current: None,
                    skip: (first_part, first_line),
                    batch_size,
                    failed: false,
                };
                futures::stream::unfold(reader, RowReader::next_batch).boxed()
            }
        });
        Some(batches.boxed())
    }
}

/// Whether `partition` reads part number `i` (parts are dealt out in turn).
fn reads_part(partition: Partition, i: usize) -> bool {
    i as u64 % u64::from(partition.total()) == u64::from(partition.index())
}

/// The parts of `entry` that `partition` reads, by number, from `first_part` on.
fn parts_from(
    entry: &CollectionEntry,
    partition: Partition,
    first_part: usize,
) -> Vec<(usize, PartEntry)> {
    entry
        .parts
        .iter()
        .cloned()
        .enumerate()
        .filter(|(i, _)| reads_part(partition, *i))
        .filter(|(i, _)| *i >= first_part)
        .collect()
}

/// The compressed bytes of the parts of `entry` that `partition` reads before line `line` of
/// part `part`: the parts before it whole, and its own bytes in proportion to its lines.
fn bytes_before(entry: &CollectionEntry, partition: Partition, part: usize, line: usize) -> u64 {
    entry
        .parts
        .iter()
        .enumerate()
        .take(part.saturating_add(1))
        .filter(|(i, _)| reads_part(partition, *i))
        .map(|(i, p)| match (i < part, p.records) {
            (true, _) | (false, 0) => p.bytes,
            (false, records) => {
                let share = u128::from(p.bytes) * (line as u128).min(u128::from(records))
                    / u128::from(records);
                u64::try_from(share).unwrap_or(p.bytes)
            }
        })
        .sum()
}

/// Reads parts one after the other into batches of rows: a batch takes rows of consecutive
/// parts, so its size is the caller's (and about `BATCH_BYTES`) whatever size the backup gave
/// its parts.
struct RowReader {
    /// The parts' rows, by number, decoded ahead.
    parts: BoxStream<'static, (usize, Result<Rows>)>,
    /// The part being read: its number, its rows not yet taken, and the line they start at.
    current: Option<(usize, Rows, usize)>,
    /// The part and line a resumed read starts at.
    skip: (usize, usize),
    batch_size: usize,
    /// Set once an error was given: the stream ends after it.
    failed: bool,
}

impl RowReader {
    async fn next_batch(mut self) -> Option<(Result<RowBatch>, Self)> {
        if self.failed {
            return None;
        }
        let mut batch = Rows::default();
        let mut bytes = 0;
        let mut resume = None;
        loop {
            if let Some((part, rows, line)) = &mut self.current
                && rows.len() > 0
            {
                let room = BATCH_BYTES.saturating_sub(bytes);
                let (n, size) = rows.front_within(self.batch_size - batch.len(), room);
                batch.take_from(rows, n);
                bytes += size;
                *line += n;
                resume = Some(encode_position(*part, *line));
                if batch.len() == self.batch_size || bytes >= BATCH_BYTES {
                    break;
                }
                continue;
            }
            let Some((i, decoded)) = self.parts.next().await else {
                break;
            };
            match decoded {
                Ok(mut rows) => {
                    let skip = if i == self.skip.0 { self.skip.1 } else { 0 };
                    rows.drop_front(skip);
                    self.current = Some((i, rows, skip));
                }
                Err(e) => {
                    self.failed = true;
                    return Some((Err(e), self));
                }
            }
        }
        if batch.len() == 0 {
            return None;
        }
        let Rows { columns, rows, .. } = batch;
        Some((
            Ok(RowBatch {
                columns,
                rows,
                resume,
            }),
            self,
        ))
    }
}
