//! Multipart uploads and copies, aborts, and files.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use integration_tests::fault_proxy::FaultProxy;
use store_core::object::{
    ByteStream, GetOptions, PutMode, PutOptions, download_file_streamed, upload_file_streamed,
};
use store_core::testkit::object::pattern;
use store_core::{ErrorKind, ObjectStore, ObjectStoreExt, StoreError};
use store_s3::{MAX_OBJECT_SIZE, S3Store, TransferConfig};

use crate::support::{MIB, builder_at, fresh_bucket_with, key};

/// Parts of 5 MiB, multipart from 5 MiB, two parts in flight each way.
pub(crate) fn small_parts() -> TransferConfig {
    TransferConfig {
        multipart_threshold: 5 * MIB,
        part_size: 5 * MIB,
        concurrency: 2,
        download_concurrency: 2,
        multipart_copy_threshold: 5 * MIB,
        ..TransferConfig::default()
    }
}

/// A body as a stream of uneven chunks.
pub(crate) fn uneven_stream(body: Bytes) -> ByteStream {
    let mut chunks = Vec::new();
    let mut offset = 0;
    let mut i = 0usize;
    while offset < body.len() {
        let size = 1 + (i * 104_729) % 700_000;
        let end = (offset + size).min(body.len());
        chunks.push(Ok(body.slice(offset..end)));
        offset = end;
        i += 1;
    }
    futures::stream::iter(chunks).boxed()
}

#[tokio::test]
async fn multipart_of_three_parts_and_an_odd_tail_round_trips() {
    let store = fresh_bucket_with("mpu", small_parts()).await;
    let k = key("big/three-and-a-tail.bin");
    let body = Bytes::from(pattern(15 * MIB as usize + 12_345, 11));
    let result = store
        .put_stream(
            &k,
            uneven_stream(body.clone()),
            PutOptions::new()
                .content_type("application/x-parts")
                .metadata("origin", "multipart"),
        )
        .await
        .expect("multipart put_stream");
    let etag = result.etag.expect("an etag");
    assert!(
        etag.trim_matches('"').ends_with("-4"),
        "a 4-part multipart etag: {etag}"
    );
    let meta = store.head(&k).await.expect("head");
    assert_eq!(meta.size, body.len() as u64);
    assert_eq!(meta.content_type.as_deref(), Some("application/x-parts"));
    assert_eq!(
        meta.metadata.get("origin").map(String::as_str),
        Some("multipart")
    );
    assert_eq!(store.get_bytes(&k).await.expect("get"), body, "content");
    assert!(
        store
            .multipart_uploads()
            .await
            .expect("list uploads")
            .is_empty(),
        "no upload is left open"
    );
}

/// A body of exactly two parts is two parts (no empty third), cut from uneven chunks.
#[tokio::test]
async fn multipart_of_whole_parts_sends_no_empty_last_part() {
    let store = fresh_bucket_with("mpu-whole", small_parts()).await;
    let k = key("big/two-whole-parts.bin");
    let body = Bytes::from(pattern(10 * MIB as usize, 5));
    let etag = store
        .put_stream(&k, uneven_stream(body.clone()), PutOptions::new())
        .await
        .expect("multipart put_stream")
        .etag
        .expect("an etag");
    assert!(
        etag.trim_matches('"').ends_with("-2"),
        "a 2-part multipart etag: {etag}"
    );
    assert_eq!(store.get_bytes(&k).await.expect("get"), body, "content");
}

#[tokio::test]
async fn failing_stream_aborts_the_upload() {
    let store = fresh_bucket_with("abort", small_parts()).await;
    let k = key("big/aborted.bin");
    let part = Bytes::from(pattern(3 * MIB as usize, 2));
    let failing: ByteStream = futures::stream::iter(vec![
        Ok(part.clone()),
        Ok(part.clone()),
        Ok(part.clone()),
        Ok(part.clone()),
        Err(StoreError::unavailable("the source disk went away")),
    ])
    .boxed();
    let err = store
        .put_stream(&k, failing, PutOptions::new())
        .await
        .expect_err("a failing stream fails the upload");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(
        store
            .multipart_uploads()
            .await
            .expect("list uploads")
            .is_empty(),
        "ListMultipartUploads shows no upload left behind"
    );
    assert!(
        !store.exists(&k).await.expect("exists"),
        "nothing is stored"
    );
}

#[tokio::test]
async fn multipart_create_only_and_if_match_are_enforced() {
    let store = fresh_bucket_with("mpucond", small_parts()).await;
    let k = key("big/conditional.bin");
    let body = Bytes::from(pattern(6 * MIB as usize, 4));
    let first = store
        .put_stream(
            &k,
            uneven_stream(body.clone()),
            PutOptions::new().mode(PutMode::CreateOnly),
        )
        .await
        .expect("create-only multipart of a new key");
    let err = store
        .put_stream(
            &k,
            uneven_stream(body.clone()),
            PutOptions::new().mode(PutMode::CreateOnly),
        )
        .await
        .expect_err("a second create-only multipart");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    let err = store
        .put_stream(
            &k,
            uneven_stream(body.clone()),
            PutOptions::new().mode(PutMode::IfMatch("\"0000\"".into())),
        )
        .await
        .expect_err("if-match multipart with a stale etag");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    store
        .put_stream(
            &k,
            uneven_stream(body.clone()),
            PutOptions::new().mode(PutMode::IfMatch(first.etag.expect("etag"))),
        )
        .await
        .expect("if-match multipart with the current etag");
    assert!(store.multipart_uploads().await.expect("uploads").is_empty());
}

#[tokio::test]
async fn upload_file_picks_multipart_and_download_file_matches() {
    let bucket = fresh_bucket_with("files", small_parts()).await;
    let store: &S3Store = &bucket;
    let dir = std::env::temp_dir().join(integration_tests::names::unique_name("s3-files"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let source = dir.join("source.bin");
    let body = pattern(11 * MIB as usize + 7, 5);
    std::fs::write(&source, &body).expect("write source");
    let k = key("files/eleven.bin");
    // The store's upload_file knows the size; the generic streamed path does not.
    let result = store
        .upload_file(
            &source,
            &k,
            PutOptions::new().content_type("application/x-file"),
        )
        .await
        .expect("upload_file");
    assert!(result.etag.expect("etag").trim_matches('"').ends_with("-3"));
    let k2 = key("files/eleven-via-trait.bin");
    upload_file_streamed(store, &source, &k2, PutOptions::new())
        .await
        .expect("upload_file_streamed");
    for (k, name) in [(&k, "parallel.bin"), (&k2, "other.bin")] {
        // Ranged parts in parallel (the store's) ...
        let target = dir.join(name);
        std::fs::write(&target, b"stale").expect("stale target");
        let written = store
            .download_file(k, &target)
            .await
            .expect("download_file");
        assert_eq!(written, body.len() as u64);
        assert_eq!(std::fs::read(&target).expect("read target"), body);
        // ... and one stream (the generic path).
        let streamed = dir.join(format!("streamed-{name}"));
        download_file_streamed(store, k, &streamed)
            .await
            .expect("download_file_streamed");
        assert_eq!(std::fs::read(&streamed).expect("read streamed"), body);
    }
    let missing = dir.join("missing.bin");
    let err = store
        .download_file(&key("files/none"), &missing)
        .await
        .expect_err("download of a missing key");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "other.bin",
            "parallel.bin",
            "source.bin",
            "streamed-other.bin",
            "streamed-parallel.bin"
        ],
        "no temporary file is left"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `upload_file` and `download_file` are `ObjectStore` methods that S3Store overrides, so an
/// `Arc<dyn ObjectStore>` holding an S3Store takes S3's path: what goes over the wire shows it.
#[tokio::test]
async fn file_transfers_through_a_shared_dyn_store_take_the_s3_path() {
    let bucket = fresh_bucket_with("dynfiles", small_parts()).await;
    let proxy = FaultProxy::http(&bucket.endpoint).await.expect("proxy");
    let s3 = builder_at(&proxy.url(), bucket.bucket())
        .transfer(small_parts())
        .build()
        .await
        .expect("store through the proxy");
    let shared: Arc<dyn ObjectStore> = Arc::new(s3);
    let dir = std::env::temp_dir().join(integration_tests::names::unique_name("s3-dynfiles"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let source = dir.join("source.bin");
    let body = pattern(11 * MIB as usize + 7, 6);
    std::fs::write(&source, &body).expect("write source");
    let k = key("files/shared.bin");

    let result = shared
        .upload_file(&source, &k, PutOptions::new())
        .await
        .expect("upload_file through Arc<dyn ObjectStore>");
    let etag = result.etag.expect("etag");
    assert!(
        etag.trim_matches('"').ends_with("-3"),
        "a multipart upload in three parts: {etag}"
    );

    // S3's download: one HEAD, then one ranged GET per 5 MiB part (the generic path is a
    // single GET).
    let target = dir.join("target.bin");
    let before = proxy.stats().requests;
    let written = shared
        .download_file(&k, &target)
        .await
        .expect("download_file through Arc<dyn ObjectStore>");
    let requests = proxy.stats().requests - before;
    assert_eq!(written, body.len() as u64);
    assert_eq!(std::fs::read(&target).expect("read target"), body);
    assert_eq!(requests, 4, "a HEAD and three ranged GETs");

    // S3's upload knows the file's size: a file over the 5 TiB limit is refused before
    // anything is sent (the generic path would start streaming it).
    let huge = dir.join("huge.bin");
    let file = std::fs::File::create(&huge).expect("create the huge file");
    match file.set_len(MAX_OBJECT_SIZE + 1) {
        Err(e) => eprintln!("skipped the over-limit upload: no sparse 5 TiB file here: {e}"),
        Ok(()) => {
            let before = proxy.stats().requests;
            let outcome = tokio::time::timeout(
                Duration::from_secs(10),
                shared.upload_file(&huge, &key("files/huge.bin"), PutOptions::new()),
            )
            .await
            .expect("refused at once, not streamed");
            let err = outcome.expect_err("a file over 5 TiB");
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
            assert!(err.message().contains("5 TiB"), "{err}");
            assert_eq!(proxy.stats().requests, before, "nothing was sent");
        }
    }
    drop(file);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn multipart_copy_keeps_content_and_metadata() {
    let store = fresh_bucket_with("mpcopy", small_parts()).await;
    let (from, to) = (key("copy/source.bin"), key("copy/target.bin"));
    let body = Bytes::from(pattern(12 * MIB as usize + 3, 8));
    store
        .put(
            &from,
            body.clone(),
            PutOptions::new()
                .content_type("application/x-copy")
                .metadata("kept", "yes"),
        )
        .await
        .expect("put source");
    store.copy(&from, &to).await.expect("multipart copy");
    let got = store.get(&to, GetOptions::new()).await.expect("get copy");
    assert_eq!(got.meta.content_type.as_deref(), Some("application/x-copy"));
    assert_eq!(
        got.meta.metadata.get("kept").map(String::as_str),
        Some("yes")
    );
    let etag = got.meta.etag.clone().expect("etag");
    assert!(
        etag.trim_matches('"').contains('-'),
        "copied in parts: {etag}"
    );
    assert_eq!(got.bytes().await.expect("body"), body);
    assert!(store.multipart_uploads().await.expect("uploads").is_empty());
}
