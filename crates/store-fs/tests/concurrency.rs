//! Exactness under concurrency: compare-and-swap counters through if-match puts, create-only
//! races, and readers that never see a torn object while writers overwrite it.

#[path = "common/scratch.rs"]
mod scratch;

use std::sync::Arc;

use bytes::Bytes;
use scratch::ScratchStore;
use sha2::{Digest, Sha256};
use store_core::object::{GetOptions, PutMode, PutOptions};
use store_core::testkit::object::pattern;
use store_core::{ErrorKind, ObjectKey, ObjectStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn if_match_counters_lose_no_increment() {
    let scratch = Arc::new(ScratchStore::new("cas").await);
    let key = ObjectKey::new("counter").unwrap();
    scratch
        .put(&key, Bytes::from_static(b"0"), PutOptions::new())
        .await
        .unwrap();
    let (tasks, increments) = (8, 10);
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (store, key) = (Arc::clone(&scratch), key.clone());
        handles.push(tokio::spawn(async move {
            let mut conflicts = 0;
            for _ in 0..increments {
                loop {
                    let got = store.get(&key, GetOptions::new()).await.unwrap();
                    let etag = got.meta.etag.clone().unwrap();
                    let n: u64 = std::str::from_utf8(&got.bytes().await.unwrap())
                        .unwrap()
                        .parse()
                        .unwrap();
                    let next = Bytes::from((n + 1).to_string());
                    let mode = PutMode::IfMatch(etag);
                    match store.put(&key, next, PutOptions::new().mode(mode)).await {
                        Ok(_) => break,
                        Err(e) if e.kind() == ErrorKind::PreconditionFailed => conflicts += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for handle in handles {
        conflicts += handle.await.unwrap();
    }
    let got = scratch.get(&key, GetOptions::new()).await.unwrap();
    assert_eq!(
        got.bytes().await.unwrap(),
        (tasks * increments).to_string().as_bytes(),
        "every increment counted ({conflicts} retried conflicts)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_only_races_have_exactly_one_winner() {
    let scratch = Arc::new(ScratchStore::new("race").await);
    for round in 0..10 {
        let key = ObjectKey::new(format!("race/{round}")).unwrap();
        let mut handles = Vec::new();
        for writer in 0..6u8 {
            let (store, key) = (Arc::clone(&scratch), key.clone());
            handles.push(tokio::spawn(async move {
                let body = Bytes::from(vec![writer; 1000]);
                let mode = PutOptions::new().mode(PutMode::CreateOnly);
                (writer, store.put(&key, body, mode).await)
            }));
        }
        let mut winners = Vec::new();
        for handle in handles {
            let (writer, result) = handle.await.unwrap();
            match result {
                Ok(_) => winners.push(writer),
                Err(e) => assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let body = scratch
            .get(&key, GetOptions::new())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(body, vec![winners[0]; 1000]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_never_see_a_torn_object() {
    let scratch = Arc::new(ScratchStore::new("torn").await);
    let key = ObjectKey::new("hot").unwrap();
    let sizes = [10usize, 200_000, 3 * 1024 * 1024 + 5];
    scratch
        .put(&key, Bytes::from(pattern(sizes[0], 1)), PutOptions::new())
        .await
        .unwrap();
    let writer = {
        let (store, key) = (Arc::clone(&scratch), key.clone());
        tokio::spawn(async move {
            for i in 0..12u64 {
                let body = Bytes::from(pattern(sizes[(i % 3) as usize], i + 2));
                store.put(&key, body, PutOptions::new()).await.unwrap();
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() {
        let got = scratch.get(&key, GetOptions::new()).await.unwrap();
        let etag = got.meta.etag.clone().unwrap();
        let size = got.meta.size;
        let body = got.bytes().await.unwrap();
        assert_eq!(body.len() as u64, size);
        let digest: String = Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(etag, format!("\"{digest}\""), "the body matches its etag");
        reads += 1;
    }
    writer.await.unwrap();
    assert!(reads > 0);
}
