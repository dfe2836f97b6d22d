//! Reading a SQL table by key pages never skips rows unseen. SQLite keys of any storage class
//! (REAL or non-UTF-8 TEXT in a column with no declared type) find their own row again, bound
//! in the class they were read from; a key that still does not (a resume position without its
//! class) stops the read with an error naming the row, where it used to end the read early
//! in silence.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use store_core::{SqlStore, SqlStoreExt};
use store_rusqlite::SqliteStore;
use store_sync::{Partition, RecordSource, Silent, SqlTable, SyncOptions, check, sync};

/// A table of `db` made by `ddl`, read by the copy's reader.
async fn table(dir: &tempfile::TempDir, ddl: &str) -> SqlTable {
    SqlTable::new(store(dir, ddl).await, "t", "sqlite://keys.db?table=t")
}

/// The database of `dir`, where `ddl` has run.
async fn store(dir: &tempfile::TempDir, ddl: &str) -> Arc<SqliteStore> {
    let store = Arc::new(SqliteStore::open(dir.path().join("keys.db")).await.unwrap());
    store.batch_execute(ddl).await.unwrap();
    store
}

/// Every record the table gives in batches of 5, or the error that stopped the read.
async fn read_all(table: &SqlTable) -> store_core::Result<usize> {
    let batches: Vec<_> = table
        .read(Partition::whole(), None, 5)
        .try_collect()
        .await?;
    Ok(batches.iter().map(|b| b.records.len()).sum())
}

/// A table `t` keyed by `ts` declared `key_type` (empty: no declared type), holding twelve
/// REAL keys, so pages of 5 end on REAL keys.
fn real_keys(key_type: &str) -> String {
    let rows: Vec<String> = (0..12)
        .map(|i| format!("({}.25, 'e{i}')", 1_700_000_000 + i))
        .collect();
    format!(
        "CREATE TABLE t (ts {key_type} PRIMARY KEY, what TEXT); INSERT INTO t VALUES {}",
        rows.join(", ")
    )
}

#[tokio::test]
async fn real_keys_in_an_untyped_column_are_all_read() {
    let dir = tempfile::tempdir().unwrap();
    let ddl = real_keys("");
    let table = table(&dir, &ddl).await;
    assert_eq!(read_all(&table).await.unwrap(), 12);
    let other = table.clone();
    let report = check(&table, &other, 5).await.unwrap();
    assert!(report.is_equal(), "{report:?}");
}

#[tokio::test]
async fn a_non_utf8_text_key_ending_a_page_is_read_past() {
    let dir = tempfile::tempdir().unwrap();
    let table = table(
        &dir,
        "CREATE TABLE t (id PRIMARY KEY, v TEXT); \
         INSERT INTO t VALUES ('k0', 'a'), ('k1', 'a'), ('k2', 'a'), ('k3', 'a'), \
         (CAST(X'6b3380' AS TEXT), 'bad'), ('k4', 'a'), ('k5', 'a'), ('k6', 'a')",
    )
    .await;
    assert_eq!(read_all(&table).await.unwrap(), 8);
}

#[tokio::test]
async fn keys_of_every_storage_class_in_one_column_are_all_read_once() {
    let dir = tempfile::tempdir().unwrap();
    // Integers, fractions, text (some not UTF-8) and blobs in one untyped key column, in an
    // order that puts each class at a page's end somewhere in pages of 2 to 5.
    let values = [
        "1",
        "1.5",
        "2",
        "2.25",
        "'1'",
        "'a'",
        "CAST(X'ff' AS TEXT)",
        "X'00'",
        "X'01ff'",
        "-7.125",
        "1e300",
        "'b'",
        "X''",
        "3",
        "CAST(X'6b3380' AS TEXT)",
        "''",
        "-1",
    ];
    let rows: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("({v}, {i})"))
        .collect();
    let ddl = format!(
        "CREATE TABLE t (k PRIMARY KEY, i INTEGER); INSERT INTO t VALUES {}",
        rows.join(", ")
    );
    let table = table(&dir, &ddl).await;
    for size in 1..=5 {
        let batches: Vec<_> = table
            .read(Partition::whole(), None, size)
            .try_collect()
            .await
            .unwrap();
        let mut seen: Vec<i64> = batches
            .iter()
            .flat_map(|b| &b.records)
            .map(|r| {
                r.doc
                    .get("i")
                    .and_then(|v| v.as_number())
                    .and_then(|n| n.to_i64())
                    .unwrap()
            })
            .collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..values.len() as i64).collect::<Vec<_>>(),
            "pages of {size}"
        );
    }
}

#[tokio::test]
async fn keys_of_a_declared_type_read_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let ddl = real_keys("REAL");
    assert_eq!(read_all(&table(&dir, &ddl).await).await.unwrap(), 12);
    let dir = tempfile::tempdir().unwrap();
    let texts = "CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT); INSERT INTO t VALUES \
                 ('01', 'a'), ('1', 'b'), ('05', 'c'), ('07', 'd'), ('2', 'e'), ('é', 'f'), \
                 ('', 'g')";
    assert_eq!(read_all(&table(&dir, texts).await).await.unwrap(), 7);
}

#[tokio::test]
async fn a_resumed_read_starts_at_its_real_key() {
    let dir = tempfile::tempdir().unwrap();
    let ddl = real_keys("");
    let table = table(&dir, &ddl).await;
    let first = table
        .read(Partition::whole(), None, 5)
        .next()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.records.len(), 5);
    let resumed: Vec<_> = table
        .read(Partition::whole(), first.resume.clone(), 5)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(resumed.iter().map(|b| b.records.len()).sum::<usize>(), 7);
    // A position without the key's storage class (as issued before they were kept) cannot
    // find a REAL key's row: the read stops rather than skip rows.
    let token: serde_json::Value = serde_json::from_str(&first.resume.unwrap()).unwrap();
    let classless = token["key"].to_string();
    let resumed: store_core::Result<Vec<_>> = table
        .read(Partition::whole(), Some(classless), 5)
        .try_collect()
        .await;
    let err = resumed.unwrap_err();
    assert!(
        err.message().contains("does not compare as it reads"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn a_row_deleted_between_pages_of_a_live_sqlite_table_does_not_stop_the_read() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<String> = (0..12).map(|i| format!("({i}, 'r{i}')")).collect();
    let ddl = format!(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES {}",
        rows.join(", ")
    );
    let db = store(&dir, &ddl).await;
    let table = SqlTable::new(db.clone(), "t", "sqlite://keys.db?table=t");
    let mut batches = table.read(Partition::whole(), None, 5);
    let first = batches.try_next().await.unwrap().unwrap();
    assert_eq!(first.records.len(), 5);
    // Another writer deletes the row the first page ended at.
    db.batch_execute("DELETE FROM t WHERE id = 4")
        .await
        .unwrap();
    let mut read = first.records.len();
    while let Some(batch) = batches.try_next().await.unwrap() {
        assert!(batch.records.len() <= 5);
        read += batch.records.len();
    }
    assert_eq!(
        read, 12,
        "every row but none twice: the deleted one was read before"
    );
}

/// A table `t` of `dir`, untyped key `k`, holding the rows `values` (SQL literals) with `v` =
/// their position.
async fn untyped(dir: &tempfile::TempDir, name: &str, values: &[&str]) -> SqlTable {
    let rows: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("({v}, {i})"))
        .collect();
    let store = Arc::new(SqliteStore::open(dir.path().join(name)).await.unwrap());
    store
        .batch_execute("CREATE TABLE t (k PRIMARY KEY, v INTEGER)")
        .await
        .unwrap();
    if !rows.is_empty() {
        let insert = format!("INSERT INTO t VALUES {}", rows.join(", "));
        store.batch_execute(&insert).await.unwrap();
    }
    SqlTable::new(store, "t", format!("sqlite://{name}?table=t"))
}

fn delete_extras() -> SyncOptions {
    SyncOptions {
        batch_size: 2,
        delete: true,
        ..SyncOptions::default()
    }
}

#[tokio::test]
async fn the_number_1_and_the_text_1_are_two_records_to_check_and_sync() {
    // One key id ("1"), two keys: SQLite keeps INTEGER 1 and TEXT '1' apart.
    let dir = tempfile::tempdir().unwrap();
    let source = untyped(&dir, "a.db", &["1", "'1'", "2", "X'31'"]).await;
    let same = untyped(&dir, "b.db", &["1", "'1'", "2", "X'31'"]).await;
    let report = check(&source, &same, 2).await.unwrap();
    assert!(report.is_equal(), "{report:?}");

    let lacking = untyped(&dir, "c.db", &["1", "2", "X'31'", "'x'"]).await;
    let report = check(&source, &lacking, 2).await.unwrap();
    assert_eq!(
        (report.only_left.count, report.only_right.count),
        (1, 1),
        "{report:?}"
    );
    // The text '1' is missing, not the number 1: shown as SQL quotes text.
    assert_eq!(report.only_left.sample, ["'1'"]);

    let sink = lacking;
    let first = sync(&source, &sink, &sink, &delete_extras(), &Silent)
        .await
        .unwrap();
    assert_eq!((first.created, first.deleted), (1, 1), "{first:?}");
    assert!(check(&source, &sink, 2).await.unwrap().is_equal());
    let again = sync(&source, &sink, &sink, &delete_extras(), &Silent)
        .await
        .unwrap();
    assert_eq!((again.unchanged, again.created, again.deleted), (4, 0, 0));
}

#[tokio::test]
async fn numbers_synced_into_a_text_key_column_are_kept_by_a_later_sync_with_delete() {
    // The table stores the number 7 as the text '7': a loose match, not an extra to delete.
    let dir = tempfile::tempdir().unwrap();
    let source = untyped(&dir, "a.db", &["7", "8", "9"]).await;
    let store = Arc::new(SqliteStore::open(dir.path().join("text.db")).await.unwrap());
    store
        .batch_execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
        .await
        .unwrap();
    let sink = SqlTable::new(store.clone(), "t", "sqlite://text.db?table=t");
    for _ in 0..2 {
        let report = sync(&source, &sink, &sink, &delete_extras(), &Silent)
            .await
            .unwrap();
        assert_eq!(report.deleted, 0, "{report:?}");
        let rows = store
            .query_all("SELECT k, typeof(k) AS class FROM t ORDER BY k", &[])
            .await
            .unwrap();
        assert_eq!(rows.len(), 3, "{rows:?}");
    }
}

#[tokio::test]
async fn sync_delete_removes_the_real_key_and_keeps_the_text_of_its_digits() {
    // REAL 1.5 and TEXT '1.5' are two keys of an untyped column; the source loses the REAL.
    let dir = tempfile::tempdir().unwrap();
    let source = untyped(&dir, "a.db", &["1.5", "'1.5'", "2.25", "3"]).await;
    let sink = untyped(&dir, "b.db", &[]).await;
    let first = sync(&source, &sink, &sink, &delete_extras(), &Silent)
        .await
        .unwrap();
    assert_eq!(first.created, 4, "{first:?}");
    let source_store = SqliteStore::open(dir.path().join("a.db")).await.unwrap();
    source_store
        .batch_execute("DELETE FROM t WHERE k = 1.5")
        .await
        .unwrap();
    let second = sync(&source, &sink, &sink, &delete_extras(), &Silent)
        .await
        .unwrap();
    assert_eq!((second.deleted, second.unchanged), (1, 3), "{second:?}");
    let sink_store = SqliteStore::open(dir.path().join("b.db")).await.unwrap();
    let held = sink_store
        .query_all("SELECT typeof(k) AS class, k FROM t ORDER BY k", &[])
        .await
        .unwrap();
    let classes: Vec<&str> = held
        .iter()
        .filter_map(|row| row.get("class").and_then(|c| c.as_str()))
        .collect();
    assert_eq!(classes, ["real", "integer", "text"], "{held:?}");
    assert!(check(&source, &sink, 2).await.unwrap().is_equal());
    let third = sync(&source, &sink, &sink, &delete_extras(), &Silent)
        .await
        .unwrap();
    assert_eq!((third.created, third.deleted, third.unchanged), (0, 0, 3));
}

#[tokio::test]
async fn sync_delete_removes_keys_stored_in_any_class_a_read_maps_them_from() {
    // A whole REAL beyond 2^53 reads as a number whose INTEGER is another value, and TEXT
    // that is not UTF-8 reads as bytes: each must still be found to be deleted.
    let dir = tempfile::tempdir().unwrap();
    let source = untyped(&dir, "a.db", &["'keep'"]).await;
    let extras = [
        "'keep'",
        "4611686018427387904.0",
        "1700000000123456789.0",
        "CAST(X'78ff' AS TEXT)",
    ];
    let sink = untyped(&dir, "b.db", &extras).await;
    let report = sync(&source, &sink, &sink, &delete_extras(), &Silent)
        .await
        .unwrap();
    assert_eq!((report.deleted, report.unchanged), (3, 1), "{report:?}");
    let sink_store = SqliteStore::open(dir.path().join("b.db")).await.unwrap();
    let left = sink_store.query_all("SELECT k FROM t", &[]).await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(check(&source, &sink, 2).await.unwrap().is_equal());
}

#[tokio::test]
async fn a_schema_qualified_sqlite_table_is_read_as_its_unqualified_name() {
    let dir = tempfile::tempdir().unwrap();
    let ddl = real_keys("");
    let plain = table(&dir, &ddl).await;
    let store = Arc::new(SqliteStore::open(dir.path().join("keys.db")).await.unwrap());
    let qualified = SqlTable::new(store, "main.t", "sqlite://keys.db?table=main.t");
    assert_eq!(read_all(&qualified).await.unwrap(), 12);
    assert!(check(&plain, &qualified, 5).await.unwrap().is_equal());
}
