//! Objects between object stores: copy, sync with deletes, and check by content.

use std::sync::Arc;

use store_core::memory::MemoryObjectStore;
use store_core::object::PutOptions;
use store_core::{ObjectKey, ObjectStore, ObjectStoreExt};
use store_sync::Silent;
use store_sync::objects::{ObjectLocation, ObjectTransferOptions, check_objects, transfer_objects};

async fn filled(store: &dyn ObjectStore, prefix: &str, n: usize) {
    for i in 0..n {
        let body = vec![(i % 251) as u8; i * 97 % 5000];
        let key = ObjectKey::new(format!("{prefix}dir{}/obj-{i:03}-é", i % 3)).unwrap();
        let options = PutOptions::new()
            .content_type("application/octet-stream")
            .metadata("n", i.to_string());
        store.put(&key, body.into(), options).await.unwrap();
    }
}

#[tokio::test]
async fn objects_copy_between_backends_and_check_equal_by_content() {
    let mem = Arc::new(MemoryObjectStore::new());
    filled(mem.as_ref(), "src/", 40).await;
    mem.put_str(
        &ObjectKey::new("elsewhere").unwrap(),
        "not under the prefix",
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(store_fs::FsStore::open(dir.path()).await.unwrap());
    let from = ObjectLocation::new(mem.clone(), "src/", "mem://src/");
    let to = ObjectLocation::new(fs.clone(), "copy/", "file://copy/");
    let report = transfer_objects(&from, &to, &ObjectTransferOptions::default(), &Silent)
        .await
        .unwrap();
    assert_eq!(report.copied, 40);
    let verdict = check_objects(&from, &to, 4).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
    assert_eq!(verdict.left, verdict.right);
    // Metadata and content type travel with the bytes.
    let meta = fs
        .head(&ObjectKey::new("copy/dir1/obj-001-é").unwrap())
        .await
        .unwrap();
    assert_eq!(meta.metadata.get("n").map(String::as_str), Some("1"));
    assert_eq!(
        meta.content_type.as_deref(),
        Some("application/octet-stream")
    );

    // A second sync copies nothing; a changed object is found and copied again.
    let again = transfer_objects(&from, &to, &ObjectTransferOptions::default(), &Silent)
        .await
        .unwrap();
    assert_eq!((again.copied, again.unchanged), (0, 40));
    mem.put_str(&ObjectKey::new("src/dir0/obj-000-é").unwrap(), "changed")
        .await
        .unwrap();
    let verdict = check_objects(&from, &to, 4).await.unwrap();
    assert_eq!(verdict.differing.sample, vec!["dir0/obj-000-é".to_owned()]);
    let third = transfer_objects(&from, &to, &ObjectTransferOptions::default(), &Silent)
        .await
        .unwrap();
    assert_eq!(third.copied, 1);
    assert!(check_objects(&from, &to, 4).await.unwrap().is_equal());
}

#[tokio::test]
async fn a_new_content_type_or_metadata_is_a_difference_that_sync_repairs() {
    let dir = tempfile::tempdir().unwrap();
    let fs: Arc<dyn ObjectStore> = Arc::new(store_fs::FsStore::open(dir.path()).await.unwrap());
    // The same backend compares entity tags (then heads both); another one reads the bytes.
    for (label, other) in [
        (
            "mem://b",
            Arc::new(MemoryObjectStore::new()) as Arc<dyn ObjectStore>,
        ),
        ("file://b", fs),
    ] {
        let mem = Arc::new(MemoryObjectStore::new());
        filled(mem.as_ref(), "", 10).await;
        let from = ObjectLocation::new(mem.clone(), "", "mem://a");
        let to = ObjectLocation::new(other, "", label);
        let options = ObjectTransferOptions::default();
        transfer_objects(&from, &to, &options, &Silent)
            .await
            .unwrap();
        // The same bytes, described anew at the source.
        let retyped = ObjectKey::new("dir1/obj-001-é").unwrap();
        let body = mem.get_bytes(&retyped).await.unwrap();
        let put = PutOptions::new()
            .content_type("text/plain")
            .metadata("n", "1");
        mem.put(&retyped, body, put).await.unwrap();
        let relabeled = ObjectKey::new("dir2/obj-002-é").unwrap();
        let body = mem.get_bytes(&relabeled).await.unwrap();
        let put = PutOptions::new()
            .content_type("application/octet-stream")
            .metadata("n", "two");
        mem.put(&relabeled, body, put).await.unwrap();

        let verdict = check_objects(&from, &to, 4).await.unwrap();
        assert_eq!(verdict.differing.count, 2, "{label}: {verdict:?}");
        assert_eq!(verdict.metadata_only, verdict.differing, "{label}");
        assert_eq!(verdict.left, verdict.right, "the bytes are the same");
        let synced = transfer_objects(&from, &to, &options, &Silent)
            .await
            .unwrap();
        assert_eq!((synced.copied, synced.unchanged), (2, 8), "{label}");
        assert!(check_objects(&from, &to, 4).await.unwrap().is_equal());
        let again = transfer_objects(&from, &to, &options, &Silent)
            .await
            .unwrap();
        assert_eq!((again.copied, again.unchanged), (0, 10), "{label}");
    }
}

#[tokio::test]
async fn object_sync_deletes_only_with_consent_within_the_cap() {
    let a = Arc::new(MemoryObjectStore::new());
    let b = Arc::new(MemoryObjectStore::new());
    filled(a.as_ref(), "", 10).await;
    filled(b.as_ref(), "", 10).await;
    for i in 0..3 {
        b.put_str(&ObjectKey::new(format!("extra/{i}")).unwrap(), "x")
            .await
            .unwrap();
    }
    let from = ObjectLocation::new(a, "", "mem://a");
    let to = ObjectLocation::new(b.clone(), "", "mem://b");
    let kept = transfer_objects(&from, &to, &ObjectTransferOptions::default(), &Silent)
        .await
        .unwrap();
    assert_eq!((kept.unchanged, kept.extra_kept, kept.deleted), (10, 3, 0));
    let capped = ObjectTransferOptions {
        delete: true,
        max_delete: Some(2),
        ..Default::default()
    };
    let err = transfer_objects(&from, &to, &capped, &Silent)
        .await
        .unwrap_err();
    assert!(
        err.message().contains("more than --max-delete 2"),
        "{}",
        err.message()
    );
    // Refused, it wrote nothing: not even an object new at the source.
    let fresh = ObjectKey::new("fresh").unwrap();
    from.store.put_str(&fresh, "new").await.unwrap();
    transfer_objects(&from, &to, &capped, &Silent)
        .await
        .unwrap_err();
    assert!(
        !b.exists(&fresh).await.unwrap(),
        "a refused sync copied an object"
    );
    from.store.delete(&fresh).await.unwrap();
    let dry = ObjectTransferOptions {
        delete: true,
        dry_run: true,
        ..Default::default()
    };
    assert_eq!(
        transfer_objects(&from, &to, &dry, &Silent)
            .await
            .unwrap()
            .deleted,
        3
    );
    assert_eq!(
        check_objects(&from, &to, 2).await.unwrap().only_right.count,
        3
    );
    // One key to delete in memory, the others spilled to a file.
    let consent = ObjectTransferOptions {
        delete: true,
        spill: store_sync::SpillOptions::keys(1),
        ..Default::default()
    };
    assert_eq!(
        transfer_objects(&from, &to, &consent, &Silent)
            .await
            .unwrap()
            .deleted,
        3
    );
    assert!(check_objects(&from, &to, 2).await.unwrap().is_equal());
}

#[tokio::test]
async fn objects_back_up_as_blobs_and_restore_checked_by_content() {
    use store_sync::{
        ArchiveSink, ArchiveSource, CopyOptions, ObjectArchiveSink, ObjectListing,
        ObjectRestoreSink, Partition, check, copy,
    };
    let mem = Arc::new(MemoryObjectStore::new());
    filled(mem.as_ref(), "photos/", 30).await;
    // Two objects with the same body are stored as one blob.
    for key in ["photos/same-a", "photos/same-b"] {
        mem.put_str(&ObjectKey::new(key).unwrap(), "identical body")
            .await
            .unwrap();
    }
    let from = ObjectLocation::new(mem.clone(), "photos/", "mem://photos/");
    let dir = tempfile::tempdir().unwrap();
    let archive_dir = dir.path().join("archive");
    let sink = ObjectArchiveSink::new(
        ArchiveSink::in_dir(
            &archive_dir,
            "file://archive",
            "stores-test",
            Partition::whole(),
        ),
        from.clone(),
    );
    let options = CopyOptions {
        batch_size: 8,
        ..CopyOptions::default()
    };
    let report = copy(&ObjectListing::new(from.clone()), &sink, &options, &Silent)
        .await
        .unwrap();
    assert_eq!(report.records, 32);
    let blobs = std::fs::read_dir(archive_dir.join("blobs"))
        .unwrap()
        .count();
    assert!(blobs < 32, "equal bodies were stored twice ({blobs} blobs)");
    // Every blob is named by its own SHA-256.
    for entry in std::fs::read_dir(archive_dir.join("blobs")).unwrap() {
        let entry = entry.unwrap();
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(std::fs::read(entry.path()).unwrap());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(entry.file_name().to_string_lossy(), hex);
    }

    // The archive agrees with the source, contents included.
    let archive = ArchiveSource::in_dir(&archive_dir, "file://archive");
    let verdict = check(&archive, &ObjectListing::new(from.clone()).hashing(), 16)
        .await
        .unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");

    // Restored into a store-fs folder, the objects are byte for byte the source's.
    let fs = Arc::new(
        store_fs::FsStore::open(dir.path().join("restored"))
            .await
            .unwrap(),
    );
    let to = ObjectLocation::new(fs.clone(), "", "file://restored");
    copy(
        &archive,
        &ObjectRestoreSink::new(&archive, to.clone()),
        &options,
        &Silent,
    )
    .await
    .unwrap();
    assert!(check_objects(&from, &to, 4).await.unwrap().is_equal());
    let meta = fs
        .head(&ObjectKey::new("dir2/obj-002-é").unwrap())
        .await
        .unwrap();
    assert_eq!(meta.metadata.get("n").map(String::as_str), Some("2"));

    // A damaged blob is refused by name, and the object it would make is not left behind.
    let victim = std::fs::read_dir(archive_dir.join("blobs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes.push(b'!');
    std::fs::write(&victim, bytes).unwrap();
    let other = Arc::new(MemoryObjectStore::new());
    let again = ObjectLocation::new(other.clone(), "", "mem://again");
    let err = copy(
        &archive,
        &ObjectRestoreSink::new(&archive, again),
        &options,
        &Silent,
    )
    .await
    .unwrap_err();
    let name = victim.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        err.message().contains(&name) && err.message().contains("damaged"),
        "{}",
        err.message()
    );

    // Restored over the folder that holds the objects, the damaged blob replaces nothing:
    // every object there is still byte for byte the source's.
    let err = copy(
        &archive,
        &ObjectRestoreSink::new(&archive, to.clone()),
        &options,
        &Silent,
    )
    .await
    .unwrap_err();
    assert!(err.message().contains(&name), "{}", err.message());
    assert!(check_objects(&from, &to, 4).await.unwrap().is_equal());
}

#[tokio::test]
async fn an_object_archive_can_live_in_an_object_store() {
    use store_sync::{
        ArchiveSink, ArchiveSource, CopyOptions, ObjectArchiveSink, ObjectListing,
        ObjectRestoreSink, Partition, check, copy,
    };
    let source = Arc::new(MemoryObjectStore::new());
    filled(source.as_ref(), "", 12).await;
    let from = ObjectLocation::new(source, "", "mem://a");
    let bucket = Arc::new(MemoryObjectStore::new());
    let sink = ObjectArchiveSink::new(
        ArchiveSink::new(
            bucket.clone(),
            "backups/a",
            "mem://bucket/backups/a",
            "t",
            Partition::whole(),
        ),
        from.clone(),
    );
    copy(
        &ObjectListing::new(from.clone()),
        &sink,
        &CopyOptions::default(),
        &Silent,
    )
    .await
    .unwrap();
    let archive = ArchiveSource::new(bucket.clone(), "backups/a", "mem://bucket/backups/a");
    assert!(
        check(&archive, &ObjectListing::new(from.clone()).hashing(), 16)
            .await
            .unwrap()
            .is_equal()
    );
    // No temporary blob is left behind.
    let names: Vec<String> = {
        use futures::TryStreamExt;
        bucket
            .list(store_core::object::ListOptions::new().prefix("backups/a/blobs/"))
            .map_ok(|e| {
                e.as_object()
                    .map(|m| m.key.as_str().to_owned())
                    .unwrap_or_default()
            })
            .try_collect()
            .await
            .unwrap()
    };
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    let target = Arc::new(MemoryObjectStore::new());
    let to = ObjectLocation::new(target, "restored/", "mem://b/restored/");
    copy(
        &archive,
        &ObjectRestoreSink::new(&archive, to.clone()),
        &CopyOptions::default(),
        &Silent,
    )
    .await
    .unwrap();
    assert!(check_objects(&from, &to, 4).await.unwrap().is_equal());
}

#[tokio::test]
async fn locations_of_one_store_where_one_holds_the_other_are_refused() {
    let store = Arc::new(MemoryObjectStore::new());
    filled(store.as_ref(), "", 3).await;
    let whole = ObjectLocation::new(store.clone(), "", "mem://b");
    let backup = ObjectLocation::new(store.clone(), "backup/", "mem://b/backup/");
    let elsewhere = ObjectLocation::new(store.clone(), "zz-copy/", "mem://b/zz-copy/");
    for (from, to) in [(&whole, &backup), (&backup, &whole), (&whole, &whole)] {
        let err = transfer_objects(from, to, &ObjectTransferOptions::default(), &Silent)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
        assert!(err.message().contains("overlap"), "{}", err.message());
    }
    let under_backup = check_objects(&backup, &elsewhere, 2).await.unwrap();
    assert_eq!(
        under_backup.left.count(),
        0,
        "something was written under backup/"
    );
    // Sibling prefixes are fine: `zz-copy/` sorts after the source, yet nothing is copied twice.
    let from = ObjectLocation::new(store.clone(), "dir", "mem://b/dir");
    let report = transfer_objects(
        &from,
        &elsewhere,
        &ObjectTransferOptions::default(),
        &Silent,
    )
    .await
    .unwrap();
    assert!(report.copied > 0);
    assert!(
        check_objects(&from, &elsewhere, 2)
            .await
            .unwrap()
            .is_equal()
    );
}

#[tokio::test]
async fn an_object_listing_is_read_a_batch_at_a_time_and_resumes_after_a_key() {
    use futures::TryStreamExt;
    use store_sync::{ObjectListing, Partition, RecordSource};
    let mem = Arc::new(MemoryObjectStore::new());
    let key = |i: usize| ObjectKey::new(format!("logs/k{i:04}")).unwrap();
    for i in 0..2_500 {
        mem.put_str(&key(i), "x").await.unwrap();
    }
    let listing = ObjectListing::new(ObjectLocation::new(mem.clone(), "logs/", "mem://logs/"));
    let names = |batch: &store_sync::Batch| -> Vec<String> {
        batch.records.iter().map(|r| r.key.to_string()).collect()
    };

    // The listing is walked as the batches are taken (the store lists 1,000 keys a page): an
    // object deleted after the first batch, past the first page, is not read.
    let mut batches = listing.read(Partition::whole(), None, 100);
    let first = batches.try_next().await.unwrap().unwrap();
    assert_eq!(first.records.len(), 100);
    assert_eq!(first.resume.as_deref(), Some("k0099"));
    mem.delete(&key(2_499)).await.unwrap();
    let rest: Vec<_> = batches.try_collect().await.unwrap();
    let read: usize = rest.iter().map(|b| b.records.len()).sum();
    assert_eq!(
        read, 2_399,
        "the rest of the listing was read before it was walked"
    );

    // Resumed after a key, the walk starts at the next one.
    let resumed: Vec<_> = listing
        .read(Partition::whole(), Some("k1999".to_owned()), 300)
        .try_collect()
        .await
        .unwrap();
    let sizes: Vec<usize> = resumed.iter().map(|b| b.records.len()).collect();
    assert_eq!(sizes, [300, 199]);
    assert!(
        names(&resumed[0])[0].contains("k2000"),
        "{:?}",
        names(&resumed[0])[0]
    );
    assert_eq!(resumed[1].resume.as_deref(), Some("k2498"));
}
