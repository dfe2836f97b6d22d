//! Rows of a megabyte each move in batches of a few megabytes, whatever `--batch-size` says:
//! the archive's parts (one per batch) show the batches a backup read, and a restore and a
//! check read them back whole.

use super::common::*;

#[test]
fn rows_of_a_megabyte_are_backed_up_in_batches_of_about_eight_megabytes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("large.db");
    sql(
        &db,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) \
         INSERT INTO t SELECT i, randomblob(1000000) FROM n",
    );
    let source = table_url(&db, "t");
    let archive = dir.path().join("archive");
    expect_code(&stores(&["backup", &source, &file_url(&archive)]), 0);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(archive.join("manifest.json")).unwrap()).unwrap();
    let parts: Vec<u64> = manifest["collections"][0]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["records"].as_u64().unwrap())
        .collect();
    // The first page is 16 rows (their size unknown), then 8 MiB / 1 MB = 8 at a time.
    assert_eq!(parts, [16, 8, 8, 8], "records per part");

    let restored = dir.path().join("restored.db");
    expect_code(
        &stores(&["restore", &file_url(&archive), &table_url(&restored, "t")]),
        0,
    );
    expect_code(&stores(&["check", &source, &table_url(&restored, "t")]), 0);
}
