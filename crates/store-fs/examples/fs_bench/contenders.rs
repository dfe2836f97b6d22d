//! The contenders: `FsStore` and object_store's `LocalFileSystem` (without and with fsync),
//! each doing the same operations through its own API.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::{ObjectStoreExt as _, PutPayload, WriteMultipart};
use store_core::object::{ByteStream, GetOptions, PutOptions};
use store_core::{ObjectKey, ObjectStore};
use store_fs::FsStore;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Who is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Who {
    /// store-fs: every write synced, content etags.
    Ours,
    /// `LocalFileSystem` as it comes: no fsync.
    Lfs,
    /// `LocalFileSystem::with_fsync(true)`: durable like ours.
    LfsFsync,
}

impl Who {
    pub(crate) const ALL: [Who; 3] = [Who::Ours, Who::Lfs, Who::LfsFsync];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Who::Ours => "ours",
            Who::Lfs => "lfs",
            Who::LfsFsync => "lfs+fsync",
        }
    }
}

/// An opened contender.
pub(crate) enum Store {
    Ours(FsStore),
    Lfs(Arc<LocalFileSystem>),
}

impl Store {
    /// Opens `who` in the empty folder `dir`.
    pub(crate) async fn open(who: Who, dir: &Path) -> Result<Self, BoxError> {
        std::fs::create_dir_all(dir)?;
        Ok(match who {
            Who::Ours => Store::Ours(FsStore::builder(dir).sweep_on_open(false).build().await?),
            Who::Lfs => Store::Lfs(Arc::new(LocalFileSystem::new_with_prefix(dir)?)),
            Who::LfsFsync => Store::Lfs(Arc::new(
                LocalFileSystem::new_with_prefix(dir)?.with_fsync(true),
            )),
        })
    }

    /// Puts `count` objects of `body`, `concurrency` at a time.
    pub(crate) async fn small_puts(
        &self,
        count: usize,
        concurrency: usize,
        body: Bytes,
    ) -> Result<Duration, BoxError> {
        let started = Instant::now();
        futures::stream::iter(0..count)
            .map(|i| {
                let body = body.clone();
                async move {
                    let name = format!("small/{i:05}");
                    match self {
                        Store::Ours(s) => {
                            s.put(&ObjectKey::new(name)?, body, PutOptions::new())
                                .await?;
                        }
                        Store::Lfs(s) => {
                            s.put(&name.as_str().into(), PutPayload::from_bytes(body))
                                .await?;
                        }
                    }
                    Ok::<_, BoxError>(())
                }
            })
            .buffer_unordered(concurrency)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(started.elapsed())
    }

    /// Gets the `count` objects back whole, `concurrency` at a time, checking their sizes.
    pub(crate) async fn small_gets(
        &self,
        count: usize,
        concurrency: usize,
        size: usize,
    ) -> Result<Duration, BoxError> {
        let started = Instant::now();
        futures::stream::iter(0..count)
            .map(|i| async move {
                let name = format!("small/{i:05}");
                let body = match self {
                    Store::Ours(s) => {
                        let key = ObjectKey::new(name)?;
                        s.get(&key, GetOptions::new()).await?.bytes().await?
                    }
                    Store::Lfs(s) => s.get(&name.as_str().into()).await?.bytes().await?,
                };
                if body.len() != size {
                    return Err(format!("object {i} has {} bytes", body.len()).into());
                }
                Ok::<_, BoxError>(())
            })
            .buffer_unordered(concurrency)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(started.elapsed())
    }

    /// Streams the file `source` into the object `large`, 1 MiB at a time: `put_stream` for
    /// ours, a multipart upload (`WriteMultipart`, at most 4 parts in flight) for
    /// `LocalFileSystem`.
    pub(crate) async fn large_put(&self, source: &Path) -> Result<Duration, BoxError> {
        let started = Instant::now();
        let chunks = file_chunks(source.to_path_buf());
        match self {
            Store::Ours(s) => {
                s.put_stream(&ObjectKey::new("large")?, chunks, PutOptions::new())
                    .await?;
            }
            Store::Lfs(s) => {
                let upload = s.put_multipart(&"large".into()).await?;
                let mut writer = WriteMultipart::new(upload);
                let mut chunks = chunks;
                while let Some(chunk) = chunks.next().await {
                    writer.wait_for_capacity(4).await?;
                    writer.put(chunk?);
                }
                writer.finish().await?;
            }
        }
        Ok(started.elapsed())
    }

    /// `upload_file` of ours (one blocking copy loop), for the same file.
    pub(crate) async fn upload_file(&self, source: &Path) -> Result<Duration, BoxError> {
        let started = Instant::now();
        if let Store::Ours(s) = self {
            s.upload_file(source, &ObjectKey::new("uploaded")?, PutOptions::new())
                .await?;
        }
        Ok(started.elapsed())
    }

    /// Streams the object `large` back, counting bytes (never holding it whole).
    pub(crate) async fn large_get(&self, size: u64) -> Result<Duration, BoxError> {
        let started = Instant::now();
        let mut body: ByteStream = match self {
            Store::Ours(s) => {
                s.get(&ObjectKey::new("large")?, GetOptions::new())
                    .await?
                    .body
            }
            Store::Lfs(s) => s
                .get(&"large".into())
                .await?
                .into_stream()
                .map_err(|e| store_core::StoreError::internal(e.to_string()))
                .boxed(),
        };
        let mut total = 0u64;
        while let Some(chunk) = body.next().await {
            total += chunk?.len() as u64;
        }
        if total != size {
            return Err(format!("read {total} of {size} bytes").into());
        }
        Ok(started.elapsed())
    }
}

/// A file read in 1 MiB chunks.
fn file_chunks(path: PathBuf) -> ByteStream {
    use tokio::io::AsyncReadExt;
    futures::stream::try_unfold(None, move |file: Option<tokio::fs::File>| {
        let path = path.clone();
        async move {
            let mut file = match file {
                Some(file) => file,
                None => tokio::fs::File::open(&path)
                    .await
                    .map_err(|e| store_core::StoreError::internal(e.to_string()))?,
            };
            let mut buf = vec![0u8; 1024 * 1024];
            let mut filled = 0;
            while filled < buf.len() {
                let n = file
                    .read(&mut buf[filled..])
                    .await
                    .map_err(|e| store_core::StoreError::internal(e.to_string()))?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                return Ok(None);
            }
            buf.truncate(filled);
            Ok(Some((Bytes::from(buf), Some(file))))
        }
    })
    .boxed()
}
