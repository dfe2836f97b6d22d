//! Basic behaviours: put, get, head, delete, copy, typed helpers, keys, health.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::{ObjectStoreFactory, exists, expect_kind, fresh, key, lacks, pattern, put, read};
use crate::error::ErrorKind;
use crate::keys::{MAX_OBJECT_KEY_BYTES, ObjectKey};
use crate::object::{GetOptions, ObjectStoreExt, PutOptions};

/// Bytes put under a key come back unchanged, with the whole range and size reported.
pub async fn put_get_round_trip(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("round/trip.bin");
    let body: Vec<u8> = (0..=255u8).rev().chain(0..=255u8).collect();
    let put_result = put(&*store, &k, body.clone()).await;
    assert!(put_result.etag.is_some(), "a put should report an etag");
    let got = store
        .get(&k, GetOptions::new())
        .await
        .expect("get after put");
    assert_eq!(
        got.range,
        0..512,
        "an unranged get reports the whole object"
    );
    assert_eq!(got.meta.size, 512, "size of the object");
    assert_eq!(got.meta.key, k, "the key in the metadata");
    assert_eq!(got.bytes().await.expect("body"), body, "body round trip");
}

/// An empty object can be stored, read, headed and listed.
pub async fn empty_object(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("empty");
    put(&*store, &k, Bytes::new()).await;
    let got = store.get(&k, GetOptions::new()).await.expect("get empty");
    assert_eq!(got.range, 0..0, "range of an empty object");
    assert_eq!(got.meta.size, 0);
    assert!(got.bytes().await.expect("body").is_empty(), "empty body");
    assert_eq!(store.head(&k).await.expect("head").size, 0);
    assert_eq!(
        super::list_names(&*store, Default::default()).await,
        ["empty"]
    );
}

/// A 3 MiB object streams back equal, whatever the chunking.
pub async fn large_object_streams_back_equal(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("large/3mib.bin");
    let body = pattern(3 * 1024 * 1024 + 17, 42);
    put(&*store, &k, body.clone()).await;
    let got = store.get(&k, GetOptions::new()).await.expect("get large");
    assert_eq!(got.meta.size, body.len() as u64);
    let mut offset = 0usize;
    let mut stream = got.body;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("every chunk of a large body");
        assert_eq!(
            chunk[..],
            body[offset..offset + chunk.len()],
            "chunk at offset {offset} differs"
        );
        offset += chunk.len();
    }
    assert_eq!(offset, body.len(), "the stream yields every byte");
}

/// A second put replaces the body, size and metadata of the first.
pub async fn put_overwrites(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("overwrite");
    let first = PutOptions::new()
        .content_type("text/plain")
        .metadata("version", "1");
    store
        .put(&k, Bytes::from_static(b"first version"), first)
        .await
        .expect("first put");
    put(&*store, &k, &b"v2"[..]).await;
    assert_eq!(read(&*store, &k).await, &b"v2"[..], "the second body wins");
    let meta = store.head(&k).await.expect("head");
    assert_eq!(meta.size, 2, "size of the second body");
    assert!(
        meta.metadata.is_empty(),
        "an overwrite replaces metadata: {:?}",
        meta.metadata
    );
}

/// Get and head of a missing key are `NotFound`.
pub async fn missing_object_is_not_found(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("never/written");
    expect_kind(
        store.get(&k, GetOptions::new()).await,
        ErrorKind::NotFound,
        "get of a missing key",
    );
    expect_kind(
        store.head(&k).await,
        ErrorKind::NotFound,
        "head of a missing key",
    );
    expect_kind(
        store.get_bytes(&k).await,
        ErrorKind::NotFound,
        "get_bytes of a missing key",
    );
}

/// Head reports key, size, the put's etag, a recent modification time, content type and
/// metadata.
pub async fn head_reports_meta(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("head/me.csv");
    let options = PutOptions::new()
        .content_type("text/csv")
        .metadata("owner", "ops team")
        .metadata("batch", "42");
    let put_result = store
        .put(&k, Bytes::from_static(b"a,b\n1,2\n"), options)
        .await
        .expect("put");
    let meta = store.head(&k).await.expect("head");
    assert_eq!(meta.key, k);
    assert_eq!(meta.size, 8, "size");
    assert_eq!(
        meta.etag, put_result.etag,
        "head reports the etag the put returned"
    );
    assert_eq!(meta.content_type.as_deref(), Some("text/csv"));
    assert_eq!(
        meta.metadata.get("owner").map(String::as_str),
        Some("ops team")
    );
    assert_eq!(meta.metadata.get("batch").map(String::as_str), Some("42"));
    let modified = meta
        .last_modified
        .expect("head reports a modification time");
    let now = SystemTime::now();
    let day = Duration::from_secs(24 * 3600);
    assert!(
        modified > now - day && modified < now + day,
        "last_modified {modified:?} should be close to now {now:?}"
    );
}

/// Content type and several metadata entries come back on get exactly as put.
pub async fn metadata_and_content_type_round_trip(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("meta/doc.json");
    let options = PutOptions::new()
        .content_type("application/vnd.example+json; charset=utf-8")
        .metadata("author", "Ada Lovelace")
        .metadata("tags", "a,b;c=d")
        .metadata("empty-ish", "-");
    store
        .put(&k, Bytes::from_static(b"{}"), options.clone())
        .await
        .expect("put with metadata");
    let got = store.get(&k, GetOptions::new()).await.expect("get");
    assert_eq!(got.meta.content_type, options.content_type, "content type");
    assert_eq!(got.meta.metadata, options.metadata, "user metadata");
}

/// `exists` is true after a put and false for other keys and after a delete.
pub async fn exists_reports_presence(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("present");
    assert!(
        !exists(&*store, &k).await,
        "nothing exists in a fresh store"
    );
    put(&*store, &k, &b"x"[..]).await;
    assert!(exists(&*store, &k).await, "exists after put");
    assert!(
        !exists(&*store, &key("present/child")).await,
        "a longer key does not exist"
    );
    assert!(
        !exists(&*store, &key("pres")).await,
        "a prefix is not an object"
    );
    store.delete(&k).await.expect("delete");
    assert!(!exists(&*store, &k).await, "gone after delete");
}

/// A deleted object is `NotFound` and no longer listed; other objects stay.
pub async fn delete_then_get_is_not_found(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let (gone, kept) = (key("dir/gone"), key("dir/kept"));
    put(&*store, &gone, &b"1"[..]).await;
    put(&*store, &kept, &b"2"[..]).await;
    store.delete(&gone).await.expect("delete");
    expect_kind(
        store.get(&gone, GetOptions::new()).await,
        ErrorKind::NotFound,
        "get after delete",
    );
    assert_eq!(
        read(&*store, &kept).await,
        &b"2"[..],
        "the other object stays"
    );
    assert_eq!(
        super::list_names(&*store, Default::default()).await,
        ["dir/kept"]
    );
}

/// Deleting a missing key succeeds, as on S3.
pub async fn delete_missing_is_ok(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    store
        .delete(&key("never/there"))
        .await
        .expect("deleting a missing key is not an error");
}

/// `delete_many` removes every listed key, missing ones included without failure, and
/// leaves the others.
pub async fn delete_many_removes_keys(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let keys: Vec<ObjectKey> = (0..30).map(|i| key(&format!("many/{i:02}"))).collect();
    for k in &keys {
        put(&*store, k, Bytes::from(k.as_str().to_owned())).await;
    }
    let mut doomed: Vec<ObjectKey> = keys[..20].to_vec();
    doomed.extend((0..5).map(|i| key(&format!("many/missing-{i}"))));
    let failures = store.delete_many(&doomed).await.expect("delete_many");
    assert!(failures.is_empty(), "no key should fail: {failures:?}");
    for k in &keys[..20] {
        assert!(!exists(&*store, k).await, "`{k}` should be deleted");
    }
    let left = super::list_names(&*store, Default::default()).await;
    let expected: Vec<String> = keys[20..].iter().map(|k| k.as_str().to_owned()).collect();
    assert_eq!(left, expected, "the other keys stay");
    let none = store
        .delete_many(&[])
        .await
        .expect("delete_many of no keys");
    assert!(none.is_empty());
}

/// A copy has the source's body, content type and metadata; the source stays; an existing
/// target is replaced.
pub async fn copy_keeps_body_and_metadata(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let (from, to) = (key("copy/from.txt"), key("copy/to.txt"));
    let options = PutOptions::new()
        .content_type("text/markdown")
        .metadata("origin", "copy test");
    store
        .put(&from, Bytes::from_static(b"# copied"), options.clone())
        .await
        .expect("put source");
    put(&*store, &to, &b"old target"[..]).await;
    store.copy(&from, &to).await.expect("copy");
    assert_eq!(read(&*store, &to).await, &b"# copied"[..], "copied body");
    let meta = store.head(&to).await.expect("head copy");
    assert_eq!(meta.size, 8);
    assert_eq!(
        meta.content_type, options.content_type,
        "copied content type"
    );
    assert_eq!(meta.metadata, options.metadata, "copied metadata");
    assert_eq!(
        read(&*store, &from).await,
        &b"# copied"[..],
        "the source stays"
    );
}

/// Copying a missing source is `NotFound` and creates nothing.
pub async fn copy_missing_is_not_found(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let to = key("copy/target");
    expect_kind(
        store.copy(&key("copy/missing"), &to).await,
        ErrorKind::NotFound,
        "copy of a missing source",
    );
    assert!(!exists(&*store, &to).await, "no target is created");
}

/// Text and JSON helpers round trip typed values and label their content types; wrong
/// content is `InvalidInput`.
pub async fn typed_text_and_json(factory: &ObjectStoreFactory) {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Report {
        name: String,
        total: u64,
        ratio: f64,
        tags: Vec<String>,
    }
    let store = fresh(factory).await;
    let text = key("typed/hello.txt");
    store
        .put_str(&text, "héllo, wörld ✓")
        .await
        .expect("put_str");
    assert_eq!(
        store.get_string(&text).await.expect("get_string"),
        "héllo, wörld ✓"
    );
    let meta = store.head(&text).await.expect("head text");
    assert_eq!(
        meta.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );

    let json = key("typed/report.json");
    let report = Report {
        name: "q1".into(),
        total: 12_345,
        ratio: 0.25,
        tags: vec!["a".into(), "b".into()],
    };
    store.put_json(&json, &report).await.expect("put_json");
    let back: Report = store.get_json(&json).await.expect("get_json");
    assert_eq!(back, report, "typed JSON round trip");
    let meta = store.head(&json).await.expect("head json");
    assert_eq!(meta.content_type.as_deref(), Some("application/json"));

    expect_kind(
        store.get_json::<Report>(&text).await,
        ErrorKind::InvalidInput,
        "get_json of text",
    );
    let binary = key("typed/binary");
    put(&*store, &binary, &[0xff, 0xfe, 0x00][..]).await;
    expect_kind(
        store.get_string(&binary).await,
        ErrorKind::InvalidInput,
        "get_string of invalid UTF-8",
    );
}

/// Invalid keys are `InvalidInput` with a message; the longest valid key works.
pub async fn invalid_keys_are_rejected(factory: &ObjectStoreFactory) {
    for (text, why) in [
        (String::new(), "empty"),
        ("k".repeat(MAX_OBJECT_KEY_BYTES + 1), "too long"),
        (
            "é".repeat(MAX_OBJECT_KEY_BYTES / 2 + 1),
            "too many UTF-8 bytes",
        ),
        ("nul\0inside".to_owned(), "with NUL"),
    ] {
        expect_kind(ObjectKey::new(text), ErrorKind::InvalidInput, why);
    }
    let store = fresh(factory).await;
    if lacks(
        &*store,
        "invalid_keys_are_rejected (a 1,024-byte key)",
        "long_keys",
        |c| c.long_keys,
    ) {
        return;
    }
    let longest = key(&format!("long/{}", "k".repeat(MAX_OBJECT_KEY_BYTES - 5)));
    assert_eq!(longest.as_str().len(), MAX_OBJECT_KEY_BYTES);
    put(&*store, &longest, &b"max"[..]).await;
    assert_eq!(read(&*store, &longest).await, &b"max"[..], "1,024-byte key");
    assert_eq!(
        super::list_names(&*store, Default::default()).await,
        [longest.as_str()]
    );
}

/// Health answers and names the same backend as the store.
pub async fn health_reports_backend(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let report = store.health().await.expect("health of a working store");
    assert_eq!(report.backend, store.backend(), "health names the backend");
    assert!(!store.backend().is_empty());
}
