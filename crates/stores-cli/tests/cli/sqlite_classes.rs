//! SQLite tables as they are: an untyped table, its keys and values of every storage class,
//! copied and backed up then restored by `stores` in pages that end on each kind: every row
//! arrives, each value in the class it had (a REAL stays REAL, not the TEXT of its digits),
//! and `check` agrees; a STRICT table without rowid is created as one.

use std::path::Path;

use store_core::{Document, SqlStoreExt};
use store_rusqlite::SqliteStore;

use super::common::*;

/// Each row's key and the storage classes of its key and value.
fn classes(db: &Path) -> Vec<Document> {
    block_on(async {
        let store = SqliteStore::open(db).await.unwrap();
        store
            .query_all(
                "SELECT k AS key, typeof(k) AS key_class, typeof(v) AS value_class FROM t \
                 ORDER BY 1",
                &[],
            )
            .await
            .unwrap()
    })
}

#[test]
fn an_untyped_table_keeps_every_row_and_storage_class_through_copy_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("classes.db");
    let values = [
        "1",
        "1.5",
        "-7.125",
        "1e300",
        "0.1",
        "'1'",
        "'a'",
        "X'00ff'",
        "2",
        "'2.5'",
        "X''",
        "1700000000.25",
        "'é'",
    ];
    let rows: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("({v}, {v}, {i})"))
        .collect();
    sql(
        &db,
        &format!(
            "CREATE TABLE t (k PRIMARY KEY, v, i INTEGER); INSERT INTO t VALUES {}",
            rows.join(", ")
        ),
    );
    let source = table_url(&db, "t");
    let copied = dir.path().join("copied.db");
    let restored = dir.path().join("restored.db");
    let archive = file_url(&dir.path().join("archive"));
    for size in ["2", "3"] {
        let copy = stores(&[
            "copy",
            &source,
            &table_url(&copied, "t"),
            "--batch-size",
            size,
        ]);
        expect_code(&copy, 0);
    }
    expect_code(
        &stores(&["backup", &source, &archive, "--batch-size", "3"]),
        0,
    );
    expect_code(
        &stores(&["restore", &archive, &table_url(&restored, "t")]),
        0,
    );
    let expected = classes(&db);
    assert!(
        expected
            .iter()
            .any(|row| row.get("key_class") == Some(&"real".into()))
    );
    for target in [&copied, &restored] {
        assert_eq!(classes(target), expected, "{}", target.display());
        let out = stores(&["check", &source, &table_url(target, "t")]);
        expect_code(&out, 0);
        let report = stdout(&out);
        assert!(
            report.contains(&format!("{} records", values.len())),
            "{report}"
        );
    }
}

#[test]
fn two_rows_read_under_one_key_leave_one_named_by_check() {
    // TEXT that is not UTF-8 reads as the bytes a BLOB of the same bytes holds: one key to
    // every store but the source, so a copy holds one row where the source has two, and
    // check names the key of the one left out.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("twins.db");
    sql(
        &db,
        "CREATE TABLE t (k PRIMARY KEY, v INTEGER); \
         INSERT INTO t VALUES (CAST(X'ff' AS TEXT), 1), (X'ff', 1), ('plain', 2)",
    );
    let copied = dir.path().join("copied.db");
    let copy = stores(&["copy", &table_url(&db, "t"), &table_url(&copied, "t")]);
    expect_code(&copy, 0);
    let out = stores(&["check", &table_url(&db, "t"), &table_url(&copied, "t")]);
    expect_code(&out, 2);
    let report = stdout(&out);
    assert!(
        report.contains("1 only in A, 0 only in B, 0 differing"),
        "{report}"
    );
    assert!(report.contains("only in A: X'FF'"), "{report}");
}

#[test]
fn a_strict_table_without_rowid_is_restored_and_copied_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("strict.db");
    sql(
        &db,
        "CREATE TABLE t (k TEXT PRIMARY KEY, v ANY, n INTEGER) STRICT, WITHOUT ROWID; \
         INSERT INTO t VALUES ('a', 1.5, 1), ('b', 'x', 2), ('c', X'00', 3)",
    );
    let archive_dir = dir.path().join("archive");
    let archive = file_url(&archive_dir);
    expect_code(&stores(&["backup", &table_url(&db, "t"), &archive]), 0);
    let restored = dir.path().join("restored.db");
    expect_code(
        &stores(&["restore", &archive, &table_url(&restored, "t")]),
        0,
    );
    let copied = dir.path().join("copied.db");
    expect_code(
        &stores(&["copy", &table_url(&db, "t"), &table_url(&copied, "t")]),
        0,
    );
    for target in [&restored, &copied] {
        let listed = block_on(async {
            let store = SqliteStore::open(target).await.unwrap();
            store
                .query_all("SELECT strict, wr FROM pragma_table_list('t')", &[])
                .await
                .unwrap()
        });
        let flags = |name: &str| listed[0].get(name).and_then(|v| v.as_number()?.to_i64());
        assert_eq!(
            (flags("strict"), flags("wr")),
            (Some(1), Some(1)),
            "{listed:?}"
        );
        assert_eq!(classes(target), classes(&db));
        expect_code(
            &stores(&["check", &table_url(&db, "t"), &table_url(target, "t")]),
            0,
        );
    }
}

#[test]
fn a_whole_real_beyond_2_pow_53_keeps_its_value_and_stays_apart_from_its_shortest_decimal() {
    // REAL 2^62 and INTEGER 4611686018427388000 (2^62's shortest decimal, 96 more): two keys.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.db");
    sql(
        &db,
        "CREATE TABLE t (k PRIMARY KEY, v); \
         INSERT INTO t VALUES (4611686018427387904.0, 4611686018427387904.0), \
         (4611686018427388000, 'int')",
    );
    let copied = dir.path().join("copied.db");
    expect_code(
        &stores(&["copy", &table_url(&db, "t"), &table_url(&copied, "t")]),
        0,
    );
    let exact = block_on(async {
        let store = SqliteStore::open(&copied).await.unwrap();
        store
            .query_all(
                "SELECT CAST(k AS TEXT) AS k, CAST(v AS TEXT) AS v FROM t ORDER BY k",
                &[],
            )
            .await
            .unwrap()
    });
    let texts: Vec<(String, String)> = exact
        .iter()
        .map(|row| {
            let text = |name: &str| row.get(name).and_then(|v| v.as_str()).unwrap().to_owned();
            (text("k"), text("v"))
        })
        .collect();
    let expected = [
        ("4611686018427387904", "4611686018427387904"),
        ("4611686018427388000", "int"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    assert_eq!(texts, expected);
    expect_code(
        &stores(&["check", &table_url(&db, "t"), &table_url(&copied, "t")]),
        0,
    );
}

#[test]
fn twins_under_one_number_are_checked_and_synced_one_to_one() {
    // A TEXT column declared DECIMAL reads '1', '1.0' and '1.00' as one number: three rows
    // under one key as keys compare, each with its own row on the other side.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("twins.db");
    sql(
        &db,
        "CREATE TABLE t (k DECIMAL_TEXT PRIMARY KEY, v TEXT); \
         INSERT INTO t VALUES ('1', 'one'), ('1.0', 'one point oh'), ('2', 'two')",
    );
    let source = table_url(&db, "t");
    let copied = dir.path().join("copied.db");
    let sink = table_url(&copied, "t");
    expect_code(&stores(&["copy", &source, &sink]), 0);
    expect_code(&stores(&["check", &source, &sink]), 0);

    sql(
        &copied,
        "UPDATE t SET v = 'changed' WHERE k = '1'; INSERT INTO t VALUES ('1.00', 'extra')",
    );
    let out = stores(&["check", &source, &sink]);
    expect_code(&out, 2);
    // Twins pair by equal content only (check keeps digests, not exact keys): the changed
    // twin shows on both sides, the extra one on B's.
    assert!(
        stdout(&out).contains("1 only in A, 2 only in B, 0 differing"),
        "{}",
        stdout(&out)
    );
    for spill in ["200000", "1"] {
        expect_code(&sync_deleting(&source, &sink, spill), 0);
        let out = sync_deleting(&source, &sink, spill);
        expect_code(&out, 0);
        assert!(
            stderr(&out).contains("0 new, 0 changed, 3 already equal, 0 deleted"),
            "a second sync still writes: {}",
            stderr(&out)
        );
        expect_code(
            &stores(&["check", &source, &sink, "--in-memory-keys", spill]),
            0,
        );
        let held: Vec<String> = rows_of(&copied);
        assert_eq!(held, ["1=one", "1.0=one point oh", "2=two"]);
        // Undone again for the spilling round.
        sql(
            &copied,
            "UPDATE t SET v = 'changed' WHERE k = '1.0'; INSERT INTO t VALUES ('1.000', 'x')",
        );
    }
}

/// `k=v` of every row of `t`, by k's text.
fn rows_of(db: &Path) -> Vec<String> {
    block_on(async {
        let store = SqliteStore::open(db).await.unwrap();
        let rows = store
            .query_all("SELECT CAST(k AS TEXT) AS k, v FROM t ORDER BY 1", &[])
            .await
            .unwrap();
        rows.iter()
            .map(|row| {
                let text = |name: &str| row.get(name).and_then(|v| v.as_str()).unwrap_or("?");
                format!("{}={}", text("k"), text("v"))
            })
            .collect()
    })
}

#[test]
fn twins_only_pair_with_their_own_key_so_one_sync_settles() {
    // The sink holds 1.0 and 1.00, the source 1 and 1.0: one sync writes 1, deletes 1.00 and
    // leaves 1.0, and a second has nothing to do.
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src.db"), dir.path().join("dst.db"));
    let table = "CREATE TABLE t (k DECIMAL_TEXT PRIMARY KEY, v TEXT)";
    sql(
        &src,
        &format!("{table}; INSERT INTO t VALUES ('1', 'one'), ('1.0', 'same')"),
    );
    sql(
        &dst,
        &format!("{table}; INSERT INTO t VALUES ('1.0', 'same'), ('1.00', 'extra')"),
    );
    let (source, sink) = (table_url(&src, "t"), table_url(&dst, "t"));
    for spill in ["200000", "1"] {
        expect_code(&sync_deleting(&source, &sink, spill), 0);
        expect_code(&stores(&["check", &source, &sink]), 0);
        assert_eq!(rows_of(&dst), ["1=one", "1.0=same"]);
        let again = sync_deleting(&source, &sink, spill);
        assert!(
            stderr(&again).contains("0 new, 0 changed, 2 already equal, 0 deleted"),
            "{}",
            stderr(&again)
        );
        sql(
            &dst,
            "DELETE FROM t WHERE k = '1'; INSERT INTO t VALUES ('1.00', 'extra')",
        );
    }
}

/// `stores sync SOURCE SINK --delete` holding `spill` keys in memory.
fn sync_deleting(source: &str, sink: &str, spill: &str) -> std::process::Output {
    stores(&["sync", source, sink, "--delete", "--in-memory-keys", spill])
}
