//! Downloads to files: ranged parts in parallel into a temporary file, synced and renamed into
//! place, so a failure never leaves a truncated file under the target name.

use std::path::{Path, PathBuf};

use futures::StreamExt;
use store_core::object::{ByteRange, GetOptions};
use store_core::{ObjectKey, Result, StoreError};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use crate::store::{S3Store, io_error};

/// Removes the temporary file unless the download finished.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn temp_path(path: &Path) -> Result<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let name = path.file_name().ok_or_else(|| {
        StoreError::invalid_input(format!("`{}` does not name a file", path.display()))
    })?;
    Ok(dir.join(format!(
        ".{}.{}-{}.part",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )))
}

impl S3Store {
    /// Downloads an object to `path`: ranged parts fetched in parallel (above the multipart
    /// threshold) into a temporary file in the same folder, synced, then renamed over `path`.
    /// Every part is pinned to the object's etag, and a broken connection resumes where it
    /// stopped. On failure the temporary file is removed and `path` is untouched. Returns the
    /// number of bytes written.
    ///
    /// This inherent method shadows
    /// [`ObjectStoreExt::download_file`](store_core::ObjectStoreExt::download_file), which
    /// streams the object in one request.
    pub async fn download_file(&self, key: &ObjectKey, path: &Path) -> Result<u64> {
        self.traced("download_file", key.as_str(), async {
            let meta = self.head_object(key, "download_file").await?;
            tracing::Span::current().record("bytes", meta.size);
            let mut temp = TempFile {
                path: temp_path(path)
                    .map_err(|e| crate::error::local(e, "download_file", key.as_str()))?,
                keep: false,
            };
            let file = tokio::fs::File::create(&temp.path)
                .await
                .map_err(|e| io_error("create", &temp.path, e))?;
            file.set_len(meta.size)
                .await
                .map_err(|e| io_error("size", &temp.path, e))?;
            let transfer = self.transfer();
            let part = if meta.size <= transfer.multipart_threshold {
                meta.size.max(1)
            } else {
                transfer.part_size_for(meta.size)
            };
            let count = meta.size.div_ceil(part);
            let etag = meta.etag.clone();
            let temp_path = temp.path.clone();
            let parts: Vec<_> = (0..count)
                .map(|i| {
                    let start = i * part;
                    let end = (start + part).min(meta.size);
                    self.download_part(key, etag.clone(), &temp_path, start, end)
                })
                .collect();
            let mut written = 0u64;
            let mut results = futures::stream::iter(parts).buffer_unordered(transfer.concurrency);
            while let Some(result) = results.next().await {
                written += result?;
            }
            file.sync_all()
                .await
                .map_err(|e| io_error("sync", &temp.path, e))?;
            drop(file);
            tokio::fs::rename(&temp.path, path)
                .await
                .map_err(|e| io_error("rename into", path, e))?;
            temp.keep = true;
            Ok(written)
        })
        .await
    }

    /// Fetches bytes `start..end` into the file at the same offset.
    async fn download_part(
        &self,
        key: &ObjectKey,
        etag: Option<String>,
        temp: &Path,
        start: u64,
        end: u64,
    ) -> Result<u64> {
        if start >= end {
            return Ok(0);
        }
        let mut options = GetOptions::new().range(ByteRange::Bounded { start, end });
        if let Some(etag) = etag {
            options = options.if_match(etag);
        }
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(temp)
            .await
            .map_err(|e| io_error("open", temp, e))?;
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| io_error("seek in", temp, e))?;
        let got = self.get_object_for(key, options, "download_file").await?;
        let mut body = got.body;
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            file.write_all(&chunk)
                .await
                .map_err(|e| io_error("write", temp, e))?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(|e| io_error("write", temp, e))?;
        if written != end - start {
            return Err(StoreError::unavailable(format!(
                "part {start}..{end} ended after {written} bytes"
            ))
            .in_context(crate::BACKEND, "download_file"));
        }
        Ok(written)
    }
}
