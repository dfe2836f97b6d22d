//! The `stores` binary with objects, as a user runs it on store-fs folders: list, copy, sync
//! and check; backup, restore and check against the archive; the JSON progress of a copy.

mod common;

use common::*;
use store_core::{ObjectKey, ObjectStoreExt};
use store_fs::FsStore;

#[test]
fn objects_copy_list_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let src_dir = dir.path().join("src");
    block_on(async {
        let store = FsStore::open(&src_dir).await.unwrap();
        store
            .put_str(&ObjectKey::new("a.txt").unwrap(), "hello")
            .await
            .unwrap();
        store
            .put_str(&ObjectKey::new("sub/b.bin").unwrap(), "0123456789")
            .await
            .unwrap();
    });
    let src = file_url(&src_dir);
    let dst_dir = dir.path().join("dst");
    let dst = file_url(&dst_dir);

    let out = stores(&["ls", &src]);
    expect_code(&out, 0);
    let listing = stdout(&out);
    assert!(
        listing.contains("a.txt") && listing.contains("sub/b.bin"),
        "{listing}"
    );
    assert!(listing.contains("10  sub/b.bin"), "{listing}");
    assert!(
        stderr(&out).contains("2 objects, 15 bytes"),
        "{}",
        stderr(&out)
    );

    // A dry run creates no folder.
    expect_code(&stores(&["copy", "--dry-run", &src, &dst]), 0);
    assert!(!dst_dir.exists());

    let out = stores(&["copy", &src, &dst]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("copied 2 objects (15 bytes)"),
        "{}",
        stderr(&out)
    );
    let out = stores(&["check", &src, &dst]);
    expect_code(&out, 0);
    assert!(stdout(&out).contains("equal"), "{}", stdout(&out));

    // A changed object is a difference; sync repairs it.
    block_on(async {
        let store = FsStore::open(&dst_dir).await.unwrap();
        store
            .put_str(&ObjectKey::new("a.txt").unwrap(), "HELLO")
            .await
            .unwrap();
        store
            .put_str(&ObjectKey::new("extra").unwrap(), "x")
            .await
            .unwrap();
    });
    let out = stores(&["check", &src, &dst]);
    expect_code(&out, 2);
    assert!(
        stdout(&out).contains("differing: a.txt"),
        "{}",
        stdout(&out)
    );
    let out = stores(&["sync", "--delete", &src, &dst]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("synced 1 objects"),
        "{}",
        stderr(&out)
    );
    expect_code(&stores(&["check", &src, &dst]), 0);

    // The same bytes with another content type: different, though the digests agree.
    block_on(async {
        let store = FsStore::open(&src_dir).await.unwrap();
        let options = store_core::object::PutOptions::new().content_type("text/plain");
        let body = bytes::Bytes::from_static(b"hello");
        let key = ObjectKey::new("a.txt").unwrap();
        store_core::ObjectStore::put(&store, &key, body, options)
            .await
            .unwrap();
    });
    let out = stores(&["check", &src, &dst]);
    expect_code(&out, 2);
    assert!(
        stdout(&out).contains("of which in content type or metadata only: a.txt"),
        "{}",
        stdout(&out)
    );
    let out = stores(&["sync", &src, &dst]);
    assert!(
        stderr(&out).contains("synced 1 objects"),
        "{}",
        stderr(&out)
    );
    expect_code(&stores(&["check", &src, &dst]), 0);

    let out = stores(&["ls", "--json", &dst]);
    expect_code(&out, 0);
    let items = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "item")
        .count();
    assert_eq!(items, 2);
}

#[test]
fn objects_back_up_restore_and_check_against_their_archive() {
    let dir = tempfile::tempdir().unwrap();
    let src_dir = dir.path().join("photos");
    block_on(async {
        let store = FsStore::open(&src_dir).await.unwrap();
        for i in 0..25 {
            let key = ObjectKey::new(format!("2024/img-{i:02}.bin")).unwrap();
            let body = vec![i as u8; 1000 + i * 37];
            store_core::ObjectStore::put(&store, &key, body.into(), Default::default())
                .await
                .unwrap();
        }
    });
    let src = file_url(&src_dir);
    let archive_dir = dir.path().join("archive");
    let archive = file_url(&archive_dir);

    let out = stores(&["backup", &src, &archive, "--batch-size", "10"]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("backed up 25 objects"),
        "{}",
        stderr(&out)
    );
    assert!(archive_dir.join("blobs").is_dir());
    expect_code(&stores(&["check", &src, &archive]), 0);
    // An archive lists as what it holds: the objects' sizes and keys as the folder lists
    // them, their bytes, and what it is a backup of.
    let out = stores(&["ls", &archive]);
    expect_code(&out, 0);
    assert_eq!(stdout(&out).lines().count(), 25, "{}", stdout(&out));
    assert!(stdout(&out).contains("2024/img-07.bin"), "{}", stdout(&out));
    let folder = stores(&["ls", &src]);
    assert_eq!(stdout(&out), stdout(&folder));
    let bytes = stderr(&folder)
        .split(" bytes in ")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .unwrap()
        .to_owned();
    assert!(
        stderr(&out).contains(&format!(
            "25 objects, {bytes} bytes in {archive} (an archive of objects from"
        )),
        "{}",
        stderr(&out)
    );
    // Not into an object store's folder, nor inside it: the archive would mix with objects.
    let link = dir.path().join("link-to-objects");
    std::os::unix::fs::symlink(src_dir.join("objects"), &link).unwrap();
    for inside in [
        src_dir.clone(),
        src_dir.join("objects/2024"),
        link.join("new"),
        // Through a folder that does not exist and `..`.
        dir.path().join("nosuch/../photos/objects/arc"),
    ] {
        let url = file_url(&inside);
        for args in [
            vec!["backup", &src, &url],
            vec!["backup", "--dry-run", &src, &url],
        ] {
            let line = expect_error(&stores(&args));
            assert!(line.contains("one inside the other"), "{line}");
        }
    }
    assert!(!src_dir.join("manifest.json").exists());
    assert!(!src_dir.join("objects/2024/manifest.json").exists());
    assert!(!src_dir.join("objects/new").exists());
    // Nor a copy or sync of objects into a folder inside the store: the source stays whole.
    for inner in [
        src_dir.join("objects/inner"),
        dir.path().join("nosuch/../photos/objects/inner"),
    ] {
        for verb in ["copy", "sync"] {
            let line = expect_error(&stores(&[verb, &src, &file_url(&inner)]));
            assert!(line.contains("one inside the other"), "{line}");
        }
    }
    assert!(!src_dir.join("objects/inner").exists());
    assert!(!dir.path().join("nosuch").exists());
    // A checkpoint is kept outside the stores of its job, in a folder that exists.
    let elsewhere = file_url(&dir.path().join("elsewhere"));
    for (checkpoint, why) in [
        (src_dir.join("objects/ck~"), "is inside"),
        (dir.path().join("elsewhere/ck.json"), "is inside"),
        (dir.path().to_path_buf(), "is a folder"),
        (dir.path().join("missing/ck.json"), "does not exist"),
    ] {
        let checkpoint = checkpoint.display().to_string();
        let line = expect_error(&stores(&[
            "copy",
            &src,
            &elsewhere,
            "--checkpoint",
            &checkpoint,
        ]));
        assert!(line.contains(why), "{line}");
    }
    assert!(!dir.path().join("elsewhere").exists());
    // A sync, which takes no checkpoint, says that first.
    let inside = src_dir.join("objects/ck~").display().to_string();
    let line = expect_error(&stores(&[
        "sync",
        &src,
        &elsewhere,
        "--checkpoint",
        &inside,
    ]));
    assert!(line.contains("does not take --checkpoint"), "{line}");
    expect_code(&stores(&["check", &src, &archive]), 0);
    // Beside the store (through `..`) is fine.
    let beside = src_dir.join("../beside");
    expect_code(&stores(&["backup", &src, &file_url(&beside)]), 0);

    let restored = file_url(&dir.path().join("restored"));
    expect_code(&stores(&["restore", &archive, &restored]), 0);
    expect_code(&stores(&["check", &src, &restored]), 0);
    expect_code(&stores(&["check", &archive, &restored]), 0);

    // A changed object no longer matches the archive.
    block_on(async {
        let store = FsStore::open(&src_dir).await.unwrap();
        store
            .put_str(&ObjectKey::new("2024/img-03.bin").unwrap(), "changed")
            .await
            .unwrap();
    });
    let out = stores(&["check", &src, &archive]);
    expect_code(&out, 2);
    assert!(stdout(&out).contains("2024/img-03.bin"), "{}", stdout(&out));

    // A check reads the archive's blobs too: one overwritten, then one deleted, is named.
    let blobs: Vec<_> = std::fs::read_dir(archive_dir.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    let victim = &blobs[blobs.len() / 2];
    let name = victim.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::write(victim, b"not what was backed up").unwrap();
    let line = expect_error(&stores(&["check", &restored, &archive]));
    assert!(line.contains(&name) && line.contains("damaged"), "{line}");
    std::fs::remove_file(victim).unwrap();
    let line = expect_error(&stores(&["check", &restored, &archive]));
    assert!(line.contains(&name) && line.contains("missing"), "{line}");
    // A restore of an archive missing every blob is refused at its first object and leaves
    // no new folder behind.
    for blob in &blobs {
        let _ = std::fs::remove_file(blob);
    }
    let never = dir.path().join("never");
    let line = expect_error(&stores(&["restore", &archive, &file_url(&never)]));
    assert!(line.contains("blobs/"), "{line}");
    assert!(!never.exists(), "a refused restore left its new folder");
}

#[test]
fn an_object_copy_reports_the_source_size_and_the_bytes_done_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let src_dir = dir.path().join("src");
    let total: u64 = block_on(async {
        let store = FsStore::open(&src_dir).await.unwrap();
        let mut total = 0;
        for i in 0..400 {
            let body = vec![b'x'; 100 + i * 7];
            total += body.len() as u64;
            let key = ObjectKey::new(format!("d{}/o-{i:03}", i % 4)).unwrap();
            store_core::ObjectStore::put(&store, &key, body.into(), Default::default())
                .await
                .unwrap();
        }
        total
    });
    let src = file_url(&src_dir);
    let dst = file_url(&dir.path().join("dst"));
    let out = stores(&["copy", "--json", &src, &dst]);
    expect_code(&out, 0);
    conforms_to_event_schema(&stdout(&out));
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The listing that counts the source (a folder lists in milliseconds) ends before the
    // 400 copies, each written and synced to disk.
    let sized: Vec<_> = events.iter().filter(|e| e["event"] == "sized").collect();
    assert_eq!(sized.len(), 1, "{events:?}");
    assert_eq!(
        (&sized[0]["records"], &sized[0]["bytes"]),
        (&400.into(), &total.into())
    );
    let last = events.iter().rfind(|e| e["event"] == "progress").unwrap();
    assert_eq!(
        (&last["records"], &last["bytes"]),
        (&400.into(), &total.into())
    );
    let summary = events.last().unwrap();
    assert_eq!(
        (&summary["objects"], &summary["bytes"]),
        (&400.into(), &total.into())
    );
}

#[test]
fn an_object_copy_dry_run_counts_from_where_its_checkpoint_stands() {
    let dir = tempfile::tempdir().unwrap();
    let src_dir = dir.path().join("src");
    block_on(async {
        let store = FsStore::open(&src_dir).await.unwrap();
        for i in 0..50 {
            let key = ObjectKey::new(format!("o-{i:02}")).unwrap();
            store.put_str(&key, "0123456789").await.unwrap();
        }
    });
    let (src, dst) = (file_url(&src_dir), file_url(&dir.path().join("dst")));
    let checkpoint = dir.path().join("ck.json");
    let ck = checkpoint.display().to_string();
    let copy = [
        "copy",
        &src,
        &dst,
        "--checkpoint",
        &ck,
        "--batch-size",
        "10",
    ];
    let dry = [&copy[..], &["--dry-run", "--json"]].concat();
    let summary = |args: &[&str]| {
        let out = stores(args);
        expect_code(&out, 0);
        let line = stdout(&out).lines().last().unwrap().to_owned();
        serde_json::from_str::<serde_json::Value>(&line).unwrap()
    };
    assert_eq!(summary(&dry)["objects"], 50);
    expect_code(&stores(&copy), 0);
    // Finished: nothing to copy, as the real run says.
    let done = summary(&dry);
    assert_eq!(
        (&done["objects"], &done["already_done"]),
        (&0.into(), &true.into())
    );
    // Finished, but the destination is gone since: refused, dry run or not, and not made.
    let dst_dir = dir.path().join("dst");
    let moved = dir.path().join("dst-moved");
    std::fs::rename(&dst_dir, &moved).unwrap();
    for args in [&copy[..], &dry[..]] {
        let line = expect_error(&stores(args));
        assert!(line.contains("does not exist"), "{line}");
    }
    assert!(!dst_dir.exists());
    std::fs::rename(&moved, &dst_dir).unwrap();
    // Stopped after 30 objects (the state a killed run leaves): 20 to go, 200 bytes.
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    state["done"] = false.into();
    state["records"] = 30.into();
    state["resume"] = "o-29".into();
    std::fs::write(&checkpoint, serde_json::to_vec(&state).unwrap()).unwrap();
    let resumed = summary(&dry);
    assert_eq!(
        (
            &resumed["objects"],
            &resumed["bytes"],
            &resumed["resumed_records"]
        ),
        (&20.into(), &200.into(), &30.into())
    );
    // Another job's checkpoint is refused, as the real run refuses it.
    let other = file_url(&dir.path().join("other"));
    let line = expect_error(&stores(&[
        "copy",
        "--dry-run",
        &src,
        &other,
        "--checkpoint",
        &ck,
    ]));
    assert!(line.contains("belongs to another job"), "{line}");
}
