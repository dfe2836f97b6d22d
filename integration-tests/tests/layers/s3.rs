//! S3 (moto): 200 objects put through the layers.

use std::time::Instant;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint, setting};
use sha2::{Digest, Sha256};
use store_core::object::{ListEntry, ListOptions, PutMode, PutOptions};
use store_core::{ErrorKind, ObjectKey, ObjectStore, ObjectStoreExt};
use store_layers::{FaultLayer, LayerExt, RetryLayer};
use store_s3::{RetryMode, S3Store, S3StoreBuilder};

use super::support::{assert_exact, faults, layers, policy, report};

const OBJECTS: usize = 200;
const SEED: u64 = 0x0053_0011;

fn builder(url: &str, bucket: &str) -> S3StoreBuilder {
    S3Store::builder(bucket)
        .endpoint(url)
        .region(setting("AWS_REGION").unwrap_or_else(|| "us-east-1".into()))
        .force_path_style(true)
        .static_credentials(
            setting("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
            setting("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
        )
}

/// Object `n`: 1 to 64 KiB of bytes that depend on `n` and their position.
fn body(n: usize) -> Bytes {
    let len = 1024 * (1 + (n * 37) % 64);
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ n.wrapping_mul(97)) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn key(n: usize) -> String {
    format!("objects/{:03}/o-{n:04}.bin", n % 16)
}

/// An object as canonical text: its key, size and the SHA-256 of its body.
fn record(key: &str, body: &[u8]) -> String {
    let sha: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{key}|{}|{sha}", body.len())
}

/// Empties and deletes the bucket when dropped, on a runtime of its own.
struct DropBucket {
    endpoint: String,
    bucket: String,
}

impl Drop for DropBucket {
    fn drop(&mut self) {
        let (url, bucket) = (self.endpoint.clone(), self.bucket.clone());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if let Ok(store) = builder(&url, &bucket).build().await {
                    let _ = store.empty_and_delete_bucket().await;
                }
            });
        })
        .join();
    }
}

/// A new bucket named from `prefix`: a direct handle, a writer whose SDK retry is off (so only
/// the layer retries), and the guard that deletes the bucket.
async fn bucket(prefix: &str) -> (S3Store, S3Store, DropBucket) {
    let url = endpoint(Service::S3).await;
    let bucket = unique_name(prefix);
    let direct = builder(&url, &bucket).build().await.expect("the store");
    direct.create_bucket().await.expect("create the bucket");
    let cleanup = DropBucket {
        endpoint: url.clone(),
        bucket: bucket.clone(),
    };
    let writer = builder(&url, &bucket)
        .retry(RetryMode::Standard, 1)
        .build()
        .await
        .expect("the writer");
    (direct, writer, cleanup)
}

#[tokio::test]
async fn puts_of_200_objects_under_faults_are_exact() {
    let (direct, writer, _cleanup) = bucket("layers").await;
    let faults = faults(SEED);
    let store = writer.layer(layers(RetryLayer::new(policy()), &faults));

    let started = Instant::now();
    futures::stream::iter(0..OBJECTS)
        .map(|n| {
            let store = &store;
            async move {
                let key = ObjectKey::new(key(n))?;
                store.put(&key, body(n), PutOptions::default()).await
            }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .expect("every put lands through the retries");
    let write_time = started.elapsed();
    report("s3", OBJECTS, OBJECTS as u64, &faults);

    let started = Instant::now();
    let listed: Vec<ListEntry> = direct
        .list(ListOptions::new())
        .try_collect()
        .await
        .expect("list");
    let mut back = Vec::with_capacity(listed.len());
    for entry in &listed {
        let ListEntry::Object(meta) = entry else {
            panic!("no delimiter, no prefix entry: {entry:?}");
        };
        let bytes = direct.get_bytes(&meta.key).await.expect("get");
        assert_eq!(meta.size, bytes.len() as u64, "{}", meta.key.as_str());
        back.push((
            meta.key.as_str().to_owned(),
            record(meta.key.as_str(), &bytes),
        ));
    }
    assert_exact(
        "s3",
        (0..OBJECTS).map(|n| (key(n), record(&key(n), &body(n)))),
        back,
    );
    eprintln!(
        "layers s3: wrote in {write_time:?}, read back in {:?}",
        started.elapsed()
    );
}

/// Create-only puts whose first run landed on S3 but lost its answer are each reported done,
/// not refused by the object that run created: the stack reads the object back and finds the
/// put's bytes, content type and metadata. A put refused by another object stays refused.
#[tokio::test]
async fn create_only_puts_whose_answers_were_lost_are_done() {
    let (direct, writer, _cleanup) = bucket("settle").await;
    let faults = FaultLayer::seeded(SEED);
    let store = writer.layer(layers(RetryLayer::new(policy()), &faults));
    let create_only = || {
        PutOptions::new()
            .mode(PutMode::CreateOnly)
            .content_type("application/octet-stream")
            .metadata("written-by", "settle-test")
    };
    for n in 0..10 {
        let key = ObjectKey::new(format!("settled/{n:02}.bin")).unwrap();
        faults.fail_next_after_success(1, ErrorKind::Unavailable);
        let put = store
            .put(&key, body(n), create_only())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", key.as_str()));
        let head = direct.head(&key).await.expect("head");
        assert_eq!(put.etag, head.etag, "{}", key.as_str());
        assert_eq!(direct.get_bytes(&key).await.expect("get"), body(n));
    }
    assert_eq!(faults.injected_after_success(), 10);

    // The first run fails before S3 sees it; the retry finds another object there.
    let taken = ObjectKey::new("settled/00.bin").unwrap();
    faults.fail_next(1, ErrorKind::Unavailable);
    let err = store
        .put(&taken, body(99), create_only())
        .await
        .expect_err("another object is there");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed
        ),
        "{err}"
    );
    assert_eq!(direct.get_bytes(&taken).await.expect("get"), body(0));
}
