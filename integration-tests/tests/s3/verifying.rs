//! The signature-checking S3 server (s3s-fs; moto checks no signature): presigned URLs used
//! after their expiry, with one character of the signature changed, or signed with another
//! secret are refused, as are our own requests signed with a wrong secret; and the whole
//! ObjectStore conformance suite passes there too.

use std::time::Duration;

use bytes::Bytes;
use store_core::object::{PresignMethod, PutOptions};
use store_core::{ErrorKind, ObjectStore, ObjectStoreExt};

use crate::support::{builder_with, fresh_verifying_bucket, http, key, verifying_server};

mod conformance {
    use crate::support::verifying_factory;

    store_core::object_conformance_tests!(verifying_factory());
}

/// Changes one character of the `X-Amz-Signature` value of `url`.
fn tamper(url: &str) -> String {
    let at = url.find("X-Amz-Signature=").expect("a signature") + "X-Amz-Signature=".len();
    let mut bytes = url.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    String::from_utf8(bytes).expect("ascii")
}

#[tokio::test]
async fn a_presigned_get_works_until_it_expires_and_not_after() {
    let bucket = fresh_verifying_bucket("presign").await;
    let k = key("report.txt");
    bucket.put_str(&k, "numbers").await.expect("put");
    let url = bucket
        .presign(PresignMethod::Get, &k, Duration::from_secs(3))
        .await
        .expect("presign");
    // Three seconds, not one: signatures carry whole seconds, so a one-second URL may have
    // expired before a loaded machine sends its first GET (seen in CI).
    let (status, body) = http("GET", &url, None, b"").await;
    assert_eq!((status, body.as_slice()), (200, &b"numbers"[..]));
    // Past 4 s the three-second URL has certainly expired.
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let (status, body) = http("GET", &url, None, b"").await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    assert!(
        String::from_utf8_lossy(&body).contains("expired"),
        "{}",
        String::from_utf8_lossy(&body)
    );
}

#[tokio::test]
async fn reads_in_a_missing_bucket_name_the_bucket_here_too() {
    let (url, credentials) = verifying_server();
    let bucket = integration_tests::names::unique_name("nobucket");
    let builder = builder_with(&url, &bucket, &credentials);
    crate::specific::missing_bucket_reads(builder, &bucket).await;
}

#[tokio::test]
async fn a_tampered_presigned_url_is_refused() {
    let bucket = fresh_verifying_bucket("tamper").await;
    let k = key("secret.txt");
    bucket.put_str(&k, "not for you").await.expect("put");
    let get = bucket
        .presign(PresignMethod::Get, &k, Duration::from_secs(300))
        .await
        .expect("presign");
    let (status, body) = http("GET", &tamper(&get), None, b"").await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("SignatureDoesNotMatch"));
    // A presigned PUT altered the same way writes nothing.
    let target = key("uploaded.txt");
    let put = bucket
        .presign(PresignMethod::Put, &target, Duration::from_secs(300))
        .await
        .expect("presign");
    let (status, _) = http("PUT", &tamper(&put), None, b"forged").await;
    assert_eq!(status, 403);
    assert!(!bucket.exists(&target).await.expect("exists"));
    let (status, _) = http("PUT", &put, None, b"honest").await;
    assert_eq!(status, 200);
    assert_eq!(
        bucket.get_bytes(&target).await.expect("get"),
        Bytes::from_static(b"honest")
    );
}

#[tokio::test]
async fn urls_and_requests_signed_with_another_secret_are_refused() {
    let bucket = fresh_verifying_bucket("wrongkey").await;
    let k = key("a.txt");
    bucket.put_str(&k, "a").await.expect("put");
    let (url, (access_key, _)) = verifying_server();
    let impostor = builder_with(
        &url,
        bucket.store.bucket(),
        &(access_key, "not-the-secret-at-all".to_owned()),
    )
    .build()
    .await
    .expect("a store with a wrong secret builds");
    let forged = impostor
        .presign(PresignMethod::Get, &k, Duration::from_secs(300))
        .await
        .expect("presigning is local");
    let (status, _) = http("GET", &forged, None, b"").await;
    assert_eq!(status, 403);
    let err = impostor.get_bytes(&k).await.expect_err("a wrong secret");
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    let err = impostor
        .put(&key("b.txt"), Bytes::from_static(b"b"), PutOptions::new())
        .await
        .expect_err("a wrong secret");
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(!bucket.exists(&key("b.txt")).await.expect("exists"));
}

/// A file sent in parts reads back exactly from the signature-checking server whether the
/// parts' bytes are signed or left to their checksum (the default); every request, a part's
/// too, still carries a signature of its headers, so another secret is refused.
#[tokio::test]
async fn parts_upload_signed_or_covered_by_their_checksum() {
    use store_core::testkit::object::pattern;
    use store_s3::TransferConfig;

    let bucket = fresh_verifying_bucket("parts-signing").await;
    let (url, (access_key, secret)) = verifying_server();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("eleven-mib.bin");
    let body = Bytes::from(pattern(11 * 1024 * 1024 + 7, 9));
    std::fs::write(&path, &body).expect("write the file");
    let parts = |sign_part_payloads| TransferConfig {
        multipart_threshold: 5 * 1024 * 1024,
        part_size: 5 * 1024 * 1024,
        sign_part_payloads,
        ..TransferConfig::default()
    };
    for sign in [false, true] {
        let store = builder_with(
            &url,
            bucket.store.bucket(),
            &(access_key.clone(), secret.clone()),
        )
        .transfer(parts(sign))
        .build()
        .await
        .expect("a store");
        let k = key(&format!("signed-{sign}.bin"));
        let etag = store
            .upload_file(&path, &k, PutOptions::new())
            .await
            .expect("upload in parts")
            .etag
            .expect("an etag");
        assert!(
            etag.trim_matches('"').ends_with("-3"),
            "three parts: {etag}"
        );
        assert_eq!(
            store.get_bytes(&k).await.expect("get"),
            body,
            "signed: {sign}"
        );
    }
    let impostor = builder_with(
        &url,
        bucket.store.bucket(),
        &(access_key, "not-the-secret-at-all".to_owned()),
    )
    .transfer(parts(false))
    .build()
    .await
    .expect("a store with a wrong secret builds");
    let k = key("impostor.bin");
    let err = impostor
        .upload_file(&path, &k, PutOptions::new())
        .await
        .expect_err("a wrong secret");
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(!bucket.exists(&k).await.expect("exists"));
}
