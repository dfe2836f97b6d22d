//! Small puts and gets of 1 KiB through the store against the raw `aws_sdk_s3::Client`.

use std::time::Instant;

use bytes::Bytes;
use store_core::object::{GetOptions, PutOptions};
use store_core::testkit::bench::{Measure, Samples, rotation};
use store_core::{ObjectKey, ObjectStore};
use store_s3::S3Store;
use store_s3::sdk::primitives::ByteStream;

use crate::BoxError;

/// `ops` puts then `ops` gets per contender and round, reported as the time of one operation.
pub(crate) async fn operations(store: &S3Store, ops: usize, rounds: usize) -> Result<(), BoxError> {
    let client = store.client().clone();
    let bucket = store.bucket().to_owned();
    let body = Bytes::from(vec![7u8; 1024]);
    let keys: Vec<ObjectKey> = (0..ops.max(1))
        .map(|i| ObjectKey::new(format!("small/{i:05}")))
        .collect::<Result<_, _>>()?;
    let mut puts = [Samples::new("ours"), Samples::new("raw aws-sdk-s3")];
    let mut gets = puts.clone();
    for round in 0..=rounds {
        for at in rotation(round, 2) {
            let started = Instant::now();
            for k in &keys {
                if at == 0 {
                    store.put(k, body.clone(), PutOptions::new()).await?;
                } else {
                    let body = ByteStream::from(body.clone());
                    let put = client
                        .put_object()
                        .bucket(&bucket)
                        .key(k.as_str())
                        .body(body);
                    put.send().await?;
                }
            }
            let put = started.elapsed() / keys.len() as u32;
            let started = Instant::now();
            for k in &keys {
                let got = if at == 0 {
                    store.get(k, GetOptions::new()).await?.bytes().await?
                } else {
                    let out = client
                        .get_object()
                        .bucket(&bucket)
                        .key(k.as_str())
                        .send()
                        .await?;
                    out.body.collect().await?.into_bytes()
                };
                assert_eq!(got, body, "{k}");
            }
            let get = started.elapsed() / keys.len() as u32;
            if round > 0 {
                puts[at].push_time(put);
                gets[at].push_time(get);
            }
        }
    }
    let n = keys.len();
    let target = "target <= 1.05x";
    Measure::Time.report(
        &format!("small_put_1KiB (one of {n}, {target})"),
        &puts[0],
        &puts[1],
    );
    Measure::Time.report(&format!("small_get_1KiB (one of {n})"), &gets[0], &gets[1]);
    Ok(())
}
