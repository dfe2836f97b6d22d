//! Faults injected through the proxy: 503 bursts during a multipart upload, connection
//! resets during a download.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use integration_tests::fault_proxy::{FaultProxy, HttpFault};
use store_core::object::PutOptions;
use store_core::testkit::object::pattern;
use store_core::{ErrorKind, ObjectStore, ObjectStoreExt};
use store_s3::{RetryMode, TransferConfig};

use crate::support::{MIB, builder_at, fresh_bucket, fresh_bucket_with, key};
use crate::transfers::{small_parts, uneven_stream};

#[tokio::test]
async fn multipart_upload_survives_503_bursts() {
    let bucket = fresh_bucket_with("mpu503", small_parts()).await;
    let proxy = FaultProxy::http(&bucket.endpoint).await.expect("proxy");
    let store = builder_at(&proxy.url(), bucket.bucket())
        .retry(RetryMode::Standard, 6)
        .transfer(small_parts())
        .build()
        .await
        .expect("store through the proxy");
    proxy.set_http_fault(Some(HttpFault::new(503, 0.4).retry_after(1).body(
        "application/xml",
        "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
    )));
    let k = key("faults/parts.bin");
    let body = Bytes::from(pattern(17 * MIB as usize + 99, 21));
    store
        .put_stream(&k, uneven_stream(body.clone()), PutOptions::new())
        .await
        .expect("the upload completes despite 503s");
    let stats = proxy.stats();
    proxy.clear();
    assert!(stats.injected >= 3, "503s were injected: {stats:?}");
    assert_eq!(
        bucket.get_bytes(&k).await.expect("get"),
        body,
        "content matches"
    );
    assert!(
        bucket
            .multipart_uploads()
            .await
            .expect("uploads")
            .is_empty()
    );
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Waits until a temporary download file with some bytes appears in `dir`.
async fn wait_for_partial_file(dir: &Path) {
    for _ in 0..5_000 {
        let partial = std::fs::read_dir(dir)
            .expect("read dir")
            .filter_map(|e| e.ok())
            .any(|e| {
                e.file_name().to_string_lossy().ends_with(".part")
                    && e.metadata().map(|m| m.len() > 0).unwrap_or(false)
            });
        if partial {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("the download never started writing");
}

#[tokio::test]
async fn download_resumes_after_a_connection_reset() {
    let bucket = fresh_bucket("reset").await;
    let k = key("faults/download.bin");
    let body = Bytes::from(pattern(48 * MIB as usize, 33));
    bucket
        .put(&k, body.clone(), PutOptions::new())
        .await
        .expect("put");
    let proxy = FaultProxy::tcp(&bucket.endpoint).await.expect("proxy");
    let store = builder_at(&proxy.url(), bucket.bucket())
        .build()
        .await
        .expect("store through the proxy");
    let dir = std::env::temp_dir().join(integration_tests::names::unique_name("s3-reset"));
    std::fs::create_dir_all(&dir).expect("dir");
    let target = dir.join("download.bin");
    proxy.set_latency(Duration::from_millis(1));
    let download = {
        let store = store.clone();
        let (k, target) = (k.clone(), target.clone());
        tokio::spawn(async move { store.download_file(&k, &target).await })
    };
    wait_for_partial_file(&dir).await;
    proxy.reset_connections();
    let written = download.await.expect("task").expect("the download resumes");
    assert!(
        proxy.stats().connections >= 2,
        "the download reconnected after the reset: {:?}",
        proxy.stats()
    );
    assert_eq!(written, body.len() as u64);
    assert_eq!(
        std::fs::read(&target).expect("read"),
        body,
        "the file is whole"
    );
    assert_eq!(entries(&dir), ["download.bin"], "no temporary file is left");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn download_that_cannot_resume_leaves_no_truncated_file() {
    let bucket = fresh_bucket("resetfail").await;
    let k = key("faults/download.bin");
    let body = Bytes::from(pattern(48 * MIB as usize, 34));
    bucket.put(&k, body, PutOptions::new()).await.expect("put");
    let proxy = FaultProxy::tcp(&bucket.endpoint).await.expect("proxy");
    let store = builder_at(&proxy.url(), bucket.bucket())
        .retry(RetryMode::Standard, 2)
        .transfer(TransferConfig {
            download_resumes: 2,
            ..TransferConfig::default()
        })
        .build()
        .await
        .expect("store through the proxy");
    let dir = std::env::temp_dir().join(integration_tests::names::unique_name("s3-resetfail"));
    std::fs::create_dir_all(&dir).expect("dir");
    let target = dir.join("download.bin");
    let download = {
        let store = store.clone();
        let (k, target) = (k.clone(), target.clone());
        tokio::spawn(async move { store.download_file(&k, &target).await })
    };
    wait_for_partial_file(&dir).await;
    proxy.set_reset_new_connections(true);
    proxy.reset_connections();
    let err = download
        .await
        .expect("task")
        .expect_err("the download cannot finish");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(!target.exists(), "no file under the target name");
    assert!(
        entries(&dir).is_empty(),
        "no temporary file: {:?}",
        entries(&dir)
    );
    proxy.clear();
    let _ = std::fs::remove_dir_all(&dir);
    drop(store);
    assert!(bucket.exists(&k).await.expect("exists"));
}

#[tokio::test]
async fn server_errors_map_to_kinds() {
    let bucket = fresh_bucket("errmap").await;
    let k = key("errors/k");
    bucket
        .put(&k, Bytes::from_static(b"x"), PutOptions::new())
        .await
        .expect("put");
    let proxy = FaultProxy::http(&bucket.endpoint).await.expect("proxy");
    let store = builder_at(&proxy.url(), bucket.bucket())
        .retry(RetryMode::Standard, 1)
        .build()
        .await
        .expect("store through the proxy");
    // The store has seen its bucket, so a 404 to a read is taken at its word about the key
    // (a store that never saw its bucket asks the bucket, and the fault would answer 404).
    store.head(&k).await.expect("head before the faults");
    let cases = [
        (403, "SignatureDoesNotMatch", ErrorKind::Unauthorized, false),
        (403, "InvalidAccessKeyId", ErrorKind::Unauthorized, false),
        (403, "AccessDenied", ErrorKind::Unauthorized, false),
        (503, "SlowDown", ErrorKind::Throttled, true),
        (500, "InternalError", ErrorKind::Unavailable, true),
        (404, "NoSuchKey", ErrorKind::NotFound, false),
        (
            412,
            "PreconditionFailed",
            ErrorKind::PreconditionFailed,
            false,
        ),
    ];
    for (status, code, kind, retryable) in cases {
        proxy.set_http_fault(Some(HttpFault::new(status, 1.0).retry_after(2).body(
            "application/xml",
            format!("<Error><Code>{code}</Code><Message>injected {code}</Message></Error>"),
        )));
        let err = store
            .get(&k, Default::default())
            .await
            .expect_err("an injected error");
        assert_eq!(err.kind(), kind, "{code}: {err}");
        assert_eq!(err.is_retryable(), retryable, "{code}: {err}");
        assert_eq!(err.operation(), Some("get"));
        assert_eq!(err.target(), Some(k.as_str()));
        assert!(err.to_string().contains(code), "{code}: {err}");
        if retryable {
            assert_eq!(err.retry_after(), Some(Duration::from_secs(2)), "{code}");
        }
    }
    proxy.clear();
    assert_eq!(
        store.get_bytes(&k).await.expect("get after faults"),
        &b"x"[..]
    );
}

/// A 404 means "no object here" only for a read: a put answered 404 says that S3 refused the
/// put, with the status and code it answered.
#[tokio::test]
async fn a_put_answered_404_says_the_put_was_refused() {
    let bucket = fresh_bucket("put404").await;
    let k = key("errors/put");
    bucket
        .put(&k, Bytes::from_static(b"x"), PutOptions::new())
        .await
        .expect("put");
    let proxy = FaultProxy::http(&bucket.endpoint).await.expect("proxy");
    let store = builder_at(&proxy.url(), bucket.bucket())
        .retry(RetryMode::Standard, 1)
        .build()
        .await
        .expect("store through the proxy");
    store
        .head(&k)
        .await
        .expect("head before the faults: the bucket is seen");
    // An empty 404 body, as some servers and proxies answer.
    proxy.set_http_fault(Some(HttpFault::new(404, 1.0).body("application/xml", "")));
    let err = store
        .put(&k, Bytes::from_static(b"y"), PutOptions::new())
        .await
        .expect_err("an injected 404");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(!err.message().contains("no object exists"), "{err}");
    assert!(err.message().contains("refused the put"), "{err}");
    assert!(err.message().contains("HTTP 404"), "{err}");
    assert_eq!(err.operation(), Some("put"));
    assert_eq!(err.target(), Some(k.as_str()));
    let err = store
        .get(&k, Default::default())
        .await
        .expect_err("an injected 404");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(err.message(), "no object exists at this key", "{err}");
    proxy.clear();
    assert_eq!(bucket.get_bytes(&k).await.expect("get"), &b"x"[..]);
}

/// A miss costs one request once the bucket is known: only a store that has not seen its
/// bucket lately asks the bucket (one `HeadBucket`) to tell a missing key from a missing
/// bucket, and asks it once for a run of misses.
#[tokio::test]
async fn misses_ask_the_bucket_once_not_per_key() {
    let bucket = fresh_bucket("misses").await;
    let proxy = FaultProxy::http(&bucket.endpoint).await.expect("proxy");
    let store = builder_at(&proxy.url(), bucket.bucket())
        .build()
        .await
        .expect("store through the proxy");
    let before = proxy.stats().requests;
    for i in 0..5 {
        let missing = key(&format!("misses/{i}"));
        assert!(!store.exists(&missing).await.expect("a miss is no error"));
    }
    assert_eq!(
        proxy.stats().requests - before,
        6,
        "five HEADs and one HeadBucket, the first time only"
    );
}
