//! S3's own options against the server: each test reads back what the server stored (a
//! `HeadObject`, `GetObjectTagging`, `ListObjectVersions`), not only that the call returned.
//!
//! moto keeps SSE-S3 / SSE-KMS settings, storage classes, tags, checksums and versions, so
//! those are checked there. It ignores SSE-C, so SSE-C is checked on the wire: an interceptor
//! on the SDK client records every request's headers, and the test checks that each write,
//! read, head, copy and multipart part carried the key and its MD5.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use store_core::object::{GetOptions, ListOptions, PutOptions};
use store_core::testkit::object::pattern;
use store_core::{ErrorKind, ObjectStore, ObjectStoreExt};
use store_s3::sdk::config::interceptors::BeforeTransmitInterceptorContextRef;
use store_s3::sdk::config::{ConfigBag, Intercept, RuntimeComponents};
use store_s3::sdk::error::BoxError;
use store_s3::{
    Checksum, CustomerKey, Encryption, ReadOptions, S3PutOptions, S3Store, TransferConfig,
};

use crate::support::{MIB, fresh_bucket, fresh_bucket_with, key};
use crate::transfers::uneven_stream;

fn sha256_base64(body: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(body))
}

/// Parts of 5 MiB from 5 MiB on.
fn small_parts() -> TransferConfig {
    crate::transfers::small_parts()
}

#[tokio::test]
async fn encryption_storage_class_and_tags_reach_the_server() {
    let bucket = fresh_bucket("opts").await;
    let k = key("enc/kms.bin");
    let s3 = S3PutOptions::new()
        .encryption(Encryption::Kms {
            key_id: Some("alias/orders".into()),
            bucket_key: true,
        })
        .storage_class("STANDARD_IA")
        .tag("team", "billing")
        .tag("a b", "x=y/z:+-@_. ü");
    bucket
        .put_with(&k, Bytes::from_static(b"kms"), PutOptions::new(), &s3)
        .await
        .unwrap();
    let info = bucket.head_with(&k, &ReadOptions::new()).await.unwrap();
    assert_eq!(info.encryption.as_deref(), Some("aws:kms"));
    assert!(
        info.kms_key_id
            .as_deref()
            .is_some_and(|id| id.ends_with("alias/orders")),
        "{:?}",
        info.kms_key_id
    );
    assert!(info.bucket_key);
    assert_eq!(info.storage_class.as_deref(), Some("STANDARD_IA"));
    assert_eq!(info.tag_count, 2);
    let tags = bucket.tags(&k, None).await.unwrap();
    let expected: BTreeMap<String, String> = [("team", "billing"), ("a b", "x=y/z:+-@_. ü")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(
        tags, expected,
        "tags come back exactly, odd characters included"
    );

    let k = key("enc/s3.bin");
    let s3 = S3PutOptions::new().encryption(Encryption::S3);
    bucket
        .put_with(&k, Bytes::from_static(b"s3"), PutOptions::new(), &s3)
        .await
        .unwrap();
    let raw = bucket
        .client()
        .head_object()
        .bucket(bucket.bucket())
        .key(k.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.server_side_encryption().map(|e| e.as_str()),
        Some("AES256")
    );

    // Over S3's limits: refused before anything is sent.
    let many = (0..11).fold(S3PutOptions::new(), |o, i| o.tag(format!("t{i}"), "v"));
    let e = bucket
        .put_with(&key("enc/many"), Bytes::new(), PutOptions::new(), &many)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(!bucket.exists(&key("enc/many")).await.unwrap());
    let e = bucket
        .put_with(
            &key("enc/amp"),
            Bytes::new(),
            PutOptions::new(),
            &S3PutOptions::new().tag("k", "a&b"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::InvalidInput,
        "S3 takes no `&` in a tag: {e}"
    );
}

#[tokio::test]
async fn store_defaults_apply_to_every_write_through_the_trait() {
    let template = fresh_bucket_with("optsdef", small_parts()).await;
    let defaults = S3PutOptions::new()
        .encryption(Encryption::S3)
        .checksum(Checksum::Crc32c)
        .storage_class("ONEZONE_IA")
        .tag("owner", "defaults");
    let store: Arc<dyn ObjectStore> = Arc::new(
        template
            .store
            .clone()
            .with_put_defaults(defaults.clone())
            .unwrap(),
    );
    let typed = template.store.clone().with_put_defaults(defaults).unwrap();
    let small = key("def/small");
    let large = key("def/large");
    store
        .put(&small, Bytes::from_static(b"small"), PutOptions::new())
        .await
        .unwrap();
    let body = Bytes::from(pattern((11 * MIB) as usize, 3));
    store
        .put_stream(&large, uneven_stream(body.clone()), PutOptions::new())
        .await
        .unwrap();
    let copied = key("def/copied");
    store.copy(&small, &copied).await.unwrap();
    for k in [&small, &large] {
        let info = typed
            .head_with(k, &ReadOptions::new().verify_checksum())
            .await
            .unwrap();
        assert_eq!(info.encryption.as_deref(), Some("AES256"), "{k}");
        assert_eq!(info.storage_class.as_deref(), Some("ONEZONE_IA"), "{k}");
        assert_eq!(info.tag_count, 1, "{k}");
        assert!(
            info.checksums.iter().any(|(c, _)| *c == Checksum::Crc32c),
            "{k}: {:?}",
            info.checksums
        );
    }
    let large_info = typed
        .head_with(&large, &ReadOptions::new().verify_checksum())
        .await
        .unwrap();
    // S3 reports a composite checksum as `…-3` (three parts); moto leaves the suffix out.
    assert_eq!(large_info.checksum_type.as_deref(), Some("COMPOSITE"));
    let copy_info = typed.head_with(&copied, &ReadOptions::new()).await.unwrap();
    assert_eq!(copy_info.encryption.as_deref(), Some("AES256"));
    // A call's options override the defaults.
    let k = key("def/override");
    let s3 = S3PutOptions::new().storage_class("STANDARD");
    typed
        .put_with(&k, Bytes::from_static(b"x"), PutOptions::new(), &s3)
        .await
        .unwrap();
    let info = typed.head_with(&k, &ReadOptions::new()).await.unwrap();
    assert_ne!(info.storage_class.as_deref(), Some("ONEZONE_IA"));
    assert_eq!(info.encryption.as_deref(), Some("AES256"));
}

#[tokio::test]
async fn every_checksum_is_stored_and_a_wrong_one_fails_the_read() {
    let bucket = fresh_bucket("optsum").await;
    let body = Bytes::from(pattern(100_000, 9));
    for checksum in [
        Checksum::Crc32,
        Checksum::Crc32c,
        Checksum::Crc64Nvme,
        Checksum::Sha1,
        Checksum::Sha256,
    ] {
        let k = key(&format!("sum/{checksum:?}"));
        let s3 = S3PutOptions::new().checksum(checksum);
        bucket
            .put_with(&k, body.clone(), PutOptions::new(), &s3)
            .await
            .unwrap();
        let info = bucket
            .head_with(&k, &ReadOptions::new().verify_checksum())
            .await
            .unwrap();
        let stored: Vec<_> = info.checksums.iter().map(|(c, _)| *c).collect();
        assert_eq!(stored, [checksum], "{checksum:?}");
        let got = bucket
            .get_with(&k, GetOptions::new(), &ReadOptions::new().verify_checksum())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(got, body, "{checksum:?}");
    }
    let info = bucket
        .head_with(&key("sum/Sha256"), &ReadOptions::new().verify_checksum())
        .await
        .unwrap();
    assert_eq!(
        info.checksums[0].1,
        sha256_base64(&body),
        "the SHA-256 is the body's"
    );

    // An object stored with a checksum that does not match its body (written behind the
    // store's back): a verified read fails, an unverified one returns the bytes.
    let k = key("sum/damaged");
    bucket
        .client()
        .put_object()
        .bucket(bucket.bucket())
        .key(k.as_str())
        .checksum_algorithm(store_s3::sdk::types::ChecksumAlgorithm::Sha256)
        .checksum_sha256(sha256_base64(b"something else"))
        .body(body.clone().into())
        .send()
        .await
        .expect("moto stores the checksum it is given");
    let stored = bucket
        .head_with(&k, &ReadOptions::new().verify_checksum())
        .await
        .unwrap();
    assert_eq!(
        stored.checksums,
        [(Checksum::Sha256, sha256_base64(b"something else"))],
        "the wrong checksum is what the server keeps"
    );
    let verified = bucket
        .get_with(&k, GetOptions::new(), &ReadOptions::new().verify_checksum())
        .await;
    let outcome = match verified {
        Err(e) => Err(e),
        Ok(got) => got.bytes().await,
    };
    let e = outcome.expect_err("a checksum mismatch must fail the read");
    assert_eq!(e.kind(), ErrorKind::Internal, "{e}");
    assert!(e.to_string().contains("checksum"), "{e}");
    let plain = bucket
        .get_with(&k, GetOptions::new(), &ReadOptions::new())
        .await
        .unwrap();
    assert_eq!(plain.bytes().await.unwrap(), body);
}

#[tokio::test]
async fn versions_are_listed_read_and_deleted_by_id() {
    let bucket = fresh_bucket("optver").await;
    bucket.set_versioning(true).await.unwrap();
    let k = key("ver/doc");
    let s3 = S3PutOptions::new().tag("gen", "1");
    let v1 = bucket
        .put_with(&k, Bytes::from_static(b"one"), PutOptions::new(), &s3)
        .await
        .unwrap()
        .version
        .expect("a version id");
    let v2 = bucket
        .put(&k, Bytes::from_static(b"two!"), PutOptions::new())
        .await
        .unwrap()
        .version
        .expect("a version id");
    assert_ne!(v1, v2);
    bucket.delete(&k).await.unwrap();
    assert_eq!(
        bucket.get(&k, GetOptions::new()).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );

    let versions: Vec<_> = bucket
        .list_versions(ListOptions::new().prefix("ver/"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(versions.len(), 3, "{versions:?}");
    assert!(versions[0].delete_marker && versions[0].is_latest);
    let marker = versions[0].version_id.clone();
    let ids: Vec<_> = versions[1..].iter().map(|v| v.version_id.clone()).collect();
    assert_eq!(ids, [v2.clone(), v1.clone()], "newest first");
    assert_eq!(versions[1].size, 4);

    let old = bucket
        .get_with(&k, GetOptions::new(), &ReadOptions::new().version_id(&v1))
        .await
        .unwrap();
    assert_eq!(old.bytes().await.unwrap(), &b"one"[..]);
    let info = bucket
        .head_with(&k, &ReadOptions::new().version_id(&v1))
        .await
        .unwrap();
    assert_eq!(info.version_id.as_deref(), Some(v1.as_str()));
    assert_eq!(info.meta.size, 3);
    assert_eq!(bucket.tags(&k, Some(&v1)).await.unwrap()["gen"], "1");

    // Removing the delete marker brings the latest version back.
    bucket.delete_version(&k, &marker).await.unwrap();
    let back = bucket.get(&k, GetOptions::new()).await.unwrap();
    assert_eq!(back.bytes().await.unwrap(), &b"two!"[..]);
    bucket.delete_version(&k, &v2).await.unwrap();
    let back = bucket.get(&k, GetOptions::new()).await.unwrap();
    assert_eq!(
        back.bytes().await.unwrap(),
        &b"one"[..],
        "v1 is the latest again"
    );

    // Listing pages through many versions in order (pages of 7 end inside one key's versions).
    for i in 0..3 {
        for n in 0..120 {
            let k = key(&format!("many/{n:04}"));
            if i == 0 || n % 2 == 0 {
                bucket
                    .put(&k, Bytes::from(format!("{i}")), PutOptions::new())
                    .await
                    .unwrap();
            }
        }
    }
    let all: Vec<_> = bucket
        .list_versions(ListOptions::new().prefix("many/"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 120 + 2 * 60, "every version exactly once");
    let mut seen = std::collections::HashSet::new();
    assert!(all.iter().all(|v| seen.insert(v.version_id.clone())));
    assert!(all.windows(2).all(|w| w[0].key <= w[1].key));
    let mut paged = Vec::new();
    let mut cursor = None;
    let options = ListOptions::new().prefix("many/").page_size(7);
    loop {
        let page = bucket
            .list_versions_page(&options, cursor.take())
            .await
            .unwrap();
        assert!(page.items.len() <= 7);
        paged.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        paged, all,
        "pages of 7 resume exactly where the last one ended"
    );
    let listed: Vec<_> = bucket
        .list(ListOptions::new().prefix("many/").start_after("many/0079"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 40);
}

/// A request line (method and URI) and its headers, names in lowercase.
type Recorded = (String, BTreeMap<String, String>);

/// Records the headers of every request the client sends.
#[derive(Debug, Default, Clone)]
struct Recorder {
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let line = format!("{} {}", request.method(), request.uri());
        let headers = request
            .headers()
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
            .collect();
        self.requests.lock().unwrap().push((line, headers));
        Ok(())
    }
}

#[tokio::test]
async fn sse_c_keys_go_with_every_request_and_are_never_shown() {
    let bucket = fresh_bucket_with("optssec", small_parts()).await;
    let recorder = Recorder::default();
    let config = bucket
        .client()
        .config()
        .to_builder()
        .interceptor(recorder.clone())
        .build();
    let key_bytes = [0x5au8; 32];
    let customer = CustomerKey::new(key_bytes);
    let store = S3Store::from_client(store_s3::sdk::Client::from_conf(config), bucket.bucket())
        .with_transfer(small_parts())
        .with_put_defaults(S3PutOptions::new().encryption(Encryption::Customer(customer)))
        .unwrap();
    let key_b64 = STANDARD.encode(key_bytes);
    let md5_b64 = {
        use md5::Digest as _;
        STANDARD.encode(md5::Md5::digest(key_bytes))
    };

    let small = key("ssec/small");
    let large = key("ssec/large");
    store
        .put(&small, Bytes::from_static(b"secret"), PutOptions::new())
        .await
        .unwrap();
    let body = Bytes::from(pattern((6 * MIB) as usize, 4));
    store
        .put_stream(&large, uneven_stream(body), PutOptions::new())
        .await
        .unwrap();
    store.get(&small, GetOptions::new()).await.unwrap();
    store.head(&small).await.unwrap();
    store.copy(&small, &key("ssec/copy")).await.unwrap();

    let requests = recorder.requests.lock().unwrap().clone();
    let carrying = |line: &str| {
        requests
            .iter()
            .filter(|(l, _)| l.contains(line))
            .map(|(l, h)| {
                assert_eq!(
                    h.get("x-amz-server-side-encryption-customer-algorithm")
                        .map(String::as_str),
                    Some("AES256"),
                    "{l}"
                );
                assert_eq!(
                    h.get("x-amz-server-side-encryption-customer-key"),
                    Some(&key_b64),
                    "{l}"
                );
                assert_eq!(
                    h.get("x-amz-server-side-encryption-customer-key-md5"),
                    Some(&md5_b64),
                    "{l}"
                );
            })
            .count()
    };
    assert!(
        carrying("ssec/small") >= 4,
        "put, get, head, copy source head"
    );
    assert!(
        carrying("uploadId=") >= 2,
        "every part of the multipart upload"
    );
    let copy = requests
        .iter()
        .find(|(_, h)| h.contains_key("x-amz-copy-source"))
        .expect("a CopyObject request");
    assert_eq!(
        copy.1
            .get("x-amz-copy-source-server-side-encryption-customer-key-md5"),
        Some(&md5_b64)
    );

    // The key is in no Debug output and no error.
    let shown = format!("{store:?} {:?}", store.put_defaults());
    assert!(!shown.contains(&key_b64), "{shown}");
    let e = CustomerKey::from_base64(&key_b64[..20]).unwrap_err();
    assert!(!e.to_string().contains(&key_b64[..20]), "{e}");
}
