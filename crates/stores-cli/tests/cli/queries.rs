//! A query as a source: its rows come ordered by the `--key` columns (so a resumed read meets
//! them in the same order), and two rows sharing a key are refused by that key instead of one
//! of them vanishing in the destination.

use super::common::*;

fn query_url(db: &std::path::Path, sql: &str) -> String {
    let encoded: String = sql
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("sqlite://{}?query={encoded}", db.display())
}

#[test]
fn rows_sharing_a_key_are_refused_and_unique_ones_copy_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    sql(
        &db,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, g TEXT, v TEXT); \
         INSERT INTO t VALUES (1, 'b', 'x'), (2, 'a', 'y'), (3, 'a', 'z'), (4, 'c', 'w'); \
         CREATE TABLE e (g TEXT PRIMARY KEY, v TEXT)",
    );
    let by_g = query_url(&db, "SELECT g, v FROM t -- every row;");
    let target = table_url(&db, "e");
    let err = expect_error(&stores(&["copy", &by_g, &target, "--key", "g"]));
    assert!(err.contains("two rows with the key a (g)"), "{err}");
    let err = expect_error(&stores(&["sync", &by_g, &target, "--key", "g"]));
    assert!(err.contains("two rows with the key a"), "{err}");

    // Keyed by a column no two rows share, the rows come in key order, whatever the query's.
    let by_id = query_url(&db, "SELECT id, g FROM t ORDER BY g DESC");
    let out = stores(&["ls", &by_id, "--key", "id"]);
    expect_code(&out, 0);
    assert_eq!(
        stdout(&out).lines().collect::<Vec<_>>(),
        ["1", "2", "3", "4"]
    );
    let unique = query_url(&db, "SELECT g, max(v) AS v FROM t GROUP BY g");
    expect_code(&stores(&["copy", &unique, &target, "--key", "g"]), 0);
    expect_code(&stores(&["check", &unique, &target, "--key", "g"]), 0);
}
