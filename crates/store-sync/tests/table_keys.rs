//! Reading a SQL table by key pages never skips rows unseen: a key that does not find its own
//! row again (SQLite: a REAL or non-UTF-8 TEXT key in a column with no declared type) stops
//! the read with an error naming the row, where it used to end the read early in silence.

use std::sync::Arc;

use futures::TryStreamExt;
use store_core::SqlStore;
use store_rusqlite::SqliteStore;
use store_sync::{Partition, RecordSource, SqlTable, check};

/// A table of `db` made by `ddl`, read by the copy's reader.
async fn table(dir: &tempfile::TempDir, ddl: &str) -> SqlTable {
    let store = Arc::new(SqliteStore::open(dir.path().join("keys.db")).await.unwrap());
    store.batch_execute(ddl).await.unwrap();
    SqlTable::new(store, "t", "sqlite://keys.db?table=t")
}

/// Every record the table gives in batches of 5, or the error that stopped the read.
async fn read_all(table: &SqlTable) -> store_core::Result<usize> {
    let batches: Vec<_> = table
        .read(Partition::whole(), None, 5)
        .try_collect()
        .await?;
    Ok(batches.iter().map(|b| b.records.len()).sum())
}

/// Twelve REAL keys: pages of 5 end on REAL keys.
fn real_rows() -> String {
    (0..12)
        .map(|i| format!("({}.25, 'e{i}')", 1_700_000_000 + i))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test]
async fn real_keys_in_an_untyped_column_stop_the_read_instead_of_skipping_rows() {
    let dir = tempfile::tempdir().unwrap();
    let ddl = format!(
        "CREATE TABLE t (ts PRIMARY KEY, what TEXT); INSERT INTO t VALUES {}",
        real_rows()
    );
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
    assert!(err.message().contains("reading"), "{}", err.message());
}

#[tokio::test]
async fn keys_of_a_declared_type_read_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let ddl = format!(
        "CREATE TABLE t (ts REAL PRIMARY KEY, what TEXT); INSERT INTO t VALUES {}",
        real_rows()
    );
    assert_eq!(read_all(&table(&dir, &ddl).await).await.unwrap(), 12);
    let dir = tempfile::tempdir().unwrap();
    let texts = "CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT); INSERT INTO t VALUES \
                 ('01', 'a'), ('1', 'b'), ('05', 'c'), ('07', 'd'), ('2', 'e'), ('é', 'f'), \
                 ('', 'g')";
    assert_eq!(read_all(&table(&dir, texts).await).await.unwrap(), 7);
}
