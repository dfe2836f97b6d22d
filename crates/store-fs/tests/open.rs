//! Opening a folder: creation, the format file, foreign folders, read-only mode, one writer
//! per folder within a process, and the sweep of temporary files.

#[path = "common/scratch.rs"]
mod scratch;

use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use scratch::{Cleanup, unique_dir};
use store_core::object::{ListEntry, ListOptions, PresignMethod};
use store_core::{ErrorKind, Health, ObjectKey, ObjectStore, ObjectStoreExt};
use store_fs::{FORMAT_VERSION, FsStore};

#[tokio::test]
async fn a_new_folder_gets_a_format_file_and_reopens() {
    let root = unique_dir("open");
    let _cleanup = Cleanup(root.clone());
    let store = FsStore::open(&root).await.unwrap();
    let format = std::fs::read_to_string(root.join(".store-fs.json")).unwrap();
    assert_eq!(format, format!("{{\"format\":{FORMAT_VERSION}}}"));
    let key = ObjectKey::new("kept").unwrap();
    store.put_str(&key, "across opens").await.unwrap();
    let report = store.health().await.unwrap();
    assert_eq!(report.backend, "fs");
    drop(store);
    let again = FsStore::open(&root).await.unwrap();
    assert_eq!(again.get_string(&key).await.unwrap(), "across opens");
}

#[tokio::test]
async fn missing_folders_follow_the_options() {
    let root = unique_dir("missing");
    let _cleanup = Cleanup(root.clone());
    let err = FsStore::builder(&root)
        .create_if_missing(false)
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = FsStore::builder(&root)
        .read_only(true)
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(!root.exists(), "nothing was created");
}

#[tokio::test]
async fn unknown_formats_and_foreign_folders_are_refused() {
    let root = unique_dir("format");
    let _cleanup = Cleanup(root.clone());
    drop(FsStore::open(&root).await.unwrap());

    std::fs::write(root.join(".store-fs.json"), br#"{"format":2}"#).unwrap();
    let err = FsStore::open(&root).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.message().contains("format 2"), "{err}");
    let err = FsStore::builder(&root)
        .read_only(true)
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");

    std::fs::write(root.join(".store-fs.json"), b"not json").unwrap();
    let err = FsStore::open(&root).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal, "{err}");

    let foreign = unique_dir("foreign");
    let _foreign_cleanup = Cleanup(foreign.clone());
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("photo.jpg"), b"not a store").unwrap();
    let err = FsStore::open(&foreign).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let names: Vec<_> = std::fs::read_dir(&foreign).unwrap().collect();
    assert_eq!(names.len(), 1, "nothing was added to a foreign folder");

    let file = foreign.join("photo.jpg");
    let err = FsStore::open(&file).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[tokio::test]
async fn one_writer_per_folder_within_a_process_too() {
    let root = unique_dir("inprocess");
    let _cleanup = Cleanup(root.clone());
    let first = FsStore::open(&root).await.unwrap();
    let err = FsStore::open(&root).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(
        err.message()
            .contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    // Clones share the lock; it is released when the last one goes.
    let clone = first.clone();
    drop(first);
    assert!(FsStore::open(&root).await.is_err());
    drop(clone);
    FsStore::open(&root)
        .await
        .expect("free after the last clone is dropped");
}

#[tokio::test]
async fn read_only_stores_read_and_refuse_writes() {
    let root = unique_dir("readonly");
    let _cleanup = Cleanup(root.clone());
    let writer = FsStore::open(&root).await.unwrap();
    let key = ObjectKey::new("a/b").unwrap();
    writer.put_str(&key, "x").await.unwrap();
    let reader = FsStore::builder(&root)
        .read_only(true)
        .build()
        .await
        .unwrap();
    assert!(reader.is_read_only());
    assert_eq!(reader.get_string(&key).await.unwrap(), "x");
    for result in [
        reader.put_str(&key, "y").await.map(drop),
        reader.delete(&key).await,
        reader.copy(&key, &ObjectKey::new("c").unwrap()).await,
        reader
            .delete_many(std::slice::from_ref(&key))
            .await
            .map(drop),
        reader.sweep_temp_files().await.map(drop),
    ] {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Unsupported);
    }
    assert_eq!(writer.get_string(&key).await.unwrap(), "x");
}

#[tokio::test]
async fn presign_checks_the_expiry_then_is_unsupported() {
    let root = unique_dir("presign");
    let _cleanup = Cleanup(root.clone());
    let store = FsStore::open(&root).await.unwrap();
    let key = ObjectKey::new("k").unwrap();
    let err = store
        .presign(PresignMethod::Get, &key, Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = store
        .presign(PresignMethod::Put, &key, Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn leftover_temporary_files_are_never_listed_and_are_swept() {
    let root = unique_dir("sweep");
    let _cleanup = Cleanup(root.clone());
    let store = FsStore::builder(&root)
        .sweep_on_open(false)
        .build()
        .await
        .unwrap();
    store
        .put(
            &ObjectKey::new("d/k").unwrap(),
            Bytes::from_static(b"1"),
            Default::default(),
        )
        .await
        .unwrap();
    drop(store);
    // What a writer killed mid-write leaves behind.
    let stale = root.join("objects/d/.tmp-00000000deadbeef-7");
    std::fs::write(&stale, b"half a body").unwrap();
    std::fs::create_dir_all(root.join("objects/empty/deeper")).unwrap();
    std::fs::write(
        root.join("objects/empty/deeper/.tmp-00000000deadbeef-8"),
        b"x",
    )
    .unwrap();

    let store = FsStore::builder(&root)
        .sweep_on_open(false)
        .build()
        .await
        .unwrap();
    let listed: Vec<ListEntry> = store.list(ListOptions::new()).try_collect().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(store.sweep_temp_files().await.unwrap(), 2);
    assert!(!stale.exists());
    assert!(
        !root.join("objects/empty").exists(),
        "emptied folders go too"
    );
    drop(store);

    // The default open sweeps in the background.
    std::fs::write(&stale, b"again").unwrap();
    let _store = FsStore::open(&root).await.unwrap();
    for _ in 0..100 {
        if !stale.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the background sweep did not remove {}", stale.display());
}
