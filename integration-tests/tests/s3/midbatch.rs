//! A batch of puts cut in the middle by the network (moto keeps its state only in memory, so
//! the fault proxy stands in for a server restart): requests black-holed past the attempt
//! timeout, then every open connection reset. The caller puts again what failed; the bucket
//! ends with every object exactly once, byte for byte.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use integration_tests::fault_proxy::FaultProxy;
use store_core::object::{ListOptions, PutOptions};
use store_core::testkit::object::pattern;
use store_core::{ObjectKey, ObjectStore, ObjectStoreExt, StoreError};
use store_s3::RetryMode;

use crate::support::{builder_at, fresh_bucket, key};

const OBJECTS: usize = 300;

fn body(i: usize) -> Bytes {
    Bytes::from(pattern(16 * 1024 + i, i as u64))
}

fn name(i: usize) -> ObjectKey {
    key(&format!("midbatch/{i:04}"))
}

/// Puts each of `which`, 8 at a time; returns those that failed, with their errors.
async fn put_all(store: &dyn ObjectStore, which: Vec<usize>) -> Vec<(usize, StoreError)> {
    futures::stream::iter(which)
        .map(|i| async move {
            let outcome = store.put(&name(i), body(i), PutOptions::new()).await;
            outcome.err().map(|e| (i, e))
        })
        .buffer_unordered(8)
        .filter_map(|failed| async move { failed })
        .collect()
        .await
}

#[tokio::test]
async fn puts_cut_by_a_black_hole_and_resets_land_every_object_exactly_once() {
    let bucket = fresh_bucket("midbatch").await;
    let proxy = Arc::new(FaultProxy::http(&bucket.endpoint).await.expect("proxy"));
    let store = builder_at(&proxy.url(), bucket.bucket())
        .retry(RetryMode::Standard, 2)
        .attempt_timeout(Duration::from_millis(700))
        .build()
        .await
        .expect("store through the proxy");

    let cutting = {
        let proxy = proxy.clone();
        tokio::spawn(async move {
            while proxy.stats().requests < 60 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            proxy.set_blackhole(true);
            tokio::time::sleep(Duration::from_millis(2_500)).await;
            proxy.reset_connections();
            proxy.set_blackhole(false);
        })
    };
    let failed = put_all(&store, (0..OBJECTS).collect()).await;
    cutting.await.unwrap();
    assert!(!failed.is_empty(), "the cut was felt");
    for (i, error) in &failed {
        assert!(
            error.is_retryable(),
            "object {i}: a network cut is retryable: {error}"
        );
    }
    let cut_off = failed.len();
    let mut pending: Vec<usize> = failed.into_iter().map(|(i, _)| i).collect();
    for _ in 0..5 {
        if pending.is_empty() {
            break;
        }
        pending = put_all(&store, pending)
            .await
            .into_iter()
            .map(|(i, _)| i)
            .collect();
    }
    assert!(pending.is_empty(), "{} objects never landed", pending.len());

    // Behind the proxy's back: exactly the objects put, each byte for byte.
    let listed: Vec<String> = bucket
        .list(ListOptions::new().prefix("midbatch/"))
        .map_ok(|entry| {
            entry
                .as_object()
                .map(|o| o.key.as_str().to_owned())
                .unwrap_or_default()
        })
        .try_collect()
        .await
        .expect("list");
    let expected: Vec<String> = (0..OBJECTS).map(|i| name(i).as_str().to_owned()).collect();
    assert_eq!(listed, expected, "no object lost or doubled");
    for i in 0..OBJECTS {
        assert_eq!(
            bucket.get_bytes(&name(i)).await.unwrap(),
            body(i),
            "object {i}"
        );
    }
    println!(
        "{OBJECTS} puts: the cut failed {cut_off}; put again, the bucket holds {OBJECTS}, equal"
    );
}
