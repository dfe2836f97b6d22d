//! Where an archive's files live: under a prefix of any object store, or in a plain local
//! directory (ordinary files that `zstd`, `jq` and `sha256sum` open directly).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use store_core::object::{ByteStream, GetOptions, ListEntry, ListOptions, PutMode, PutOptions};
use store_core::{ErrorKind, ObjectKey, ObjectStore, ObjectStoreExt, Result, StoreError};

use super::join;
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

    /// The files under the folder `dir` (relative to the archive, without a trailing `/`)
    /// and their sizes, by path relative to the archive: one listing, however many files.
    pub(crate) async fn sizes_under(&self, dir: &str) -> Result<HashMap<String, u64>> {
        let mut sizes = HashMap::new();
        match self {
            Storage::Objects { store, prefix } => {
                let under = join(prefix, &format!("{dir}/"));
                let strip = under.len() - dir.len() - 1;
                let mut listing = store.list(ListOptions::new().prefix(under.clone()));
                while let Some(entry) = listing.try_next().await? {
                    if let ListEntry::Object(meta) = entry {
                        sizes.insert(meta.key.as_str()[strip..].to_owned(), meta.size);
                    }
                }
            }
            Storage::Dir(root) => {
                let mut entries = match tokio::fs::read_dir(root.join(dir)).await {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(sizes),
                    Err(e) => return Err(io_error(&root.join(dir), e)),
                };
                while let Some(entry) = entries
                    .next_entry()
                    .await
                    .map_err(|e| io_error(&root.join(dir), e))?
                {
                    let meta = entry
                        .metadata()
                        .await
                        .map_err(|e| io_error(&entry.path(), e))?;
                    if meta.is_file() {
                        let name = entry.file_name().to_string_lossy().into_owned();
                        sizes.insert(format!("{dir}/{name}"), meta.len());
                    }
                }
            }
        }
        Ok(sizes)
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

/// How much of a file is read at a time.
pub(super) const CHUNK: usize = 1 << 20;

impl Storage {
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
                let len = file.metadata().await.map_err(|e| io_error(&full, e))?.len();
                // Each read's buffer is sized to what is left (a small blob's is small), not
                // a whole chunk that a truncated `Bytes` would keep alive.
                let state = (file, full, len);
                Ok(
                    futures::stream::try_unfold(state, |(mut file, full, left)| async move {
                        let mut buf = vec![0u8; left.clamp(1, CHUNK as u64) as usize];
                        let n = file.read(&mut buf).await.map_err(|e| io_error(&full, e))?;
                        if n == 0 {
                            return Ok(None);
                        }
                        buf.truncate(n);
                        let left = left.saturating_sub(n as u64);
                        Ok(Some((Bytes::from(buf), (file, full, left))))
                    })
                    .boxed(),
                )
            }
        }
    }
}

pub(super) fn io_error(path: &std::path::Path, e: std::io::Error) -> StoreError {
    StoreError::unavailable(format!("{}: {e}", path.display()))
}
