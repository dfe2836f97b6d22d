//! A first program with store-s3: create a bucket, write, read, list and delete objects.
//!
//! ```sh
//! # Credentials and region from the AWS default chain (env, profile, SSO, instance role).
//! cargo run -p store-s3 --example s3_quickstart -- my-bucket
//! # Against MinIO, LocalStack or moto, name the endpoint (path-style addressing is then used):
//! STORES_S3_ENDPOINT=http://127.0.0.1:9000 cargo run -p store-s3 --example s3_quickstart
//! ```

use futures::TryStreamExt;
use store_core::object::{ListEntry, ListOptions};
use store_core::{ErrorKind, ObjectKey, ObjectStore, ObjectStoreExt};
use store_s3::S3Store;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bucket = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "stores-quickstart".to_owned());
    let mut builder = S3Store::builder(&bucket);
    if let Ok(endpoint) = std::env::var("STORES_S3_ENDPOINT") {
        builder = builder.endpoint(endpoint).force_path_style(true);
    }
    let store = builder.build().await?;
    store.create_bucket().await?;

    // Objects are bytes under keys; typed helpers come from ObjectStoreExt.
    let report = ObjectKey::new("reports/2024/q1.json")?;
    store
        .put_json(
            &report,
            &serde_json::json!({"revenue": 12_000_000_000_000_000_001_u128}),
        )
        .await?;
    let back: serde_json::Value = store.get_json(&report).await?;
    println!("read back {back}");

    // Every error has a kind to match on.
    let missing = ObjectKey::new("reports/none.json")?;
    match store.get_string(&missing).await {
        Err(e) if e.kind() == ErrorKind::NotFound => println!("missing, as expected: {e}"),
        other => println!("unexpected: {other:?}"),
    }

    // Listings page by themselves.
    let keys: Vec<_> = store
        .list(ListOptions::new().prefix("reports/"))
        .map_ok(|entry| match entry {
            ListEntry::Object(meta) => meta.key.to_string(),
            ListEntry::Prefix(prefix) => prefix,
        })
        .try_collect()
        .await?;
    println!("listed {keys:?}");

    store.delete(&report).await?;
    Ok(())
}
