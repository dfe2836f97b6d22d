//! S3-specific behaviours: presigned URLs, large listings and deletes, races, odd keys, errors.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint};
use store_core::object::{GetOptions, ListEntry, ListOptions, PresignMethod, PutMode, PutOptions};
use store_core::{Cursor, ErrorKind, Health, ObjectKey, ObjectStore, ObjectStoreExt};

use crate::support::{builder_at, fresh_bucket, http, key};

async fn put_many(store: &dyn ObjectStore, keys: &[ObjectKey]) {
    futures::stream::iter(keys)
        .map(|k| async move {
            store
                .put(k, Bytes::from_static(b"x"), PutOptions::new())
                .await
                .unwrap_or_else(|e| panic!("put `{k}`: {e}"))
        })
        .buffer_unordered(32)
        .for_each(|_| async {})
        .await;
}

#[tokio::test]
async fn presigned_get_and_put_work_with_a_plain_http_client() {
    let store = fresh_bucket("presign").await;
    let k = key("shared/report q1+final.csv");
    store.put_str(&k, "a,b\n1,2\n").await.expect("put");
    let url = store
        .presign(PresignMethod::Get, &k, Duration::from_secs(300))
        .await
        .expect("presign get");
    let (status, body) = http("GET", &url, None, b"").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, b"a,b\n1,2\n");

    let upload = key("shared/uploaded by url.bin");
    let url = store
        .presign(PresignMethod::Put, &upload, Duration::from_secs(60))
        .await
        .expect("presign put");
    let payload = b"uploaded through a presigned URL";
    let (status, body) = http("PUT", &url, Some("application/octet-stream"), payload).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(store.get_bytes(&upload).await.expect("get"), &payload[..]);

    for bad in [Duration::ZERO, Duration::from_secs(8 * 24 * 3600)] {
        let err = store
            .presign(PresignMethod::Get, &k, bad)
            .await
            .expect_err("expiry out of range");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}

#[tokio::test]
async fn listing_2500_keys_pages_with_and_without_delimiter() {
    let store = fresh_bucket("list2500").await;
    let mut keys = Vec::new();
    for dir in 0..25 {
        for file in 0..100 {
            keys.push(key(&format!("d{dir:02}/f{file:03}")));
        }
    }
    put_many(&*store, &keys).await;
    let listed: Vec<String> = store
        .list(ListOptions::new())
        .map_ok(|e| e.as_object().expect("object").key.as_str().to_owned())
        .try_collect()
        .await
        .expect("list all");
    let expected: Vec<String> = keys.iter().map(|k| k.as_str().to_owned()).collect();
    assert_eq!(listed, expected, "2,500 keys in order, each once");

    // Pages of 300 by hand, resuming from cursors that went through text.
    let mut cursor: Option<Cursor> = None;
    let mut pages = 0;
    let mut seen = 0;
    loop {
        let page = store
            .list_page(&ListOptions::new().page_size(300), cursor.take())
            .await
            .expect("list_page");
        assert!(page.objects.len() <= 300);
        seen += page.objects.len();
        pages += 1;
        match page.next {
            Some(next) => cursor = Some(Cursor::from_token(next.as_token().to_owned())),
            None => break,
        }
    }
    assert_eq!((seen, pages), (2_500, 9));

    // With a delimiter and small pages: 25 common prefixes across several pages.
    let prefixes: Vec<ListEntry> = store
        .list(ListOptions::new().delimiter("/").page_size(4))
        .try_collect()
        .await
        .expect("list with delimiter");
    let names: Vec<String> = prefixes
        .iter()
        .map(|e| match e {
            ListEntry::Prefix(p) => p.clone(),
            ListEntry::Object(m) => panic!("unexpected object {}", m.key),
        })
        .collect();
    let expected: Vec<String> = (0..25).map(|d| format!("d{d:02}/")).collect();
    assert_eq!(names, expected);
    let under: Vec<ListEntry> = store
        .list(
            ListOptions::new()
                .prefix("d07/")
                .delimiter("/")
                .page_size(30),
        )
        .try_collect()
        .await
        .expect("list one folder");
    assert_eq!(under.len(), 100);
}

#[tokio::test]
async fn delete_many_of_2500_keys() {
    let store = fresh_bucket("del2500").await;
    let keys: Vec<ObjectKey> = (0..2_500).map(|i| key(&format!("k/{i:05}"))).collect();
    put_many(&*store, &keys).await;
    let mut doomed = keys[..2_400].to_vec();
    doomed.push(key("k/missing"));
    let failures = store.delete_many(&doomed).await.expect("delete_many");
    assert!(failures.is_empty(), "{failures:?}");
    let left: Vec<ListEntry> = store
        .list(ListOptions::new())
        .try_collect()
        .await
        .expect("list");
    assert_eq!(left.len(), 100, "the 100 others stay");
}

#[tokio::test]
async fn concurrent_create_only_from_two_stores_has_one_winner() {
    let bucket = fresh_bucket("race").await;
    // A second store with its own client, so only the server can decide.
    let other = builder_at(&bucket.endpoint, bucket.bucket())
        .build()
        .await
        .expect("second store");
    for round in 0..10 {
        let k = key(&format!("race/{round}"));
        let (a, b) = tokio::join!(
            bucket.put(
                &k,
                Bytes::from_static(b"a"),
                PutOptions::new().mode(PutMode::CreateOnly)
            ),
            other.put(
                &k,
                Bytes::from_static(b"b"),
                PutOptions::new().mode(PutMode::CreateOnly)
            ),
        );
        match (&a, &b) {
            (Ok(_), Err(e)) | (Err(e), Ok(_)) => {
                assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}")
            }
            _ => panic!("round {round}: exactly one must win: {a:?} / {b:?}"),
        }
        let winner: &[u8] = if a.is_ok() { b"a" } else { b"b" };
        assert_eq!(bucket.get_bytes(&k).await.expect("get"), winner);
    }
}

#[tokio::test]
async fn metadata_content_type_and_odd_keys_round_trip() {
    let store = fresh_bucket("odd").await;
    let odd = [
        "with space.txt",
        "plus+sign",
        "percent%20literal",
        "question?mark=1&b=2",
        "hash#fragment",
        "unicode/日本語/ファイル.txt",
        "many/slashes//in///a////row",
        "ctrl\u{1}char",
    ];
    for text in odd {
        let k = key(text);
        let options = PutOptions::new()
            .content_type("text/x-odd; charset=utf-8")
            .metadata("original-name", "x y+z")
            .metadata("n", "1");
        store
            .put(&k, Bytes::from(text.to_owned()), options.clone())
            .await
            .unwrap_or_else(|e| panic!("put `{text}`: {e}"));
        let meta = store.head(&k).await.expect("head");
        assert_eq!(meta.content_type, options.content_type);
        assert_eq!(meta.metadata, options.metadata);
        assert_eq!(store.get_bytes(&k).await.expect("get"), text.as_bytes());
    }
    let listed: BTreeSet<String> = store
        .list(ListOptions::new())
        .map_ok(|e| e.as_object().expect("object").key.as_str().to_owned())
        .try_collect()
        .await
        .expect("list");
    let expected: BTreeSet<String> = odd.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(listed, expected);
    let copy = key("copied/ctrl\u{1}char and space+plus");
    store
        .copy(&key("hash#fragment"), &copy)
        .await
        .expect("copy odd key");
    assert_eq!(
        store.get_bytes(&copy).await.expect("get"),
        &b"hash#fragment"[..]
    );
}

#[tokio::test]
async fn metadata_beyond_ascii_travels_as_encoded_words_and_reads_back() {
    let store = fresh_bucket("meta-words").await;
    let k = key("described");
    let long = "日本語のメタデータ ✓ ".repeat(8);
    let options = PutOptions::new()
        .metadata("name", "café ✓")
        .metadata("padded", " café ")
        .metadata("long", long.as_str())
        .metadata("plain", "x y+z");
    store
        .put(&k, Bytes::from_static(b"body"), options.clone())
        .await
        .expect("put");
    assert_eq!(
        store.head(&k).await.expect("head").metadata,
        options.metadata
    );
    let got = store.get(&k, GetOptions::new()).await.expect("get");
    assert_eq!(got.meta.metadata, options.metadata);
    // Another client sees S3's documented form: one RFC 2047 word for what a header would
    // change, the rest as it is.
    let head = integration_tests::clients::s3_client_at(&store.endpoint)
        .head_object()
        .bucket(store.bucket())
        .key("described")
        .send()
        .await
        .expect("plain head");
    let seen = head.metadata().expect("metadata");
    assert_eq!(seen["name"], "=?UTF-8?B?Y2Fmw6kg4pyT?=");
    assert_eq!(seen["plain"], "x y+z");
    // A copy keeps them.
    let copy = key("described-copy");
    store.copy(&k, &copy).await.expect("copy");
    assert_eq!(
        store.head(&copy).await.expect("head").metadata,
        options.metadata
    );

    // A name that is no header token, or an ASCII value a header would change (S3 returns
    // ASCII values as they are), is refused by name, and nothing is written.
    let refused = key("refused");
    for (options, named) in [
        (PutOptions::new().metadata("café", "1"), "\"café\""),
        (PutOptions::new().metadata("padded", " both "), "`padded`"),
    ] {
        let err = store
            .put(&refused, Bytes::from_static(b"x"), options)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains(named), "{err}");
    }
    assert_eq!(
        store.head(&refused).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn missing_bucket_is_not_found_naming_the_bucket_and_secrets_stay_hidden() {
    let url = endpoint(Service::S3).await;
    let bucket = unique_name("nobucket");
    let store = builder_at(&url, &bucket)
        .static_credentials("AKIDSHOWN", "super-secret-never-printed")
        .build()
        .await
        .expect("build");
    assert!(!store.bucket_exists().await.expect("bucket_exists"));
    let err = store
        .put(&key("k"), Bytes::from_static(b"x"), PutOptions::new())
        .await
        .expect_err("put into a missing bucket");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(err.status_code(), Some("404"), "{err:?}");
    assert_eq!(err.target(), Some(bucket.as_str()), "{err}");
    assert!(err.to_string().contains(&bucket));
    assert_eq!(err.backend(), Some("s3"));
    assert_eq!(err.operation(), Some("put"));
    assert!(
        std::error::Error::source(&err).is_some(),
        "the SDK error is chained"
    );
    let health = store
        .health()
        .await
        .expect_err("health of a missing bucket");
    assert_eq!(health.kind(), ErrorKind::NotFound);
    for text in [
        format!("{store:?}"),
        format!("{err}"),
        format!("{err:?}"),
        format!("{health:?}"),
    ] {
        assert!(!text.contains("super-secret-never-printed"), "{text}");
    }
}

/// Writes into a missing bucket say so, with S3's code, never "no object exists at this key".
#[tokio::test]
async fn writes_into_a_missing_bucket_name_the_bucket_and_no_such_bucket() {
    let url = endpoint(Service::S3).await;
    let bucket = unique_name("nobucket");
    let store = builder_at(&url, &bucket).build().await.expect("build");
    let k = key("k");
    let body = Bytes::from_static(b"x");
    let stream = futures::stream::iter([Ok(body.clone())]).boxed();
    let results = [
        ("put", store.put(&k, body.clone(), PutOptions::new()).await),
        (
            "put_stream",
            store.put_stream(&k, stream, PutOptions::new()).await,
        ),
    ];
    for (operation, result) in results {
        let err = result.expect_err("a write into a missing bucket");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert_eq!(err.operation(), Some(operation), "{err}");
        assert_eq!(err.target(), Some(bucket.as_str()), "{err}");
        assert!(err.message().contains(&bucket), "{err}");
        assert!(err.message().contains("NoSuchBucket"), "{err}");
        assert!(!err.message().contains("no object exists"), "{err}");
    }
}

/// A `HEAD` answered 404 cannot say what is missing: reads of a key in a missing bucket
/// name the bucket, and `exists` answers with that error, not "no object here"; in a bucket
/// that exists, a missing key is `false` and a `NotFound` about the key.
#[tokio::test]
async fn reads_in_a_missing_bucket_name_the_bucket_not_the_key() {
    let url = endpoint(Service::S3).await;
    let bucket = unique_name("nobucket");
    missing_bucket_reads(builder_at(&url, &bucket), &bucket).await;
}

/// The checks of [`reads_in_a_missing_bucket_name_the_bucket_not_the_key`] on the store
/// `builder` makes for the missing `bucket` (also run on the signature-checking server).
pub(crate) async fn missing_bucket_reads(builder: store_s3::S3StoreBuilder, bucket: &str) {
    let store = builder.build().await.expect("build");
    let k = key("k");
    let err = store
        .exists(&k)
        .await
        .expect_err("exists in a missing bucket");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.is_missing_collection(), "{err}");
    assert_eq!(err.target(), Some(bucket), "{err}");
    assert_eq!(err.operation(), Some("head"), "{err}");
    assert!(err.message().contains(bucket), "{err}");
    let head = store.head(&k).await.expect_err("head in a missing bucket");
    assert!(head.is_missing_collection(), "{head}");
    let Err(get) = store.get(&k, GetOptions::new()).await else {
        panic!("get in a missing bucket answered");
    };
    assert!(get.is_missing_collection(), "{get}");
    assert_eq!(get.target(), Some(bucket), "{get}");

    store.create_bucket().await.expect("create the bucket");
    assert!(!store.exists(&k).await.expect("a missing key is no error"));
    let head = store.head(&k).await.expect_err("head of a missing key");
    assert_eq!(head.kind(), ErrorKind::NotFound, "{head}");
    assert!(!head.is_missing_collection(), "{head}");
    assert_eq!(head.target(), Some(k.as_str()), "{head}");
    store
        .put(&k, Bytes::from_static(b"x"), PutOptions::new())
        .await
        .expect("put");
    assert!(store.exists(&k).await.expect("exists"));
    store.delete(&k).await.expect("delete");
    store.delete_bucket().await.expect("delete the bucket");
}

#[tokio::test]
async fn bucket_helpers_create_check_and_delete() {
    let url = endpoint(Service::S3).await;
    let store = builder_at(&url, &unique_name("helpers"))
        .build()
        .await
        .expect("build");
    assert!(!store.bucket_exists().await.expect("exists before"));
    store.create_bucket().await.expect("create");
    store
        .create_bucket()
        .await
        .expect("creating an owned bucket again is fine");
    assert!(store.bucket_exists().await.expect("exists after"));
    store.put_str(&key("a"), "x").await.expect("put");
    let err = store
        .delete_bucket()
        .await
        .expect_err("a bucket with objects");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(!err.is_retryable());
    store
        .empty_and_delete_bucket()
        .await
        .expect("empty and delete");
    assert!(!store.bucket_exists().await.expect("exists at the end"));
    let bad = store_s3::S3Store::builder("Not_A_Bucket").build().await;
    assert_eq!(
        bad.expect_err("invalid name").kind(),
        ErrorKind::InvalidInput
    );
}
