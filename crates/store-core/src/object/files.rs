//! The default file transfers of [`ObjectStore`]: streamed uploads and atomic downloads that
//! work on any backend.

use std::path::Path;

use bytes::Bytes;
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ByteStream, GetOptions, ObjectStore, PutOptions, PutResult};
use crate::error::{ErrorKind, Result, StoreError};
use crate::keys::ObjectKey;

/// Chunk size used when streaming files from disk.
const FILE_CHUNK: usize = 256 * 1024;

/// Uploads a file streamed from disk in chunks (never whole in memory) through
/// [`ObjectStore::put_stream`]: the default of [`ObjectStore::upload_file`].
///
/// Backends that override `upload_file` can fall back on it, and callers can pick this
/// generic path on purpose.
pub async fn upload_file_streamed<S: ObjectStore + ?Sized>(
    store: &S,
    path: &Path,
    key: &ObjectKey,
    options: PutOptions,
) -> Result<PutResult> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| io_error("open", path, e))?;
    store
        .put_stream(key, file_stream(file, path.to_owned()), options)
        .await
}

/// Downloads an object to `path` atomically with one [`ObjectStore::get`]: the body is
/// streamed into a temporary file in the same folder, synced, then renamed over `path`. On
/// any failure the temporary file is removed and `path` is untouched. Returns the number of
/// bytes written. The default of [`ObjectStore::download_file`].
pub async fn download_file_streamed<S: ObjectStore + ?Sized>(
    store: &S,
    key: &ObjectKey,
    path: &Path,
) -> Result<u64> {
    let result = store.get(key, GetOptions::default()).await?;
    let expected = result.range.end - result.range.start;
    write_atomically(path, result.body, Some(expected)).await
}

/// An error of the local file system, told apart from errors of the store.
fn io_error(action: &str, path: &Path, e: std::io::Error) -> StoreError {
    let kind = match e.kind() {
        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
        _ => ErrorKind::Internal,
    };
    StoreError::new(
        kind,
        format!("cannot {action} the local file `{}`: {e}", path.display()),
    )
    .with_source(e)
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

/// Removes the temporary file when dropped, unless the download completed: a failed or
/// cancelled download leaves nothing behind.
struct TempFileGuard {
    path: Option<std::path::PathBuf>,
}

impl Drop for TempFileGuard {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Creates a new, uniquely named temporary sibling of `path` (never following or replacing an
/// existing file or symlink).
async fn create_temp_sibling(path: &Path) -> Result<(tokio::fs::File, std::path::PathBuf)> {
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
    let mut last_error = None;
    for _ in 0..8 {
        let temp = dir.join(format!(".{name}.{:016x}.part", random_suffix()));
        match tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .await
        {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => return Err(io_error("create", &temp, e)),
        }
    }
    let e = last_error.unwrap_or_else(|| std::io::Error::other("no free temporary name"));
    Err(io_error("create a temporary file next to", path, e))
}

/// Writes a stream to a temporary sibling of `path`, syncs it and renames it into place.
///
/// When `expected_len` is given, a body that ends early is an error and nothing is renamed.
async fn write_atomically(
    path: &Path,
    mut body: ByteStream,
    expected_len: Option<u64>,
) -> Result<u64> {
    let (mut file, temp) = create_temp_sibling(path).await?;
    let mut guard = TempFileGuard {
        path: Some(temp.clone()),
    };
    let mut written = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        file.write_all(&chunk)
            .await
            .map_err(|e| io_error("write", &temp, e))?;
        written += chunk.len() as u64;
    }
    if let Some(expected) = expected_len
        && written != expected
    {
        return Err(StoreError::unavailable(format!(
            "the download ended after {written} of {expected} bytes; `{}` was left untouched",
            path.display()
        )));
    }
    file.sync_all()
        .await
        .map_err(|e| io_error("sync", &temp, e))?;
    drop(file);
    tokio::fs::rename(&temp, path)
        .await
        .map_err(|e| io_error("rename into", path, e))?;
    guard.path = None;
    Ok(written)
}

/// 64 random bits for temporary names, from the OS-seeded hasher and a counter.
fn random_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use futures::StreamExt;

    use super::*;

    fn scratch_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("store-core-{name}-{:x}", random_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_mid_stream_error_leaves_the_target_untouched_and_no_temp_file() {
        let dir = scratch_dir("midstream");
        let target = dir.join("out.bin");
        std::fs::write(&target, b"previous").unwrap();
        let body = futures::stream::iter([
            Ok(Bytes::from_static(b"partial")),
            Err(StoreError::unavailable("connection reset")),
        ])
        .boxed();
        let err = write_atomically(&target, body, None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(std::fs::read(&target).unwrap(), b"previous");
        assert_eq!(entries(&dir), ["out.bin"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_short_body_is_an_error_not_a_truncated_file() {
        let dir = scratch_dir("short");
        let target = dir.join("out.bin");
        let body = futures::stream::iter([Ok(Bytes::from_static(b"12345"))]).boxed();
        let err = write_atomically(&target, body, Some(10)).await.unwrap_err();
        assert!(err.message().contains("5 of 10"), "{err}");
        assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_cancelled_download_removes_its_temp_file() {
        let dir = scratch_dir("cancel");
        let target = dir.join("out.bin");
        let body = futures::stream::iter([Ok(Bytes::from_static(b"first"))])
            .chain(futures::stream::pending())
            .boxed();
        let outcome = tokio::time::timeout(
            Duration::from_millis(50),
            write_atomically(&target, body, None),
        )
        .await;
        assert!(
            outcome.is_err(),
            "the stalled download should have timed out"
        );
        assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_complete_download_replaces_the_target_atomically() {
        let dir = scratch_dir("complete");
        let target = dir.join("out.bin");
        std::fs::write(&target, b"old").unwrap();
        let body = futures::stream::iter([Ok(Bytes::from_static(b"new "))])
            .chain(futures::stream::iter([Ok(Bytes::from_static(b"content"))]))
            .boxed();
        assert_eq!(write_atomically(&target, body, Some(11)).await.unwrap(), 11);
        assert_eq!(std::fs::read(&target).unwrap(), b"new content");
        assert_eq!(entries(&dir), ["out.bin"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn temp_names_do_not_repeat() {
        let a = random_suffix();
        let b = random_suffix();
        assert_ne!(a, b);
    }
}
