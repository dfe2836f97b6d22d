//! Object bodies in an archive: each stored once, as `blobs/<sha256>`, whatever the number of
//! objects that hold it. A body that fits in one chunk (most objects) is hashed first and not
//! written at all when its blob is there already; a larger one streams through a temporary
//! file or object that becomes its blob, so memory stays bounded by about a chunk per body
//! either way. A blob is whole or absent: written to a temporary name, synced, then renamed
//! or copied into place; the `blobs/` folder is synced once for a batch, before the part
//! that names its blobs is written ([`Storage::sync_blobs`]), not once a blob. Blobs are content-addressed, so two writers of one (partitions
//! of one backup) write the same bytes, and replacing one changes nothing.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use sha2::{Digest as _, Sha256};
use store_core::object::{ByteStream, PutOptions};
use store_core::{ObjectKey, ObjectStore, ObjectStoreExt as _, Result, StoreError};

use super::join;
use super::storage::{CHUNK, Storage, io_error};
use crate::digest::hex;
use crate::files::{place_atomically, unique_tag};

/// A temporary blob name no other write uses, though the processes of a partitioned backup
/// share the archive ([`unique_tag`]).
fn temp_name() -> String {
    format!("blobs/.tmp-{}", unique_tag())
}

fn blob_name(sha: &str) -> String {
    format!("blobs/{sha}")
}

/// The blob an archive's listing names by `sha`, which must be a SHA-256 in lowercase hex:
/// the listing comes from the archive, and anything else would be a path of its choosing.
pub(super) fn listed_blob(sha: &str) -> Result<String> {
    if sha.len() == 64 && sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Ok(blob_name(sha));
    }
    Err(StoreError::invalid_input(format!(
        "an object record names the blob {sha:?}, which is no SHA-256 in lowercase hex"
    )))
}

/// A body read up to a chunk: all of it, or its first chunks and the rest of the stream.
enum Head {
    Whole(Vec<Bytes>),
    Partial(Vec<Bytes>, ByteStream),
}

/// Reads `body` until it ends or holds more than [`CHUNK`] bytes.
async fn read_head(mut body: ByteStream) -> Result<Head> {
    let mut chunks = Vec::new();
    let mut size = 0usize;
    while size <= CHUNK {
        match body.try_next().await? {
            Some(chunk) => {
                size += chunk.len();
                chunks.push(chunk);
            }
            None => return Ok(Head::Whole(chunks)),
        }
    }
    Ok(Head::Partial(chunks, body))
}

impl Storage {
    /// Stores a body as the blob `blobs/<sha256>` and returns its SHA-256 in hex and its
    /// size. A blob already there is kept (for a body of up to a chunk, nothing is written);
    /// memory stays bounded by about one chunk whatever the body's size.
    pub(crate) async fn write_blob(&self, body: ByteStream) -> Result<(String, u64)> {
        match read_head(body).await? {
            Head::Whole(chunks) => self.write_small_blob(chunks).await,
            Head::Partial(chunks, rest) => {
                let body = futures::stream::iter(chunks.into_iter().map(Ok))
                    .chain(rest)
                    .boxed();
                self.stream_blob(body).await
            }
        }
    }

    /// A body held whole: hashed, then created as its blob unless the blob exists.
    async fn write_small_blob(&self, chunks: Vec<Bytes>) -> Result<(String, u64)> {
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        for chunk in &chunks {
            hasher.update(chunk);
            size += chunk.len() as u64;
        }
        let sha = hex(&hasher.finalize());
        let body: Bytes = match <[Bytes; 1]>::try_from(chunks) {
            Ok([one]) => one,
            Err(chunks) => chunks.concat().into(),
        };
        match self {
            Storage::Dir(root) => {
                let target = root.join(blob_name(&sha));
                tokio::task::spawn_blocking(move || {
                    if target.exists() {
                        return Ok(());
                    }
                    // A temporary file beside it, fsynced, renamed into place: whole or
                    // absent, even after a crash (the folder is synced before a part names
                    // it).
                    place_atomically(&target, &body)
                        .map(drop)
                        .map_err(|e| io_error(&target, e))
                })
                .await
                .map_err(|e| StoreError::internal(format!("archive writer failed: {e}")))??;
            }
            Storage::Objects { store, prefix } => {
                let target = ObjectKey::new(join(prefix, &blob_name(&sha)))?;
                // A plain put, not a create-only one: a body written twice is the same body,
                // and not every S3-compatible server takes conditional writes.
                if !store.exists(&target).await? {
                    store.put(&target, body, PutOptions::new()).await?;
                }
            }
        }
        Ok((sha, size))
    }

    /// Makes the blobs written so far durable where they are named, before a part that names
    /// them is written: the `blobs/` folder of a local archive is fsynced (a blob found there
    /// already may have been placed by another process that has not synced it yet); an
    /// object store's puts are durable when they answer.
    pub(crate) async fn sync_blobs(&self) -> Result<()> {
        let Storage::Dir(root) = self else {
            return Ok(());
        };
        let dir = root.join("blobs");
        tokio::task::spawn_blocking(move || match std::fs::File::open(&dir) {
            Ok(folder) => folder.sync_all().map_err(|e| io_error(&dir, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(&dir, e)),
        })
        .await
        .map_err(|e| StoreError::internal(format!("fsync failed: {e}")))?
    }

    /// A body larger than a chunk: streamed into a temporary file or object, hashed on the
    /// way, which then becomes its blob (or goes, when the blob exists already).
    async fn stream_blob(&self, body: ByteStream) -> Result<(String, u64)> {
        match self {
            Storage::Dir(root) => stream_into_dir(root, body).await,
            Storage::Objects { store, prefix } => stream_into_store(store, prefix, body).await,
        }
    }
}

async fn stream_into_dir(root: &Path, mut body: ByteStream) -> Result<(String, u64)> {
    use tokio::io::AsyncWriteExt as _;
    let temp = root.join(temp_name());
    let blobs = root.join("blobs");
    tokio::task::spawn_blocking(move || crate::files::create_dirs_durably(&blobs))
        .await
        .map_err(|e| StoreError::internal(format!("mkdir failed: {e}")))?
        .map_err(|e| io_error(&temp, e))?;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .await
        .map_err(|e| io_error(&temp, e))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let written = async {
        while let Some(chunk) = body.try_next().await? {
            hasher.update(&chunk);
            size += chunk.len() as u64;
            file.write_all(&chunk)
                .await
                .map_err(|e| io_error(&temp, e))?;
        }
        file.sync_all().await.map_err(|e| io_error(&temp, e))
    }
    .await;
    if let Err(e) = written {
        let _ = tokio::fs::remove_file(&temp).await;
        return Err(e);
    }
    let sha = hex(&hasher.finalize());
    let target = root.join(blob_name(&sha));
    // The folder is synced before a part names the blob (`sync_blobs`).
    tokio::fs::rename(&temp, &target)
        .await
        .map_err(|e| io_error(&target, e))?;
    Ok((sha, size))
}

async fn stream_into_store(
    store: &Arc<dyn ObjectStore>,
    prefix: &str,
    body: ByteStream,
) -> Result<(String, u64)> {
    let hasher = Arc::new(std::sync::Mutex::new((Sha256::new(), 0u64)));
    let counting = hasher.clone();
    let body: ByteStream = body
        .inspect_ok(move |chunk| {
            let mut state = counting.lock().expect("hasher lock");
            state.0.update(chunk);
            state.1 += chunk.len() as u64;
        })
        .boxed();
    let temp = ObjectKey::new(join(prefix, &temp_name()))?;
    store.put_stream(&temp, body, PutOptions::new()).await?;
    let (digest, size) = {
        let state = hasher.lock().expect("hasher lock");
        (state.0.clone().finalize(), state.1)
    };
    let sha = hex(&digest);
    let target = ObjectKey::new(join(prefix, &blob_name(&sha)))?;
    let copied = match store.exists(&target).await {
        Ok(true) => Ok(()),
        Ok(false) => store.copy(&temp, &target).await.map(|_| ()),
        Err(e) => Err(e),
    };
    let removed = store.delete(&temp).await;
    copied?;
    removed?;
    Ok((sha, size))
}

#[cfg(test)]
mod tests {
    use store_core::memory::MemoryObjectStore;
    use store_core::object::ListOptions;

    use store_core::ErrorKind;

    use super::*;

    /// `body` as a stream of chunks of `piece` bytes.
    fn stream(body: &[u8], piece: usize) -> ByteStream {
        let chunks: Vec<Result<Bytes>> = body
            .chunks(piece.max(1))
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        futures::stream::iter(chunks).boxed()
    }

    fn sha(body: &[u8]) -> String {
        hex(&Sha256::digest(body))
    }

    /// Bodies around the chunk size: empty, small, exactly one chunk, one byte more, several.
    fn bodies() -> Vec<Vec<u8>> {
        [0, 5, CHUNK, CHUNK + 1, 3 * CHUNK + 17]
            .iter()
            .map(|&n| (0..n).map(|i| (i * 31 % 251) as u8).collect())
            .collect()
    }

    #[tokio::test]
    async fn every_size_of_body_becomes_the_blob_named_by_its_hash_in_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::Dir(dir.path().to_path_buf());
        for body in bodies() {
            for piece in [7_000, 1 << 20] {
                let (name, size) = storage.write_blob(stream(&body, piece)).await.unwrap();
                assert_eq!(
                    (name.as_str(), size),
                    (sha(&body).as_str(), body.len() as u64)
                );
                let stored = std::fs::read(dir.path().join(blob_name(&name))).unwrap();
                assert!(stored == body, "blob of {} bytes differs", body.len());
            }
        }
        let names: Vec<_> = std::fs::read_dir(dir.path().join("blobs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names.len(),
            bodies().len(),
            "temporary files left: {names:?}"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_small_body_whose_blob_exists_is_not_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::Dir(dir.path().to_path_buf());
        let (name, _) = storage.write_blob(stream(b"same", 4)).await.unwrap();
        use std::os::unix::fs::MetadataExt as _;
        let path = dir.path().join(blob_name(&name));
        let before = std::fs::metadata(&path).unwrap();
        storage.write_blob(stream(b"same", 2)).await.unwrap();
        let after = std::fs::metadata(&path).unwrap();
        assert_eq!(
            (before.ino(), before.mtime_nsec()),
            (after.ino(), after.mtime_nsec())
        );
    }

    #[tokio::test]
    async fn every_size_of_body_becomes_the_blob_named_by_its_hash_in_an_object_store() {
        let store = Arc::new(MemoryObjectStore::new());
        let storage = Storage::Objects {
            store: store.clone(),
            prefix: "archive/".into(),
        };
        for body in bodies() {
            for _ in 0..2 {
                let (name, size) = storage.write_blob(stream(&body, 65_536)).await.unwrap();
                assert_eq!(
                    (name.as_str(), size),
                    (sha(&body).as_str(), body.len() as u64)
                );
                let key = ObjectKey::new(format!("archive/blobs/{name}")).unwrap();
                let stored = store_core::ObjectStoreExt::get_bytes(store.as_ref(), &key)
                    .await
                    .unwrap();
                assert!(stored == body, "blob of {} bytes differs", body.len());
            }
        }
        let keys: Vec<_> = store
            .list(ListOptions::new())
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
        assert_eq!(
            keys.len(),
            bodies().len(),
            "temporary objects left: {keys:?}"
        );
    }

    #[tokio::test]
    async fn a_body_that_fails_midway_leaves_no_blob_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::Dir(dir.path().to_path_buf());
        for size in [10, 2 * CHUNK] {
            let body: Vec<u8> = vec![1; size];
            let broken = stream(&body, 4_096)
                .chain(futures::stream::once(async {
                    Err(StoreError::unavailable("connection reset"))
                }))
                .boxed();
            let err = storage.write_blob(broken).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unavailable);
        }
        let left = std::fs::read_dir(dir.path().join("blobs"))
            .map(|entries| entries.count())
            .unwrap_or(0);
        assert_eq!(left, 0);
    }
}
