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
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("dst.db"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let nowhere = dir.path().join("missing").join("x.db");
    let out = stores(&["copy", &table_url(&db, "u"), &table_url(&nowhere, "t")]);
    let line = expect_error(&out);
    assert!(
        line.contains("missing does not exist; create it first"),
        "{line}"
    );
    assert!(!line.contains("service"), "{line}");
}
