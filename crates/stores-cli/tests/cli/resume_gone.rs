//! A job resumed after what its earlier runs wrote was deleted: the checkpoint says those
//! records are written, so going on from it would copy only the rest and report everything
//! copied. Each run is refused, exit 1, naming `--restart`, and writes nothing.

use std::path::Path;

use super::*;

/// Marks the finished job of `checkpoint` unfinished, as a run killed after its last batch
/// and before it saved "done" leaves it: resumed, it copies nothing more.
fn unfinish(checkpoint: &Path) {
    let text = std::fs::read_to_string(checkpoint).unwrap();
    let mut state: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(state["done"], true, "{text}");
    assert!(state["records"].as_u64().unwrap() > 0, "{text}");
    state["done"] = false.into();
    std::fs::write(checkpoint, serde_json::to_vec(&state).unwrap()).unwrap();
}

/// Deletes the SQLite database at `db` and the files SQLite and `stores` keep beside it.
fn remove_database(db: &Path) {
    for suffix in ["", "-wal", "-shm", ".writer-lock"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

/// Runs `args` with `--checkpoint`, makes its checkpoint unfinished, runs `remove`, then
/// expects the resumed run refused (and its dry run, when `dry_refuses`: a file or folder
/// gone, which the command sees before it opens anything), leaving what `remove` took away still gone
/// (`still_gone`); with `--restart` the job is done again and `check` finds `dst` equal to
/// `src`.
fn refused_after(
    args: &[&str],
    dry_refuses: bool,
    checkpoint: &Path,
    remove: impl FnOnce(),
    still_gone: impl FnOnce() -> bool,
    check: (&str, &str),
) {
    let mut run: Vec<&str> = args.to_vec();
    let checkpoint = checkpoint.to_str().unwrap();
    run.extend(["--checkpoint", checkpoint]);
    expect_code(&stores(&run), 0);
    unfinish(Path::new(checkpoint));
    remove();
    // A dry run refuses as the real run does, when what is gone is a file or folder.
    let mut dry = run.clone();
    dry.push("--dry-run");
    let dry_out = stores(&dry);
    if dry_refuses {
        let err = expect_error(&dry_out);
        assert!(err.contains("--restart"), "{err}");
    }
    let err = expect_error(&stores(&run));
    assert!(err.contains("--restart"), "{err}");
    assert!(
        err.contains("earlier runs") || err.contains("does not exist"),
        "{err}"
    );
    assert!(still_gone(), "the refused run wrote: {err}");
    // And again: a refused run made nothing that a second run would resume into.
    let again = expect_error(&stores(&run));
    assert!(again.contains("--restart"), "{again}");
    run.push("--restart");
    expect_code(&stores(&run), 0);
    expect_code(&stores(&["check", check.0, check.1]), 0);
}

#[test]
fn a_resumed_copy_into_a_deleted_sqlite_file_is_refused() {
    let (dir, db) = setup();
    let src = table_url(&db, "items");
    let dst_db = dir.path().join("dst.db");
    let dst = table_url(&dst_db, "items");
    let checkpoint = dir.path().join("copy.json");
    refused_after(
        &["copy", &src, &dst, "--batch-size", "50"],
        true,
        &checkpoint,
        || remove_database(&dst_db),
        || !dst_db.exists(),
        (&src, &dst),
    );
}

#[test]
fn a_resumed_copy_into_a_dropped_table_is_refused() {
    let (dir, db) = setup();
    let src = table_url(&db, "items");
    let dst_db = dir.path().join("dst.db");
    let dst = table_url(&dst_db, "copied");
    let checkpoint = dir.path().join("copy.json");
    refused_after(
        &["copy", &src, &dst, "--batch-size", "50"],
        false,
        &checkpoint,
        || sql(&dst_db, "DROP TABLE copied"),
        || table_missing(&dst_db, "copied"),
        (&src, &dst),
    );
}

/// Whether the database at `db` has no table `table`.
fn table_missing(db: &Path, table: &str) -> bool {
    block_on(async {
        use store_core::sql::SqlStoreExt as _;
        let store = store_rusqlite::SqliteStore::open(db).await.unwrap();
        store
            .query_all(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = $1",
                &[store_core::Value::from(table)],
            )
            .await
            .unwrap()
            .is_empty()
    })
}

#[test]
fn a_resumed_copy_into_a_deleted_redb_file_or_tantivy_index_is_refused() {
    let (dir, db) = setup();
    let src = table_url(&db, "items");
    let redb = dir.path().join("items.redb");
    let redb_dst = format!("redb://{}", redb.display());
    refused_after(
        &["copy", &src, &redb_dst, "--batch-size", "50"],
        true,
        &dir.path().join("redb.json"),
        || std::fs::remove_file(&redb).unwrap(),
        || !redb.exists(),
        (&src, &redb_dst),
    );
    std::fs::create_dir(dir.path().join("search")).unwrap();
    let index = dir.path().join("search").join("items");
    let tantivy_dst = format!("tantivy://{}/search/items", dir.path().display());
    refused_after(
        &["copy", &src, &tantivy_dst, "--batch-size", "50"],
        true,
        &dir.path().join("tantivy.json"),
        || std::fs::remove_dir_all(&index).unwrap(),
        || !index.exists(),
        (&src, &tantivy_dst),
    );
}

#[test]
fn a_resumed_backup_into_a_deleted_archive_or_without_a_part_is_refused() {
    let (dir, db) = setup();
    let src = table_url(&db, "items");
    let archive = dir.path().join("archive");
    let url = file_url(&archive);
    let args = ["backup", src.as_str(), url.as_str(), "--batch-size", "50"];
    // The whole archive gone.
    refused_after(
        &args,
        true,
        &dir.path().join("backup.json"),
        || std::fs::remove_dir_all(&archive).unwrap(),
        || !archive.exists(),
        (&src, &url),
    );
    // One part gone: the archive folder is there, the part is not.
    let parts = data_parts(&archive);
    refused_after(
        &args,
        false,
        &dir.path().join("backup-part.json"),
        || std::fs::remove_file(&parts[0]).unwrap(),
        || !parts[0].exists(),
        (&src, &url),
    );
}

#[test]
fn a_resumed_restore_into_a_deleted_file_is_refused() {
    let (dir, db) = setup();
    let src = table_url(&db, "items");
    let archive = file_url(&dir.path().join("archive"));
    expect_code(&stores(&["backup", &src, &archive]), 0);
    let dst_db = dir.path().join("restored.db");
    let dst = table_url(&dst_db, "items");
    refused_after(
        &["restore", &archive, &dst, "--batch-size", "50"],
        true,
        &dir.path().join("restore.json"),
        || remove_database(&dst_db),
        || !dst_db.exists(),
        (&src, &dst),
    );
}

#[test]
fn a_resumed_object_copy_into_a_deleted_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("from");
    let src = file_url(&from);
    block_on(async {
        use store_core::ObjectStore as _;
        let store = store_fs::FsStore::open(&from).await.unwrap();
        for i in 0..30 {
            let key = store_core::ObjectKey::new(format!("k/{i:03}.txt")).unwrap();
            let body = bytes::Bytes::from(format!("body {i}"));
            let options = store_core::object::PutOptions::new();
            store.put(&key, body, options).await.unwrap();
        }
    });
    let to = dir.path().join("to");
    let dst = file_url(&to);
    refused_after(
        &["copy", &src, &dst, "--batch-size", "10"],
        true,
        &dir.path().join("objects.json"),
        || std::fs::remove_dir_all(&to).unwrap(),
        || !to.exists(),
        (&src, &dst),
    );
}
