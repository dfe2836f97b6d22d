//! Large objects: streamed puts past the background-sync threshold, file transfers, copies
//! (copied in the kernel), and ranges near the ends, all checked byte for byte.

#[path = "common/scratch.rs"]
mod scratch;

use bytes::Bytes;
use futures::StreamExt;
use scratch::{Cleanup, ScratchStore, unique_dir};
use sha2::{Digest, Sha256};
use store_core::object::{ByteRange, GetOptions, PutOptions};
use store_core::testkit::object::pattern;
use store_core::{ObjectKey, ObjectStore};

/// 40 MiB and a bit: more than one background sync, not a whole number of chunks.
const SIZE: usize = 40 * 1024 * 1024 + 12_345;

fn etag(body: &[u8]) -> String {
    let hex: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_stream_copy_and_transfer_exactly() {
    let store = ScratchStore::new("large").await;
    let body = Bytes::from(pattern(SIZE, 11));
    let key = ObjectKey::new("big/one").unwrap();
    let chunks: Vec<_> = (0..body.len())
        .step_by(300_000)
        .map(|at| Ok(body.slice(at..(at + 300_000).min(body.len()))))
        .collect();
    let put = store
        .put_stream(
            &key,
            futures::stream::iter(chunks).boxed(),
            PutOptions::new(),
        )
        .await
        .unwrap();
    let expected = etag(&body);
    assert_eq!(put.etag.as_deref(), Some(expected.as_str()));

    let got = store.get(&key, GetOptions::new()).await.unwrap();
    let mut stream = got.body;
    let mut offset = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        assert!(chunk.len() <= 1024 * 1024, "chunks are bounded");
        assert_eq!(chunk[..], body[offset..offset + chunk.len()], "at {offset}");
        offset += chunk.len();
    }
    assert_eq!(offset, SIZE);

    for (range, expected) in [
        (ByteRange::Suffix(10), SIZE - 10..SIZE),
        (ByteRange::From(SIZE as u64 - 1), SIZE - 1..SIZE),
        (
            ByteRange::Bounded {
                start: 1_048_575,
                end: 1_048_577,
            },
            1_048_575..1_048_577,
        ),
    ] {
        let got = store
            .get(&key, GetOptions::new().range(range))
            .await
            .unwrap();
        assert_eq!(
            got.bytes().await.unwrap(),
            body.slice(expected),
            "{range:?}"
        );
    }

    let copy = ObjectKey::new("big/copy").unwrap();
    store.copy(&key, &copy).await.unwrap();
    let meta = store.head(&copy).await.unwrap();
    assert_eq!(meta.etag, put.etag, "a copy keeps the content etag");
    let copied = store
        .get(&copy, GetOptions::new())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(copied == body, "the copied bytes");

    let dir = unique_dir("large-files");
    let _cleanup = Cleanup(dir.clone());
    std::fs::create_dir_all(&dir).unwrap();
    let downloaded = dir.join("down.bin");
    assert_eq!(
        store.download_file(&copy, &downloaded).await.unwrap(),
        SIZE as u64
    );
    assert!(
        std::fs::read(&downloaded).unwrap() == body,
        "the downloaded bytes"
    );
    let uploaded = ObjectKey::new("big/uploaded").unwrap();
    let up = store
        .upload_file(
            &downloaded,
            &uploaded,
            PutOptions::new().content_type("application/x-big"),
        )
        .await
        .unwrap();
    assert_eq!(up.etag, put.etag, "equal bytes, equal etags");
    assert_eq!(
        store.head(&uploaded).await.unwrap().content_type.as_deref(),
        Some("application/x-big")
    );
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file left by the download");
}
