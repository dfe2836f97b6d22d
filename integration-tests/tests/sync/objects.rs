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

/// A new bucket named after `name`, and a store on it.
async fn new_bucket(name: &str) -> (String, Arc<dyn ObjectStore>) {
    let bucket = unique_name(name);
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
    (bucket, s3)
}

#[tokio::test]
async fn an_s3_prefix_goes_to_a_folder_and_back_unchanged() {
    let (bucket, s3) = new_bucket("sync-objects").await;
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

/// Puts `body` at `key` with the plain S3 client, as the console's "Create folder" puts its
/// empty `folder/` objects.
async fn put_plain(bucket: &str, key: &str, body: &'static [u8]) {
    s3_client()
        .await
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.to_vec().into())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_prefix_s_own_folder_marker_is_not_one_of_its_objects() {
    let (bucket, s3) = new_bucket("sync-markers").await;
    put_plain(&bucket, "photos/", b"").await;
    put_plain(&bucket, "photos/sub/", b"").await;
    put_plain(&bucket, "photos/sub/a.txt", b"hello").await;
    put_plain(&bucket, "photos/b.txt", b"world").await;
    let dir = tempfile::tempdir().unwrap();
    let fs: Arc<dyn ObjectStore> = Arc::new(store_fs::FsStore::open(dir.path()).await.unwrap());
    let origin = ObjectLocation::new(s3.clone(), "photos/", format!("s3://{bucket}/photos"));
    let local = ObjectLocation::new(fs, "", "file://photos");

    // `photos/` has no key under `photos/`: a folder gets the objects under it, the nested
    // marker `sub/` among them, and both sides agree.
    let options = ObjectTransferOptions::default();
    let copied = transfer_objects(&origin, &local, &options, &Silent)
        .await
        .unwrap();
    assert_eq!(copied.copied, 3);
    let verdict = check_objects(&origin, &local, 4).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
    assert_eq!(verdict.left.count(), 3);

    // A sync back with deletes leaves the marker, which is not the folder's to delete.
    let mirror = ObjectTransferOptions {
        delete: true,
        ..ObjectTransferOptions::default()
    };
    let back = transfer_objects(&local, &origin, &mirror, &Silent)
        .await
        .unwrap();
    assert_eq!((back.copied, back.deleted), (0, 0));
    let marker = ObjectKey::new("photos/").unwrap();
    assert_eq!(s3.head(&marker).await.unwrap().size, 0);

    // An object keyed by the prefix that holds bytes is refused by name, not left out.
    put_plain(&bucket, "photos/", b"x").await;
    let err = transfer_objects(&origin, &local, &options, &Silent)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
    assert!(
        err.message().contains("`photos/` is the prefix itself"),
        "{err}"
    );
}
