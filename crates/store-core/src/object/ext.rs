//! [`ObjectStoreExt`]: typed and file conveniences for every [`ObjectStore`].

use std::path::Path;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ByteStream, GetOptions, ObjectStore, PutOptions, PutResult};
use crate::error::{ErrorKind, Result, StoreError};
use crate::keys::ObjectKey;

/// Chunk size used when streaming files from disk.
const FILE_CHUNK: usize = 256 * 1024;

/// Conveniences over [`ObjectStore`], available on every store including `dyn ObjectStore`.
///
/// ```
/// # tokio_test_block(async {
/// use std::sync::Arc;
/// use store_core::{memory::MemoryObjectStore, ObjectKey, ObjectStore, ObjectStoreExt};
/// let store: Arc<dyn ObjectStore> = Arc::new(MemoryObjectStore::new());
/// let key = ObjectKey::new("greeting.txt").unwrap();
/// store.put_str(&key, "hello").await.unwrap();
/// assert_eq!(store.get_string(&key).await.unwrap(), "hello");
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[async_trait]
pub trait ObjectStoreExt: ObjectStore {
    /// Stores bytes with default options.
    async fn put_bytes(&self, key: &ObjectKey, body: Bytes) -> Result<PutResult> {
        self.put(key, body, PutOptions::default()).await
    }

    /// Stores UTF-8 text as `text/plain; charset=utf-8`.
    async fn put_str(&self, key: &ObjectKey, text: &str) -> Result<PutResult> {
        let options = PutOptions::new().content_type("text/plain; charset=utf-8");
        self.put(key, Bytes::copy_from_slice(text.as_bytes()), options)
            .await
    }

    /// Stores a value as JSON (`application/json`).
    async fn put_json<T: Serialize + Sync + ?Sized>(
        &self,
        key: &ObjectKey,
        value: &T,
    ) -> Result<PutResult> {
        let body = serde_json::to_vec(value).map_err(|e| {
            StoreError::invalid_input(format!("cannot encode the value as JSON: {e}"))
                .with_target(key.as_str())
        })?;
        let options = PutOptions::new().content_type("application/json");
        self.put(key, Bytes::from(body), options).await
    }

    /// Reads a whole object into memory.
    async fn get_bytes(&self, key: &ObjectKey) -> Result<Bytes> {
        self.get(key, GetOptions::default()).await?.bytes().await
    }

    /// Reads a whole object as UTF-8 text; invalid UTF-8 is `InvalidInput`.
    async fn get_string(&self, key: &ObjectKey) -> Result<String> {
        let bytes = self.get_bytes(key).await?;
        String::from_utf8(bytes.to_vec()).map_err(|e| {
            StoreError::invalid_input(format!("object is not UTF-8 text: {e}"))
                .with_target(key.as_str())
        })
    }

    /// Reads a JSON object into `T`.
    async fn get_json<T: DeserializeOwned>(&self, key: &ObjectKey) -> Result<T> {
        let bytes = self.get_bytes(key).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::invalid_input(format!("object is not the expected JSON: {e}"))
                .with_target(key.as_str())
        })
    }

    /// Whether an object exists at `key`.
    async fn exists(&self, key: &ObjectKey) -> Result<bool> {
        match self.head(key).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Uploads a file, streamed from disk in chunks (never whole in memory).
    async fn upload_file(
        &self,
        path: &Path,
        key: &ObjectKey,
        options: PutOptions,
    ) -> Result<PutResult> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| io_error("open", path, e))?;
        self.put_stream(key, file_stream(file, path.to_owned()), options)
            .await
    }

    /// Downloads an object to `path` atomically: the body is streamed into a temporary file in
    /// the same folder, synced, then renamed over `path`. On any failure the temporary file is
    /// removed and `path` is untouched. Returns the number of bytes written.
    async fn download_file(&self, key: &ObjectKey, path: &Path) -> Result<u64> {
        let result = self.get(key, GetOptions::default()).await?;
        write_atomically(path, result.body).await
    }
}

impl<S: ObjectStore + ?Sized> ObjectStoreExt for S {}

fn io_error(action: &str, path: &Path, e: std::io::Error) -> StoreError {
    let kind = match e.kind() {
        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
        std::io::ErrorKind::PermissionDenied => ErrorKind::Unauthorized,
        _ => ErrorKind::Internal,
    };
    StoreError::new(kind, format!("cannot {action} `{}`: {e}", path.display())).with_source(e)
}

/// Streams a file in fixed-size chunks.
fn file_stream(file: tokio::fs::File, path: std::path::PathBuf) -> ByteStream {
    futures::stream::unfold(Some((file, path)), |state| async move {
        let (mut file, path) = state?;
        let mut buf = vec![0u8; FILE_CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some((file, path))))
            }
            Err(e) => Some((Err(io_error("read", &path, e)), None)),
        }
    })
    .boxed()
}

/// Writes a stream to a temporary sibling of `path`, syncs it and renames it into place.
pub(crate) async fn write_atomically(path: &Path, mut body: ByteStream) -> Result<u64> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| {
            StoreError::invalid_input(format!("`{}` does not name a file", path.display()))
        })?
        .to_string_lossy();
    let temp = dir.join(format!(".{name}.{}.part", std::process::id() ^ nonce()));
    let outcome: Result<u64> = async {
        let mut file = tokio::fs::File::create(&temp)
            .await
            .map_err(|e| io_error("create", &temp, e))?;
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            file.write_all(&chunk)
                .await
                .map_err(|e| io_error("write", &temp, e))?;
            written += chunk.len() as u64;
        }
        file.sync_all()
            .await
            .map_err(|e| io_error("sync", &temp, e))?;
        drop(file);
        tokio::fs::rename(&temp, path)
            .await
            .map_err(|e| io_error("rename into", path, e))?;
        Ok(written)
    }
    .await;
    if outcome.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    outcome
}

fn nonce() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    COUNTER
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(2_654_435_761)
}
