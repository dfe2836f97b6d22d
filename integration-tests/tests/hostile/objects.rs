//! Object stores: in-memory, the file system, S3 on moto and on the signature-checking s3s-fs.

use integration_tests::hostile::{Report, objects};
use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint, setting};
use store_core::memory::MemoryObjectStore;
use store_fs::FsStore;
use store_s3::S3Store;

#[tokio::test]
async fn in_memory() {
    objects::run(&MemoryObjectStore::new(), Report::new("in-memory objects")).await;
}

#[tokio::test]
async fn file_system() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    let store = FsStore::builder(&root)
        .create_if_missing(true)
        .build()
        .await
        .unwrap();
    objects::run(&store, Report::new("store-fs")).await;
    // Nothing escaped the root (`../../../etc/passwd` and friends stayed inside it).
    let beside: Vec<_> = std::fs::read_dir(outer.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        beside,
        vec![std::ffi::OsString::from("root")],
        "files written outside the root"
    );
}

async fn s3(endpoint_url: &str, credentials: (String, String), report: Report) {
    let bucket = unique_name("hostile");
    let store = S3Store::builder(&bucket)
        .endpoint(endpoint_url)
        .region(setting("AWS_REGION").unwrap_or_else(|| "us-east-1".into()))
        .force_path_style(true)
        .static_credentials(credentials.0, credentials.1)
        .build()
        .await
        .unwrap();
    store.create_bucket().await.unwrap();
    objects::run(&store, report).await;
    store.empty_and_delete_bucket().await.unwrap();
}

#[tokio::test]
async fn s3_on_moto() {
    let credentials = (
        setting("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
        setting("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
    );
    let report = Report::new("S3 (moto)").quirk(
        "key: C0 controls",
        "moto answers 404 to a PUT whose key holds a line feed (boto3 gets the same)",
    );
    s3(&endpoint(Service::S3).await, credentials, report).await;
}

#[tokio::test]
async fn s3_on_s3s_fs() {
    let need = |name: &str| {
        setting(name).unwrap_or_else(|| {
            panic!("{name} is not set: start it with integration-tests/services/up.sh s3s")
        })
    };
    let credentials = (
        need("STORES_S3_VERIFYING_ACCESS_KEY"),
        need("STORES_S3_VERIFYING_SECRET_KEY"),
    );
    let report = Report::new("S3 (s3s-fs)").quirk(
        "listing",
        "s3s-fs answers 500 to a listing that holds a key with control characters (boto3 gets the same)",
    );
    s3(&need("STORES_S3_VERIFYING_ENDPOINT"), credentials, report).await;
}
