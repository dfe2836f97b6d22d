//! Where an archive's files live: under a prefix of any object store, or in a plain local
//! directory (ordinary files that `zstd`, `jq` and `sha256sum` open directly).

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use sha2::{Digest as _, Sha256};
use store_core::object::{ByteStream, GetOptions, PutMode, PutOptions};
use store_core::{ErrorKind, ObjectKey, ObjectStore, ObjectStoreExt, Result, StoreError};

use super::join;
use crate::digest::hex;
use crate::files::{create_durably, write_atomically};

/// An archive's home.
#[derive(Debug, Clone)]
pub(crate) enum Storage {
    /// Objects under a key prefix.
    Objects {
        store: Arc<dyn ObjectStore>,
        prefix: String,
    },
    /// Files in a directory, written atomically (temporary file, fsync, rename).
    Dir(PathBuf),
}

impl Storage {
    /// The file at `path` (relative to the archive), or `None` if there is none.
    pub(crate) async fn read(&self, path: &str) -> Result<Option<Bytes>> {
        match self {
            Storage::Objects { store, prefix } => {
                match store.get_bytes(&ObjectKey::new(join(prefix, path))?).await {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            }
            Storage::Dir(root) => match tokio::fs::read(root.join(path)).await {
                Ok(bytes) => Ok(Some(Bytes::from(bytes))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(StoreError::unavailable(format!(
                    "cannot read {}: {e}",
                    root.join(path).display()
                ))),
            },
        }
    }

    /// Writes (or replaces) the file at `path`; durable when this returns.
    pub(crate) async fn write(&self, path: &str, body: Vec<u8>, content_type: &str) -> Result<()> {
        match self {
            Storage::Objects { store, prefix } => store
                .put(
                    &ObjectKey::new(join(prefix, path))?,
                    Bytes::from(body),
                    PutOptions::new().content_type(content_type),
                )
                .await
                .map(|_| ()),
            Storage::Dir(root) => {
                let target = root.join(path);
                tokio::task::spawn_blocking(move || {
                    write_atomically(&target, &body).map_err(|e| {
                        StoreError::unavailable(format!("cannot write {}: {e}", target.display()))
                    })
                })
                .await
                .map_err(|e| StoreError::internal(format!("archive writer failed: {e}")))?
            }
        }
    }
}

impl Storage {
    /// Creates the file at `path` unless one is there already: `true` when this call made
    /// it (durable when this returns), `false` when it was there before.
    pub(crate) async fn create(
        &self,
        path: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<bool> {
        match self {
            Storage::Objects { store, prefix } => {
                let options = PutOptions::new()
                    .content_type(content_type)
                    .mode(PutMode::CreateOnly);
                let key = ObjectKey::new(join(prefix, path))?;
                match store.put(&key, Bytes::from(body), options).await {
                    Ok(_) => Ok(true),
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Storage::Dir(root) => {
                let target = root.join(path);
                tokio::task::spawn_blocking(move || {
                    create_durably(&target, &body).map_err(|e| io_error(&target, e))
                })
                .await
                .map_err(|e| StoreError::internal(format!("archive writer failed: {e}")))?
            }
        }
    }

    /// The file at `path` for messages: its path, or its store and key.
    pub(crate) fn describe(&self, path: &str) -> String {
        match self {
            Storage::Objects { store, prefix } => {
                format!("{} object {}", store.backend(), join(prefix, path))
            }
            Storage::Dir(root) => root.join(path).display().to_string(),
        }
    }
}

/// How much of a blob is read or written at a time.
const CHUNK: usize = 1 << 20;

/// Distinguishes temporary blob names within one process.
static TEMP_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn temp_name() -> String {
    let n = TEMP_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("blobs/.tmp-{}-{n}", std::process::id())
}

impl Storage {
    /// Stores a body as the blob `blobs/<sha256>`, streaming it (memory stays bounded by one
    /// chunk), and returns its SHA-256 in hex and its size. A blob already there is kept.
    pub(crate) async fn write_blob(&self, mut body: ByteStream) -> Result<(String, u64)> {
        match self {
            Storage::Dir(root) => {
                use tokio::io::AsyncWriteExt as _;
                let temp = root.join(temp_name());
                let blobs = root.join("blobs");
                tokio::task::spawn_blocking(move || crate::files::create_dirs_durably(&blobs))
                    .await
                    .map_err(|e| StoreError::internal(format!("mkdir failed: {e}")))?
                    .map_err(|e| io_error(&temp, e))?;
                let mut file = tokio::fs::File::create(&temp)
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
                let target = root.join(format!("blobs/{sha}"));
                tokio::fs::rename(&temp, &target)
                    .await
                    .map_err(|e| io_error(&target, e))?;
                let dir = root.join("blobs");
                tokio::task::spawn_blocking(move || std::fs::File::open(&dir)?.sync_all())
                    .await
                    .map_err(|e| StoreError::internal(format!("fsync failed: {e}")))?
                    .map_err(|e| io_error(&target, e))?;
                Ok((sha, size))
            }
            Storage::Objects { store, prefix } => {
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
                let target = ObjectKey::new(join(prefix, &format!("blobs/{sha}")))?;
                let copied = match store.head(&target).await {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == ErrorKind::NotFound => store.copy(&temp, &target).await,
                    Err(e) => Err(e),
                };
                let removed = store.delete(&temp).await;
                copied?;
                removed?;
                Ok((sha, size))
            }
        }
    }

    /// The body of the file at `path`, streamed in chunks; a missing file is `NotFound`.
    pub(crate) async fn read_stream(&self, path: &str) -> Result<ByteStream> {
        match self {
            Storage::Objects { store, prefix } => Ok(store
                .get(&ObjectKey::new(join(prefix, path))?, GetOptions::new())
                .await?
                .body),
            Storage::Dir(root) => {
                use tokio::io::AsyncReadExt as _;
                let full = root.join(path);
                let file = match tokio::fs::File::open(&full).await {
                    Ok(file) => file,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(StoreError::not_found(format!(
                            "{} does not exist",
                            full.display()
                        )));
                    }
                    Err(e) => return Err(io_error(&full, e)),
                };
                Ok(
                    futures::stream::try_unfold((file, full), |(mut file, full)| async move {
                        let mut buf = vec![0u8; CHUNK];
                        let n = file.read(&mut buf).await.map_err(|e| io_error(&full, e))?;
                        if n == 0 {
                            return Ok(None);
                        }
                        buf.truncate(n);
                        Ok(Some((Bytes::from(buf), (file, full))))
                    })
                    .boxed(),
                )
            }
        }
    }
}

fn io_error(path: &std::path::Path, e: std::io::Error) -> StoreError {
    StoreError::unavailable(format!("{}: {e}", path.display()))
}
