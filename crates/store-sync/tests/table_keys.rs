//! Reading a SQL table by key pages never skips rows unseen: a key that does not find its own
//! row again (SQLite: a REAL or non-UTF-8 TEXT key in a column with no declared type) stops
//! the read with an error naming the row, where it used to end the read early in silence.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use store_core::SqlStore;
use store_rusqlite::SqliteStore;
use store_sync::{Partition, RecordSource, SqlTable, check};

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
async fn real_keys_in_an_untyped_column_stop_the_read_instead_of_skipping_rows() {
    let dir = tempfile::tempdir().unwrap();
    let ddl = real_keys("");
    let table = table(&dir, &ddl).await;
    let err = read_all(&table).await.unwrap_err();
    assert!(
        err.message().contains("does not compare as it reads"),
        "{}",
        err.message()
    );
    // `check` reads the same way: it fails rather than call a partial read equal.
    let other = table.clone();
    assert!(check(&table, &other, 10).await.is_err());
}

#[tokio::test]
async fn a_non_utf8_text_key_ending_a_page_stops_the_read() {
    let dir = tempfile::tempdir().unwrap();
    let table = table(
        &dir,
        "CREATE TABLE t (id PRIMARY KEY, v TEXT); \
         INSERT INTO t VALUES ('k0', 'a'), ('k1', 'a'), ('k2', 'a'), ('k3', 'a'), \
         (CAST(X'6b3380' AS TEXT), 'bad'), ('k4', 'a'), ('k5', 'a'), ('k6', 'a')",
    )
    .await;
    let err = read_all(&table).await.unwrap_err();
    assert!(
        err.message().contains("does not compare as it reads"),
        "{}",
        err.message()
    );
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
async fn a_resumed_read_checks_the_key_it_resumes_at() {
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
    let resumed: store_core::Result<Vec<_>> = table
        .read(Partition::whole(), first.resume, 5)
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
