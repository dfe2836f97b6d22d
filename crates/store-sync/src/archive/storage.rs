//! Where an archive's files live: under a prefix of any object store, or in a plain local
//! directory (ordinary files that `zstd`, `jq` and `sha256sum` open directly).

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use store_core::object::PutOptions;
use store_core::{ErrorKind, ObjectKey, ObjectStore, ObjectStoreExt, Result, StoreError};

use super::join;
use crate::files::write_atomically;

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
