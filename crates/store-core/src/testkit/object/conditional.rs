//! Ranges, conditional gets and conditional puts.

use std::time::Duration;

use bytes::Bytes;

use super::{ObjectStoreFactory, expect_kind, fresh, key, lacks, pattern, put, put_mode, read};
use crate::error::ErrorKind;
use crate::object::{ByteRange, GetOptions, ObjectStore, PutMode, PutOptions};

/// Whether the store enforces conditional puts; when it does not, checks that it says so with
/// `Unsupported` instead of ignoring the condition.
async fn conditional_puts(store: &dyn ObjectStore) -> bool {
    if store.capabilities().conditional_put {
        return true;
    }
    expect_kind(
        put_mode(store, &key("conditional/probe"), b"x", PutMode::CreateOnly).await,
        ErrorKind::Unsupported,
        "a create-only put on a store without conditional puts",
    );
    false
}

/// Bounded, open-ended and suffix ranges return exactly those bytes and report the range;
/// a bounded range past the end is clipped.
pub async fn ranged_get_returns_exact_bytes(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("ranges/data.bin");
    let body = pattern(100_000, 7);
    put(&*store, &k, body.clone()).await;
    let cases = [
        (ByteRange::Bounded { start: 0, end: 1 }, 0..1),
        (ByteRange::Bounded { start: 10, end: 20 }, 10..20),
        (
            ByteRange::Bounded {
                start: 99_990,
                end: 200_000,
            },
            99_990..100_000,
        ),
        (ByteRange::From(65_530), 65_530..100_000),
        (ByteRange::From(0), 0..100_000),
        (ByteRange::Suffix(5), 99_995..100_000),
        (ByteRange::Suffix(500_000), 0..100_000),
    ];
    let long_suffix = !lacks(
        &*store,
        "ranged_get_returns_exact_bytes (a suffix longer than the object)",
        "long_suffix_ranges",
        |c| c.long_suffix_ranges,
    );
    for (range, expected) in cases {
        if !long_suffix && matches!(range, ByteRange::Suffix(n) if n > 100_000) {
            continue;
        }
        let got = store
            .get(&k, GetOptions::new().range(range))
            .await
            .unwrap_or_else(|e| panic!("get with {range:?}: {e}"));
        assert_eq!(got.range, expected, "reported range of {range:?}");
        assert_eq!(
            got.meta.size, 100_000,
            "size is the whole object's for {range:?}"
        );
        let bytes = got.bytes().await.expect("ranged body");
        let (start, end) = (expected.start as usize, expected.end as usize);
        assert_eq!(bytes[..], body[start..end], "bytes of {range:?}");
    }
}

/// A range that starts at or past the end, or is empty, is `InvalidInput`.
pub async fn unsatisfiable_range_is_invalid(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("ranges/small");
    put(&*store, &k, &b"0123456789"[..]).await;
    for range in [
        ByteRange::From(10),
        ByteRange::From(1_000),
        ByteRange::Bounded { start: 10, end: 20 },
        ByteRange::Bounded { start: 5, end: 5 },
    ] {
        expect_kind(
            store.get(&k, GetOptions::new().range(range)).await,
            ErrorKind::InvalidInput,
            &format!("get with unsatisfiable {range:?}"),
        );
    }
}

/// A get with the current etag as if-match succeeds; with another etag it is
/// `PreconditionFailed`.
pub async fn get_if_match(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("cond/get-if-match");
    let old = put(&*store, &k, &b"old"[..]).await.etag.expect("etag");
    let current = put(&*store, &k, &b"new"[..]).await.etag.expect("etag");
    let got = store
        .get(&k, GetOptions::new().if_match(current.clone()))
        .await
        .expect("if-match with the current etag");
    assert_eq!(got.bytes().await.expect("body"), &b"new"[..]);
    expect_kind(
        store.get(&k, GetOptions::new().if_match(old)).await,
        ErrorKind::PreconditionFailed,
        "if-match with a stale etag",
    );
}

/// A get with if-none-match of the current etag is `PreconditionFailed` ("not modified");
/// with another etag it returns the body.
pub async fn get_if_none_match(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("cond/get-if-none-match");
    let old = put(&*store, &k, &b"old"[..]).await.etag.expect("etag");
    let current = put(&*store, &k, &b"new"[..]).await.etag.expect("etag");
    let err = expect_kind(
        store
            .get(&k, GetOptions::new().if_none_match(current))
            .await,
        ErrorKind::PreconditionFailed,
        "if-none-match with the current etag",
    );
    assert!(
        err.to_string().to_lowercase().contains("not modified"),
        "the error should say the object is not modified: {err}"
    );
    let got = store
        .get(&k, GetOptions::new().if_none_match(old))
        .await
        .expect("if-none-match with a stale etag");
    assert_eq!(got.bytes().await.expect("body"), &b"new"[..]);
}

/// A create-only put succeeds once; the second is `AlreadyExists` and leaves the first body.
pub async fn create_only_twice_is_already_exists(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    if !conditional_puts(&*store).await {
        return;
    }
    let k = key("cond/create-only");
    put_mode(&*store, &k, b"first", PutMode::CreateOnly)
        .await
        .expect("a create-only put of a new key");
    expect_kind(
        put_mode(&*store, &k, b"second", PutMode::CreateOnly).await,
        ErrorKind::AlreadyExists,
        "a second create-only put",
    );
    assert_eq!(
        read(&*store, &k).await,
        &b"first"[..],
        "the first body stays"
    );
}

/// Of two concurrent create-only puts of one key, exactly one succeeds and its body is stored.
pub async fn concurrent_create_only_has_one_winner(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    if !conditional_puts(&*store).await {
        return;
    }
    for round in 0..5 {
        let k = key(&format!("cond/race-{round}"));
        let (a, b) = tokio::join!(
            put_mode(&*store, &k, b"writer a", PutMode::CreateOnly),
            put_mode(&*store, &k, b"writer b", PutMode::CreateOnly),
        );
        let winner: &[u8] = match (&a, &b) {
            (Ok(_), Err(e)) | (Err(e), Ok(_)) => {
                assert_eq!(e.kind(), ErrorKind::AlreadyExists, "the loser's error: {e}");
                if a.is_ok() { b"writer a" } else { b"writer b" }
            }
            _ => panic!("round {round}: exactly one create-only put must win: {a:?} / {b:?}"),
        };
        assert_eq!(
            read(&*store, &k).await,
            winner,
            "the winner's body is stored"
        );
    }
}

/// An if-match put with the current etag replaces the object; with a stale etag, or on a
/// missing key, it is `PreconditionFailed` and changes nothing.
pub async fn if_match_put(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    if !conditional_puts(&*store).await {
        return;
    }
    let k = key("cond/if-match");
    let first = put(&*store, &k, &b"v1"[..]).await.etag.expect("etag");
    let second = put_mode(&*store, &k, b"v2", PutMode::IfMatch(first.clone()))
        .await
        .expect("if-match put with the current etag")
        .etag
        .expect("etag");
    assert_eq!(read(&*store, &k).await, &b"v2"[..]);
    expect_kind(
        put_mode(&*store, &k, b"v3", PutMode::IfMatch(first)).await,
        ErrorKind::PreconditionFailed,
        "if-match put with a stale etag",
    );
    assert_eq!(
        read(&*store, &k).await,
        &b"v2"[..],
        "a failed if-match put changes nothing"
    );
    let missing = key("cond/if-match-missing");
    expect_kind(
        put_mode(&*store, &missing, b"v1", PutMode::IfMatch(second)).await,
        ErrorKind::PreconditionFailed,
        "if-match put on a missing key",
    );
    assert!(
        !super::exists(&*store, &missing).await,
        "nothing is created"
    );
}

/// The etag changes when the content changes, and head agrees with the last put.
pub async fn etag_changes_with_content(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("cond/etag");
    let mut seen = Vec::new();
    for body in [&b"alpha"[..], b"beta", b"", b"alpha!"] {
        let etag = put(&*store, &k, body).await.etag.expect("etag");
        assert_eq!(
            store.head(&k).await.expect("head").etag.as_deref(),
            Some(etag.as_str()),
            "head reports the last put's etag"
        );
        assert!(
            !seen.contains(&etag),
            "etag {etag} repeats for different content"
        );
        seen.push(etag);
    }
}

/// Get conditions on time compare in whole seconds with the object's last-modified time:
/// not modified since its own time is `PreconditionFailed` ("not modified"), modified since
/// an hour before returns the body; unmodified since an hour before is `PreconditionFailed`,
/// unmodified since an hour later returns the body.
pub async fn get_if_modified_since(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let k = key("cond/get-if-modified-since");
    put(&*store, &k, &b"body"[..]).await;
    let written = store
        .head(&k)
        .await
        .expect("head")
        .last_modified
        .expect("a last-modified time");
    let hour = Duration::from_secs(3600);
    let err = expect_kind(
        store
            .get(&k, GetOptions::new().if_modified_since(written))
            .await,
        ErrorKind::PreconditionFailed,
        "if-modified-since its own time",
    );
    assert!(
        err.to_string().to_lowercase().contains("not modified"),
        "the error should say the object is not modified: {err}"
    );
    let got = store
        .get(&k, GetOptions::new().if_modified_since(written - hour))
        .await
        .expect("if-modified-since an hour before");
    assert_eq!(got.bytes().await.expect("body"), &b"body"[..]);
    expect_kind(
        store
            .get(&k, GetOptions::new().if_unmodified_since(written - hour))
            .await,
        ErrorKind::PreconditionFailed,
        "if-unmodified-since an hour before",
    );
    let got = store
        .get(&k, GetOptions::new().if_unmodified_since(written + hour))
        .await
        .expect("if-unmodified-since an hour later");
    assert_eq!(got.bytes().await.expect("body"), &b"body"[..]);
}

/// A create-only copy to a free key copies body and metadata; to a taken key it is
/// `AlreadyExists` and the object there keeps its body; from a missing key it is `NotFound`.
pub async fn copy_if_not_exists_refuses_to_overwrite(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let (source, free, taken) = (key("copy/src"), key("copy/free"), key("copy/taken"));
    let options = PutOptions::new()
        .content_type("text/plain")
        .metadata("origin", "conformance");
    store
        .put(&source, Bytes::from_static(b"source"), options)
        .await
        .expect("put the source");
    put(&*store, &taken, &b"taken"[..]).await;
    store
        .copy_if_not_exists(&source, &free)
        .await
        .expect("a create-only copy to a free key");
    assert_eq!(read(&*store, &free).await, &b"source"[..]);
    let meta = store.head(&free).await.expect("head the copy");
    assert_eq!(meta.content_type.as_deref(), Some("text/plain"));
    assert_eq!(
        meta.metadata.get("origin").map(String::as_str),
        Some("conformance")
    );
    expect_kind(
        store.copy_if_not_exists(&source, &taken).await,
        ErrorKind::AlreadyExists,
        "a create-only copy onto an existing object",
    );
    assert_eq!(read(&*store, &taken).await, &b"taken"[..], "untouched");
    expect_kind(
        store
            .copy_if_not_exists(&key("copy/missing"), &key("copy/new"))
            .await,
        ErrorKind::NotFound,
        "a create-only copy of a missing object",
    );
    assert!(!super::exists(&*store, &key("copy/new")).await);
}
