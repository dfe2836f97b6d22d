//! S3 prefix → a local store-fs folder → another S3 prefix, checked equal by content; and
//! S3 prefix → an archive → another S3 prefix, with every object's content type and
//! metadata kept (S3's listing does not carry them: they come from each object's read).

use std::sync::Arc;

use integration_tests::clients::s3_client;
use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint, setting};
use store_core::object::PutOptions;
use store_core::{ObjectKey, ObjectStore};
use store_s3::S3Store;
use store_sync::objects::{ObjectLocation, ObjectTransferOptions, check_objects, transfer_objects};
use store_sync::{
    ArchiveSink, ArchiveSource, CopyOptions, ObjectArchiveSink, ObjectListing, ObjectRestoreSink,
    Partition, Silent, check, copy,
};

#[tokio::test]
async fn an_s3_prefix_goes_to_a_folder_and_back_unchanged() {
    let bucket = unique_name("sync-objects");
    s3_client()
        .await
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let s3: Arc<dyn ObjectStore> = Arc::new(
        S3Store::builder(&bucket)
            .endpoint(endpoint(Service::S3).await)
            .region(setting("AWS_REGION").unwrap_or_else(|| "us-east-1".into()))
            .force_path_style(true)
            .static_credentials(
                setting("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
                setting("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
            )
            .build()
            .await
            .unwrap(),
    );
    for i in 0..60 {
        let body = vec![(i % 251) as u8; (i * 7919) % 300_000];
        let key = ObjectKey::new(format!("photos/{}/img-{i:03} ü.bin", i % 4)).unwrap();
        let options = PutOptions::new()
            .content_type("image/x-test")
            .metadata("index", i.to_string());
        s3.put(&key, body.into(), options).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let fs: Arc<dyn ObjectStore> = Arc::new(store_fs::FsStore::open(dir.path()).await.unwrap());
    let origin = ObjectLocation::new(s3.clone(), "photos/", format!("s3://{bucket}/photos/"));
    let local = ObjectLocation::new(fs, "", "file://photos");
    let back = ObjectLocation::new(s3.clone(), "restored/", format!("s3://{bucket}/restored/"));
    let options = ObjectTransferOptions::default();
    assert_eq!(
        transfer_objects(&origin, &local, &options, &Silent)
            .await
            .unwrap()
            .copied,
        60
    );
    assert_eq!(
        transfer_objects(&local, &back, &options, &Silent)
            .await
            .unwrap()
            .copied,
        60
    );
    let verdict = check_objects(&origin, &back, 8).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
    assert_eq!(verdict.left.count(), 60);
    // A second sync finds everything equal (same backend: by etag) and copies nothing.
    let again = transfer_objects(&origin, &back, &options, &Silent)
        .await
        .unwrap();
    assert_eq!((again.copied, again.unchanged), (0, 60));
    assert_metadata_kept(s3.as_ref(), "restored/").await;

    // Through an archive and back: the archive agrees with the prefix, and the restored
    // objects have their content types and metadata.
    let archive_dir = dir.path().join("archive");
    let sink = ObjectArchiveSink::new(
        ArchiveSink::in_dir(
            &archive_dir,
            "file://archive",
            "stores-test",
            Partition::whole(),
        ),
        origin.clone(),
    );
    let copied = CopyOptions::default();
    copy(&ObjectListing::new(origin.clone()), &sink, &copied, &Silent)
        .await
        .unwrap();
    let archive = ArchiveSource::in_dir(&archive_dir, "file://archive");
    let verdict = check(&archive, &ObjectListing::new(origin.clone()).hashing(), 8)
        .await
        .unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
    let unpacked = ObjectLocation::new(s3.clone(), "unpacked/", format!("s3://{bucket}/unpacked/"));
    let restore = ObjectRestoreSink::new(&archive, unpacked.clone());
    copy(&archive, &restore, &copied, &Silent).await.unwrap();
    assert!(
        check_objects(&origin, &unpacked, 8)
            .await
            .unwrap()
            .is_equal()
    );
    assert_metadata_kept(s3.as_ref(), "unpacked/").await;
}

/// Every object under `prefix` has the content type and metadata it was first stored with.
async fn assert_metadata_kept(s3: &dyn ObjectStore, prefix: &str) {
    for i in 0..60 {
        let key = ObjectKey::new(format!("{prefix}{}/img-{i:03} ü.bin", i % 4)).unwrap();
        let meta = s3.head(&key).await.unwrap();
        assert_eq!(meta.content_type.as_deref(), Some("image/x-test"), "{key}");
        let index = i.to_string();
        assert_eq!(meta.metadata.get("index"), Some(&index), "{key}");
    }
}
