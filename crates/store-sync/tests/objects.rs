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
    let consent = ObjectTransferOptions {
        delete: true,
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
