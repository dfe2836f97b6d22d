//! Behaviour specific to the in-memory store; the shared semantics are checked by the
//! conformance suite in `tests/object_conformance.rs`.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use super::*;
use crate::error::ErrorKind;
use crate::object::{ByteRange, ObjectStoreExt};

fn key(s: &str) -> ObjectKey {
    ObjectKey::new(s).unwrap()
}

#[tokio::test]
async fn body_chunks_are_at_most_64_kib() {
    let store = MemoryObjectStore::new();
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    store
        .put_bytes(&key("big"), Bytes::from(body.clone()))
        .await
        .unwrap();
    let chunks: Vec<Bytes> = store
        .get(&key("big"), GetOptions::new())
        .await
        .unwrap()
        .body
        .map(|c| c.unwrap())
        .collect()
        .await;
    assert_eq!(chunks.len(), 4, "200,000 bytes is 3 full chunks and a tail");
    assert!(chunks.iter().all(|c| c.len() <= CHUNK && !c.is_empty()));
    assert_eq!(chunks.concat(), body);

    let ranged = store
        .get(&key("big"), GetOptions::new().range(ByteRange::From(1)))
        .await
        .unwrap();
    assert_eq!(ranged.range, 1..200_000);
    assert_eq!(ranged.bytes().await.unwrap(), body[1..]);
}

#[tokio::test]
async fn clones_share_objects() {
    let store = MemoryObjectStore::new();
    let clone = store.clone();
    clone.put_str(&key("k"), "shared").await.unwrap();
    assert_eq!(store.get_string(&key("k")).await.unwrap(), "shared");
    let report = store.health().await.unwrap();
    assert_eq!(report.backend, "memory");
    assert_eq!(report.detail.as_deref(), Some("1 objects"));
}

#[tokio::test]
async fn etag_conditions_ignore_quotes_and_accept_star() {
    let store = MemoryObjectStore::new();
    let etag = store.put_str(&key("k"), "v1").await.unwrap().etag.unwrap();
    let bare = etag.trim_matches('"').to_owned();
    store
        .get(&key("k"), GetOptions::new().if_match(bare.clone()))
        .await
        .expect("an unquoted etag matches");
    store
        .get(&key("k"), GetOptions::new().if_match("*"))
        .await
        .expect("* matches any existing object");
    let err = store
        .get(&key("k"), GetOptions::new().if_none_match("*"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(err.message().contains("not modified"), "{err}");
    store
        .put(
            &key("k"),
            Bytes::from_static(b"v2"),
            PutOptions::new().mode(PutMode::IfMatch(bare)),
        )
        .await
        .expect("if-match put with an unquoted current etag");
}

#[tokio::test]
async fn cursor_that_is_not_utf8_is_invalid_input() {
    let store = MemoryObjectStore::new();
    store.put_str(&key("a"), "1").await.unwrap();
    for raw in [&[0xff, 0xfe][..], b"", b"a\0b"] {
        let err = store
            .list_page(&ListOptions::new(), Some(Cursor::encode(raw)))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "cursor {raw:?}: {err}");
        assert!(err.message().contains("cursor"), "{err}");
    }
}

#[tokio::test]
async fn page_sizes_are_capped_and_zero_is_rejected() {
    let store = MemoryObjectStore::new();
    for i in 0..1005 {
        store
            .put_bytes(&key(&format!("k{i:04}")), Bytes::new())
            .await
            .unwrap();
    }
    let page = store
        .list_page(&ListOptions::new().page_size(5000), None)
        .await
        .unwrap();
    assert_eq!(page.objects.len(), 1000, "pages hold at most 1,000 entries");
    assert!(page.next.is_some());
    let err = store
        .list_page(&ListOptions::new().page_size(0), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn cursor_on_a_common_prefix_skips_its_keys() {
    let store = MemoryObjectStore::new();
    for k in ["a/1", "a/2", "a/3", "a0", "b/1", "c"] {
        store.put_bytes(&key(k), Bytes::new()).await.unwrap();
    }
    let options = ListOptions::new().delimiter("/").page_size(1);
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list_page(&options, cursor).await.unwrap();
        seen.extend(page.common_prefixes);
        seen.extend(page.objects.into_iter().map(|m| m.key.as_str().to_owned()));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["a/", "a0", "b/", "c"]);
}

#[tokio::test]
async fn prefix_that_cannot_start_a_key_lists_nothing() {
    let store = MemoryObjectStore::new();
    store.put_str(&key("a"), "1").await.unwrap();
    for prefix in ["a\0".to_owned(), "a".repeat(2000)] {
        let page = store
            .list_page(&ListOptions::new().prefix(prefix), None)
            .await
            .unwrap();
        assert!(page.objects.is_empty() && page.next.is_none());
    }
}

#[tokio::test]
async fn presign_is_unsupported_after_checking_expiry() {
    let store = MemoryObjectStore::new();
    assert_eq!(
        store.capabilities(),
        ObjectCapabilities::none().conditional_put(true)
    );
    let err = store
        .presign(PresignMethod::Get, &key("k"), Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let err = store
        .presign(PresignMethod::Put, &key("k"), Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn create_only_races_across_threads_have_one_winner() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        for round in 0..50 {
            let store = MemoryObjectStore::new();
            let k = key(&format!("race-{round}"));
            let tasks: Vec<_> = (0..8)
                .map(|i| {
                    let store = store.clone();
                    let k = k.clone();
                    tokio::spawn(async move {
                        store
                            .put(
                                &k,
                                Bytes::from(format!("writer {i}")),
                                PutOptions::new().mode(PutMode::CreateOnly),
                            )
                            .await
                    })
                })
                .collect();
            let mut wins = 0;
            for task in tasks {
                match task.await.unwrap() {
                    Ok(_) => wins += 1,
                    Err(e) => assert_eq!(e.kind(), ErrorKind::AlreadyExists),
                }
            }
            assert_eq!(wins, 1, "round {round}: exactly one create-only put wins");
        }
    });
}
