//! File transfers, the size known up front: uploads streamed from disk (multipart above the
//! threshold, part size chosen from the size) and downloads in ranged parts fetched in
//! parallel into a temporary file, synced and renamed into place, so a failure never leaves
//! a truncated file under the target name.

use std::path::{Path, PathBuf};

use futures::StreamExt;
use store_core::object::{ByteRange, GetOptions, PutOptions, PutResult};
use store_core::{ObjectKey, Result, StoreError};

use crate::client::{BucketClient, meta_of_head};
use crate::error::{io_error, local};
use crate::multipart::WriteOptions;
use crate::options::{ReadOptions, S3PutOptions};
use crate::transfer::TransferConfig;

mod part_writer;

use part_writer::PartWriter;

/// Uploads a file from disk, streamed, as a multipart upload above the threshold with a part
/// size chosen from the file's size (so no file needs more than 10,000 parts, and a file over
/// S3's limit is refused before anything is sent).
pub(crate) async fn upload_file(
    client: &BucketClient,
    transfer: &TransferConfig,
    path: &Path,
    key: &ObjectKey,
    options: PutOptions,
    s3: &S3PutOptions,
) -> Result<PutResult> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| io_error("open", path, e))?;
    let size = file
        .metadata()
        .await
        .map_err(|e| io_error("read the size of", path, e))?
        .len();
    let source = crate::multipart::Source::file(file.into_std().await, path.to_owned());
    crate::multipart::upload(
        client,
        transfer,
        key,
        source,
        WriteOptions { options, s3 },
        Some(size),
        "upload_file",
    )
    .await
}

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

/// Downloads an object to `path`: ranged parts fetched in parallel (above the multipart
/// threshold) into a temporary file in the same folder, synced, then renamed over `path`.
/// Every part is pinned to the object's etag, and a broken connection resumes where it
/// stopped. On failure the temporary file is removed and `path` is untouched. Returns the
/// number of bytes written.
pub(crate) async fn download_file(
    client: &BucketClient,
    transfer: &TransferConfig,
    key: &ObjectKey,
    path: &Path,
    read: &ReadOptions,
) -> Result<u64> {
    let head = client.head_with(key, read, "download_file").await?;
    let meta = meta_of_head(key, &head);
    let mut temp = TempFile {
        path: temp_path(path).map_err(|e| local(e, "download_file", key.as_str()))?,
        keep: false,
    };
    let file = tokio::fs::File::create(&temp.path)
        .await
        .map_err(|e| io_error("create", &temp.path, e))?;
    file.set_len(meta.size)
        .await
        .map_err(|e| io_error("size", &temp.path, e))?;
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
            let part = Part {
                start,
                end,
                etag: etag.clone(),
            };
            download_part(client, transfer, key, part, read, &temp_path)
        })
        .collect();
    let mut written = 0u64;
    let mut results = futures::stream::iter(parts).buffer_unordered(transfer.download_concurrency);
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
}

/// Bytes `start..end` of an object, pinned to its etag.
struct Part {
    start: u64,
    end: u64,
    etag: Option<String>,
}

/// Fetches one part into the file at the same offset.
async fn download_part(
    client: &BucketClient,
    transfer: &TransferConfig,
    key: &ObjectKey,
    part: Part,
    read: &ReadOptions,
    temp: &Path,
) -> Result<u64> {
    let Part { start, end, etag } = part;
    if start >= end {
        return Ok(0);
    }
    let mut options = GetOptions::new().range(ByteRange::Bounded { start, end });
    if let Some(etag) = etag {
        options = options.if_match(etag);
    }
    let mut file = PartWriter::open(temp, start).await?;
    let got = client
        .get_object(
            key,
            options,
            read,
            transfer.download_resumes,
            "download_file",
        )
        .await?;
    let mut body = got.body;
    let mut written = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        file.write(&chunk).await?;
        written += chunk.len() as u64;
    }
    file.flush().await?;
    if written != end - start {
        return Err(StoreError::unavailable(format!(
            "part {start}..{end} ended after {written} bytes"
        ))
        .in_context(crate::BACKEND, "download_file"));
    }
    Ok(written)
}
