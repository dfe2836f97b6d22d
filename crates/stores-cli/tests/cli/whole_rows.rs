//! A row is written whole: a nullable column of the destination table that the source's
//! records lack is set to NULL, so a sync settles and a replace leaves the table as the
//! archive holds it.

use super::*;

#[test]
fn a_column_the_source_lacks_is_cleared_so_sync_settles_and_replace_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (src_db, dst_db) = (dir.path().join("src.db"), dir.path().join("dst.db"));
    sql(
        &src_db,
        "CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER); INSERT INTO t VALUES ('a', 1), ('b', 2)",
    );
    sql(
        &dst_db,
        "CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, extra TEXT)",
    );
    let (src, dst) = (table_url(&src_db, "t"), table_url(&dst_db, "t"));
    expect_code(&stores(&["sync", &src, &dst]), 0);
    sql(&dst_db, "UPDATE t SET extra = 'stale' WHERE id = 'a'");
    let out = stores(&["sync", &src, &dst]);
    expect_code(&out, 0);
    assert!(stderr(&out).contains("1 changed"), "{}", stderr(&out));
    let again = stores(&["sync", &src, &dst]);
    expect_code(&again, 0);
    assert!(stderr(&again).contains("0 changed"), "{}", stderr(&again));
    let row = &rows(&dst_db, "t")[0];
    assert_eq!(row.get("extra"), Some(&store_core::Value::Null), "{row:?}");
    expect_code(&stores(&["check", &src, &dst]), 0);

    // A replace restore clears what the archive's records lack too.
    let archive = file_url(&dir.path().join("archive"));
    expect_code(&stores(&["backup", &src, &archive]), 0);
    sql(&dst_db, "UPDATE t SET extra = 'stale'");
    let replace = ["restore", &archive, &dst, "--mode", "replace", "--yes"];
    expect_code(&stores(&replace), 0);
    assert!(
        rows(&dst_db, "t")
            .iter()
            .all(|row| row.get("extra") == Some(&store_core::Value::Null))
    );
}

#[test]
fn a_number_a_numeric_sqlite_column_would_round_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (src_db, dst_db) = (dir.path().join("src.db"), dir.path().join("dst.db"));
    sql(
        &src_db,
        "CREATE TABLE t (id TEXT PRIMARY KEY, n DECIMAL_TEXT); \
         INSERT INTO t VALUES ('a', '1.5'), ('b', '123456789012345678901234567890.25')",
    );
    sql(
        &dst_db,
        "CREATE TABLE rounds (id TEXT PRIMARY KEY, n NUMERIC); \
         CREATE TABLE keeps (id TEXT PRIMARY KEY, n DECIMAL_TEXT)",
    );
    let src = table_url(&src_db, "t");
    let line = expect_error(&stores(&["copy", &src, &table_url(&dst_db, "rounds")]));
    assert!(
        line.contains("column `n` of table `rounds` (NUMERIC) would round")
            && line.contains("DECIMAL_TEXT"),
        "{line}"
    );
    assert!(
        rows(&dst_db, "rounds").is_empty(),
        "the refused batch was written"
    );
    let keeps = table_url(&dst_db, "keeps");
    expect_code(&stores(&["copy", &src, &keeps]), 0);
    expect_code(&stores(&["check", &src, &keeps]), 0);
}
