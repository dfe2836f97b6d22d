//! Tables a copy cannot create are refused in one clear line, not with the SQL error of a
//! `CREATE TABLE` that could not work: a source table without a primary key, a query source,
//! which names its key but not its columns' types, and a database in a missing folder.

use super::common::*;

#[test]
fn a_copy_that_would_create_a_table_it_cannot_describe_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    sql(
        &db,
        "CREATE TABLE nopk (k, v); INSERT INTO nopk VALUES (1, 2); \
         CREATE TABLE u (k INTEGER PRIMARY KEY, v); INSERT INTO u VALUES (1, 2)",
    );
    let target = dir.path().join("dst.db");
    let out = stores(&["copy", &table_url(&db, "nopk"), &table_url(&target, "n")]);
    let line = expect_error(&out);
    assert!(line.contains("has no primary key"), "{line}");
    let query = format!(
        "sqlite://{}?query=SELECT%20k%2C%20v%20FROM%20u",
        db.display()
    );
    let out = stores(&["copy", "--key", "k", &query, &table_url(&target, "t")]);
    let line = expect_error(&out);
    assert!(line.contains("does not say what its columns are"), "{line}");
    assert!(line.contains("create it first"), "{line}");
    // Refused after the destination was opened: not even an empty database is left.
    let left = files_starting(dir.path(), "dst.db");
    assert!(left.is_empty(), "{left:?}");
    // Nor an archive folder holding only a schema.
    let archive = dir.path().join("archive");
    let out = stores(&["backup", &table_url(&db, "nopk"), &file_url(&archive)]);
    let line = expect_error(&out);
    assert!(line.contains("has no primary key"), "{line}");
    assert!(
        !archive.exists(),
        "a refused backup left its new archive folder"
    );
    let nowhere = dir.path().join("missing").join("x.db");
    let out = stores(&["copy", &table_url(&db, "u"), &table_url(&nowhere, "t")]);
    let line = expect_error(&out);
    assert!(
        line.contains("missing does not exist; create it first"),
        "{line}"
    );
    assert!(!line.contains("service"), "{line}");
}

#[test]
fn a_restore_refused_after_it_made_its_table_leaves_no_database() {
    let (dir, db) = setup();
    let archive = dir.path().join("archive");
    expect_code(
        &stores(&["backup", &table_url(&db, "items"), &file_url(&archive)]),
        0,
    );
    // The manifest counts one record more than its first part holds: found while reading,
    // after the restore made its table.
    let path = archive.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for records in ["/collections/0/records", "/collections/0/parts/0/records"] {
        let records = manifest.pointer_mut(records).unwrap();
        *records = (records.as_u64().unwrap() + 1).into();
    }
    std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let target = dir.path().join("restored.db");
    let line = expect_error(&stores(&[
        "restore",
        &file_url(&archive),
        &table_url(&target, "items"),
    ]));
    assert!(line.contains("where the manifest says"), "{line}");
    let left = files_starting(dir.path(), "restored.db");
    assert!(left.is_empty(), "{left:?}");
}

/// The names of the files in `dir` that start with `prefix` (a database and those beside it).
fn files_starting(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(prefix))
        .collect()
}

#[test]
fn a_dry_run_refuses_the_records_the_real_run_would_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    // A column of no declared type holds text and integer keys; another table has an id
    // longer than a search index takes (512 bytes); a third has a column the table it is
    // copied into lacks.
    sql(
        &db,
        &format!(
            "CREATE TABLE mixed (id PRIMARY KEY, v); INSERT INTO mixed VALUES ('a', 1), (2, 2); \
             CREATE TABLE long (id TEXT PRIMARY KEY, v); INSERT INTO long VALUES ('{}', 1); \
             CREATE TABLE wide (id INTEGER PRIMARY KEY, v, extra); \
             INSERT INTO wide VALUES (1, 1, 'x')",
            "k".repeat(600)
        ),
    );
    let redb = format!("redb://{}", dir.path().join("items.redb").display());
    std::fs::create_dir(dir.path().join("search")).unwrap();
    let index = format!("tantivy://{}/search/items", dir.path().display());
    let dst = dir.path().join("dst.db");
    sql(&dst, "CREATE TABLE narrow (id INTEGER PRIMARY KEY, v)");
    let narrow = table_url(&dst, "narrow");
    for (table, target, why) in [
        ("mixed", &redb, "is a string, but a number was given"),
        ("long", &index, "512"),
        (
            "wide",
            &narrow,
            "attribute `extra` has no column in table `narrow`",
        ),
    ] {
        let source = table_url(&db, table);
        for dry_run in [true, false] {
            let mut args = vec!["copy", &source, target];
            if dry_run {
                args.insert(1, "--dry-run");
            }
            let line = expect_error(&stores(&args));
            assert!(line.contains("the record keyed"), "{line}");
            assert!(line.contains(why), "{line}");
        }
    }
    assert!(!dir.path().join("items.redb").exists());
    assert!(rows(&dst, "narrow").is_empty());
    let left = std::fs::read_dir(dir.path().join("search/items"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect::<Vec<_>>());
    assert!(!dir.path().join("search/items").exists(), "{left:?}");
}
