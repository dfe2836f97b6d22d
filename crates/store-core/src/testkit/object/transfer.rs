//! Files, streamed puts and presigned URLs.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use super::{ObjectStoreFactory, expect_kind, fresh, key, pattern, put, read};
use crate::error::{ErrorKind, StoreError};
use crate::object::{ByteStream, MAX_PRESIGN_EXPIRY, ObjectStoreExt, PresignMethod, PutOptions};

/// A new, empty folder under the system's temporary folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!(
            "store-core-suite-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create `{}`: {e}", path.display()));
        Self(path)
    }

    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .expect("read the temp folder")
            .map(|e| {
                e.expect("folder entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A stream of the given chunks.
fn chunks(parts: Vec<Bytes>) -> ByteStream {
    futures::stream::iter(parts.into_iter().map(Ok)).boxed()
}

/// A file uploads (streamed, with its options) and downloads to an equal file, replacing what
/// was there; the byte count is returned.
pub async fn upload_and_download_file(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let dir = TempDir::new();
    let source = dir.0.join("source.bin");
    let body = pattern(700 * 1024 + 3, 99);
    std::fs::write(&source, &body).expect("write the source file");
    let k = key("files/upload.bin");
    store
        .upload_file(
            &source,
            &k,
            PutOptions::new().content_type("application/x-test"),
        )
        .await
        .expect("upload_file");
    let meta = store.head(&k).await.expect("head uploaded");
    assert_eq!(meta.size, body.len() as u64, "uploaded size");
    assert_eq!(meta.content_type.as_deref(), Some("application/x-test"));
    assert_eq!(read(&*store, &k).await, body, "uploaded body");

    let target = dir.0.join("target.bin");
    std::fs::write(&target, b"stale content").expect("write a stale target");
    let written = store
        .download_file(&k, &target)
        .await
        .expect("download_file");
    assert_eq!(
        written,
        body.len() as u64,
        "download reports the bytes written"
    );
    assert_eq!(std::fs::read(&target).expect("read the download"), body);
    assert_eq!(
        dir.entries(),
        ["source.bin", "target.bin"],
        "no temporary file is left"
    );

    expect_kind(
        store
            .upload_file(
                &dir.0.join("no-such-file"),
                &key("files/none"),
                PutOptions::new(),
            )
            .await,
        ErrorKind::NotFound,
        "uploading a missing file",
    );
}

/// Downloading a missing key is `NotFound` and leaves neither the file nor a temporary file.
pub async fn download_missing_leaves_no_file(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let dir = TempDir::new();
    let target = dir.0.join("never.bin");
    expect_kind(
        store.download_file(&key("files/missing"), &target).await,
        ErrorKind::NotFound,
        "download of a missing key",
    );
    assert!(!target.exists(), "no file is created");
    assert!(
        dir.entries().is_empty(),
        "no temporary file is left: {:?}",
        dir.entries()
    );
}

/// A stream of many chunks of varied sizes (empty ones included) is stored as their
/// concatenation.
pub async fn put_stream_many_chunks(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("stream/many");
    let body = Bytes::from(pattern(1_234_567, 5));
    let mut parts = Vec::new();
    let mut offset = 0;
    for i in 0usize.. {
        if offset == body.len() {
            break;
        }
        // Sizes from 1 byte to 40 KB, with an empty chunk now and then.
        let size = if i % 10 == 3 {
            0
        } else {
            1 + (i * 7_919) % 40_000
        };
        let end = (offset + size).min(body.len());
        parts.push(body.slice(offset..end));
        offset = end;
    }
    assert!(parts.len() > 50 && parts.iter().any(Bytes::is_empty));
    let result = store
        .put_stream(
            &k,
            chunks(parts),
            PutOptions::new().metadata("kind", "streamed"),
        )
        .await
        .expect("put_stream");
    assert!(result.etag.is_some(), "put_stream reports an etag");
    assert_eq!(read(&*store, &k).await, body, "streamed body");
    let meta = store.head(&k).await.expect("head");
    assert_eq!(meta.size, body.len() as u64);
    assert_eq!(
        meta.metadata.get("kind").map(String::as_str),
        Some("streamed")
    );
}

/// An error from the body stream aborts the put: its kind is returned and nothing is stored
/// (an existing object stays as it was).
pub async fn put_stream_error_stores_nothing(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let failing = || {
        futures::stream::iter([
            Ok(Bytes::from_static(b"partial ")),
            Ok(Bytes::from(pattern(100_000, 3))),
            Err(StoreError::unavailable("the source went away")),
            Ok(Bytes::from_static(b"never read")),
        ])
        .boxed()
    };
    let fresh_key = key("stream/failed");
    expect_kind(
        store
            .put_stream(&fresh_key, failing(), PutOptions::new())
            .await,
        ErrorKind::Unavailable,
        "put_stream of a failing stream",
    );
    assert!(
        !store.exists(&fresh_key).await.expect("exists"),
        "nothing is stored"
    );

    let existing = key("stream/existing");
    put(&*store, &existing, &b"keep me"[..]).await;
    expect_kind(
        store
            .put_stream(&existing, failing(), PutOptions::new())
            .await,
        ErrorKind::Unavailable,
        "put_stream of a failing stream over an object",
    );
    assert_eq!(
        read(&*store, &existing).await,
        &b"keep me"[..],
        "the old object stays"
    );
}

/// Stores that can presign return a URL naming the key for GET and PUT; others say
/// `Unsupported`.
pub async fn presign_follows_capabilities(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("presign/report-q1.csv");
    put(&*store, &k, &b"a,b"[..]).await;
    for method in [PresignMethod::Get, PresignMethod::Put] {
        for expiry in [
            Duration::from_secs(1),
            Duration::from_secs(900),
            MAX_PRESIGN_EXPIRY,
        ] {
            let result = store.presign(method, &k, expiry).await;
            if store.capabilities().presign {
                let url = result.unwrap_or_else(|e| panic!("presign {method:?} {expiry:?}: {e}"));
                assert!(url.starts_with("http"), "a URL: {url}");
                assert!(
                    url.contains("presign/report-q1.csv"),
                    "the URL names the key: {url}"
                );
            } else {
                expect_kind(
                    result,
                    ErrorKind::Unsupported,
                    "presign on a store without it",
                );
            }
        }
    }
}

/// An expiry of 0 seconds or over 7 days is `InvalidInput` on every store, presigning or not.
pub async fn presign_expiry_out_of_range_is_invalid(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("presign/any");
    for method in [PresignMethod::Get, PresignMethod::Put] {
        for expiry in [
            Duration::ZERO,
            Duration::from_millis(999),
            Duration::from_secs(8 * 24 * 3600),
            MAX_PRESIGN_EXPIRY + Duration::from_secs(1),
        ] {
            let err = expect_kind(
                store.presign(method, &k, expiry).await,
                ErrorKind::InvalidInput,
                &format!("presign {method:?} expiring in {expiry:?}"),
            );
            assert!(
                err.message().contains("7 days"),
                "the message gives the limit: {err}"
            );
        }
    }
}
