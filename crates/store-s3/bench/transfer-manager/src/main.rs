//! Baseline for store-s3's `s3_bench`: AWS's Rust transfer manager
//! (`aws-sdk-s3-transfer-manager`) with its default concurrency and its upload's
//! default part size (8 MiB) for both directions, against the
//! same server and bucket as the other contenders.
//!
//! Usage: `s3-transfer-manager-baseline ENDPOINT BUCKET SOURCE_FILE DOWNLOAD_FILE`; credentials
//! and region from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`. Uploads the
//! file, downloads it back (left for the benchmark to compare), deletes the object and prints
//! one JSON line:
//! `{"upload_s": …, "download_s": …, "bytes": …}` (the times of the transfers alone).

use std::time::Instant;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3_transfer_manager as tm;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let [_, endpoint, bucket, source, target] = args.as_slice() else {
        return Err("usage: s3-transfer-manager-baseline ENDPOINT BUCKET SOURCE TARGET".into());
    };
    let s3 = s3_config(endpoint);
    // Its defaults, but for the part size pinned to its own upload default (8 MiB, boto3's
    // too): left to choose, a download of a multipart object first asks for partNumber=1 to
    // align its ranges to the stored parts, which s3s-fs answers without a Content-Range.
    let config = tm::Config::builder()
        .s3_config(s3.clone())
        .part_size(tm::types::PartSize::Target(8 * 1024 * 1024))
        .build();
    let client = tm::Client::new(config);
    let name = std::path::Path::new(source)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let key = format!("bench/transfer-manager-{name}");

    let started = Instant::now();
    client
        .upload()
        .bucket(bucket)
        .key(&key)
        .body(tm::io::InputStream::from_path(source)?)
        .initiate()?
        .join()
        .await?;
    let upload_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    client
        .download()
        .bucket(bucket)
        .key(&key)
        .write_to_path(target)
        .await?
        .join()
        .await?;
    // Like store-s3's download_file, which syncs the file before it returns.
    std::fs::File::open(target)?.sync_all()?;
    let download_s = started.elapsed().as_secs_f64();

    let bytes = std::fs::metadata(target)?.len();
    let raw = aws_sdk_s3::Client::from_conf(s3.build());
    raw.delete_object().bucket(bucket).key(&key).send().await?;
    println!("{{\"upload_s\": {upload_s}, \"download_s\": {download_s}, \"bytes\": {bytes}}}");
    Ok(())
}

/// The SDK's configuration for `endpoint`, path-style, with the environment's credentials.
fn s3_config(endpoint: &str) -> aws_sdk_s3::config::Builder {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(env("AWS_REGION", "us-east-1")))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(Credentials::new(
            env("AWS_ACCESS_KEY_ID", "test"),
            env("AWS_SECRET_ACCESS_KEY", "test"),
            None,
            None,
            "bench",
        ))
}
