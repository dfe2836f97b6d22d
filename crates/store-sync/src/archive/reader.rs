//! [`ArchiveSource`]: a restore's reading end.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use sha2::{Digest as _, Sha256};
use store_core::{ObjectStore, Result, StoreError};
use tokio::sync::OnceCell;

use super::lines::decode_line;
use super::manifest::{CollectionEntry, Manifest, PartEntry};
use super::storage::Storage;
use crate::digest::hex;
use crate::record::Record;
use crate::schema::CollectionSchema;
use crate::source::{Batch, Partition, RecordSource};

/// Reads an archive from an object store, checking each part's SHA-256 before using a byte of
/// it. An archive whose manifest is missing but whose partitions all finished is read from the
/// partitions' own manifests.
#[derive(Debug, Clone)]
pub struct ArchiveSource {
    storage: Storage,
    label: String,
    manifest: Arc<OnceCell<Manifest>>,
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

    fn with_storage(storage: Storage, label: String) -> Self {
        Self {
            storage,
            label,
            manifest: Arc::new(OnceCell::new()),
        }
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
    /// of the size and SHA-256 the manifest gives, decompressing to as many lines of
    /// well-formed JSON as it says. Lighter than reading (no record is built); returns how
    /// many records the parts hold. A part that fails is named in the `InvalidInput` error.
    pub async fn verify(&self, partition: Partition) -> Result<u64> {
        let entry = self.collection().await?;
        let mut records = 0;
        for (i, part) in entry.parts.iter().enumerate() {
            if i as u64 % u64::from(partition.total()) != u64::from(partition.index()) {
                continue;
            }
            let bytes = self.fetch_part(part).await?;
            let (path, expected) = (part.path.clone(), part.records);
            records += tokio::task::spawn_blocking(move || {
                let mut lines = 0;
                for_each_line(&bytes, &path, |_, line| {
                    serde_json::from_str::<serde::de::IgnoredAny>(line)
                        .map(|_| lines += 1)
                        .map_err(|e| StoreError::invalid_input(e.to_string()))
                })?;
                count_matches(lines, expected, &path).map(|()| lines)
            })
            .await
            .map_err(|e| StoreError::internal(format!("archive verification failed: {e}")))??;
        }
        Ok(records)
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
                 says {} ({} bytes); nothing from it was restored",
                part.path,
                bytes.len(),
                part.sha256,
                part.bytes
            )));
        }
        Ok(bytes)
    }

    /// Downloads one part, checks its size and SHA-256, and decodes its records.
    async fn read_part(&self, part: &PartEntry, key_names: Vec<String>) -> Result<Vec<Record>> {
        let bytes = self.fetch_part(part).await?;
        let path = part.path.clone();
        let expected = part.records;
        tokio::task::spawn_blocking(move || decode_part(&bytes, &key_names, &path, expected))
            .await
            .map_err(|e| StoreError::internal(format!("archive decoding failed: {e}")))?
    }
}

/// Calls `each` with the number and text of every non-empty line of a compressed part;
/// its error is reported with the part and line. One buffer holds each line in turn.
fn for_each_line(
    bytes: &[u8],
    path: &str,
    mut each: impl FnMut(usize, &str) -> Result<()>,
) -> Result<()> {
    let decoder = zstd::Decoder::new(bytes)
        .map_err(|e| StoreError::invalid_input(format!("archive part {path}: {e}")))?;
    let mut reader = BufReader::with_capacity(LINE_READ_BUFFER, decoder);
    let mut buffer = Vec::new();
    for n in 0.. {
        buffer.clear();
        let read = reader.read_until(b'\n', &mut buffer).map_err(|e| {
            StoreError::invalid_input(format!("archive part {path} does not decompress: {e}"))
        })?;
        if read == 0 {
            break;
        }
        let line = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let at_line = |message: &str| {
            StoreError::invalid_input(format!("archive part {path}, line {}: {message}", n + 1))
        };
        let text = std::str::from_utf8(line).map_err(|e| at_line(&e.to_string()))?;
        each(n, text).map_err(|e| at_line(e.message()))?;
    }
    Ok(())
}

/// The decompressed bytes read at a time from a part.
const LINE_READ_BUFFER: usize = 64 * 1024;

/// `InvalidInput` unless a part held the `expected` number of records.
fn count_matches(found: u64, expected: u64, path: &str) -> Result<()> {
    if found == expected {
        return Ok(());
    }
    Err(StoreError::invalid_input(format!(
        "archive part {path} holds {found} records where the manifest says {expected}"
    )))
}

fn decode_part(
    bytes: &[u8],
    key_names: &[String],
    path: &str,
    expected: u64,
) -> Result<Vec<Record>> {
    let mut records = Vec::with_capacity(expected as usize);
    for_each_line(bytes, path, |_, line| {
        records.push(decode_line(line, key_names)?);
        Ok(())
    })?;
    count_matches(records.len() as u64, expected, path)?;
    Ok(records)
}

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

    fn read(
        &self,
        partition: Partition,
        resume: Option<String>,
        batch_size: usize,
    ) -> BoxStream<'_, Result<Batch>> {
        let batch_size = batch_size.max(1);
        let start = async move {
            let (first_part, first_line) = match &resume {
                Some(token) => decode_position(token)?,
                None => (0, 0),
            };
            let entry = self.collection().await?;
            let key_names = self.schema().await?.key_names();
            Ok::<_, StoreError>((entry, key_names, first_part, first_line))
        };
        futures::stream::once(start)
            .flat_map(move |started| match started {
                Err(e) => futures::stream::iter([Err(e)]).boxed(),
                Ok((entry, key_names, first_part, first_line)) => {
                    let parts: Vec<(usize, PartEntry)> = entry
                        .parts
                        .iter()
                        .cloned()
                        .enumerate()
                        .filter(|(i, _)| {
                            *i as u64 % u64::from(partition.total()) == u64::from(partition.index())
                        })
                        .filter(|(i, _)| *i >= first_part)
                        .collect();
                    // Records of consecutive parts fill one batch: a batch's size is the
                    // caller's, whatever size the backup gave its parts.
                    futures::stream::iter(parts)
                        .then(move |(i, part)| {
                            let key_names = key_names.clone();
                            async move { (i, self.read_part(&part, key_names).await) }
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
                        .chunks(batch_size)
                        .map(|chunk| {
                            let mut records = Vec::with_capacity(chunk.len());
                            let mut resume = None;
                            for item in chunk {
                                let (part, after, record) = item?;
                                records.push(record);
                                resume = Some(encode_position(part, after));
                            }
                            Ok(Batch { records, resume })
                        })
                        .boxed()
                }
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compressed(text: &[u8]) -> Vec<u8> {
        zstd::encode_all(text, 3).unwrap()
    }

    fn lines_of(text: &[u8]) -> Result<Vec<(usize, String)>> {
        let mut seen = Vec::new();
        for_each_line(&compressed(text), "p.zst", |n, line| {
            seen.push((n, line.to_owned()));
            Ok(())
        })?;
        Ok(seen)
    }

    #[test]
    fn lines_come_one_by_one_with_their_numbers_whatever_their_ends() {
        let long = "x".repeat(3 * LINE_READ_BUFFER);
        let text = format!("a\n\nb\r\n{long}\nü\nlast");
        let seen = lines_of(text.as_bytes()).unwrap();
        let expected = [
            (0, "a"),
            (2, "b"),
            (3, long.as_str()),
            (4, "ü"),
            (5, "last"),
        ];
        let expected: Vec<(usize, String)> = expected
            .iter()
            .map(|(n, l)| (*n, (*l).to_owned()))
            .collect();
        assert_eq!(seen, expected);
        assert!(lines_of(b"").unwrap().is_empty());
    }

    #[test]
    fn a_line_that_is_not_utf8_or_a_failing_line_is_named_by_part_and_number() {
        let err = lines_of(b"a\nb\n\xff\xfe\n").unwrap_err();
        assert!(err.message().contains("p.zst, line 3"), "{}", err.message());
        let err = for_each_line(&compressed(b"a\nb\n"), "p.zst", |n, _| {
            if n == 1 {
                Err(StoreError::invalid_input("refused"))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!(err.message(), "archive part p.zst, line 2: refused");
        let err = for_each_line(b"not zstd", "p.zst", |_, _| Ok(())).unwrap_err();
        assert!(err.message().contains("p.zst"), "{}", err.message());
    }
}
