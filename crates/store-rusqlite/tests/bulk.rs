//! Bulk loads (all or nothing, bounded, cancellable) and online backups.

#[path = "support/temp.rs"]
mod temp;

use std::time::Duration;

use futures::stream::{self, StreamExt};
use store_core::{ErrorKind, Number, SqlStore, SqlStoreExt, StoreError, Value};
use store_rusqlite::SqliteStore;
use temp::TempDir;

async fn store(dir: &TempDir) -> SqliteStore {
    let store = SqliteStore::open(dir.file("bulk.db")).await.unwrap();
    store
        .batch_execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
             price DECIMAL_TEXT, data BLOB)",
        )
        .await
        .unwrap();
    store
}

fn row(i: i64) -> Vec<Value> {
    let price: Number = format!("{i}.50").parse().unwrap();
    vec![
        i.into(),
        format!("item {i}").into(),
        price.into(),
        Value::Bytes(bytes::Bytes::from(i.to_le_bytes().to_vec())),
    ]
}

async fn count(store: &SqliteStore) -> i64 {
    let row = store
        .query_one("SELECT count(*) AS n FROM items", &[])
        .await
        .unwrap();
    row.get("n").and_then(Value::as_i64).unwrap()
}

#[tokio::test]
async fn rows_from_a_stream_land_in_one_transaction() {
    let dir = TempDir::new("bulk");
    let store = store(&dir).await;
    let rows = stream::iter((1..=20_000).map(|i| Ok(row(i))));
    let n = store
        .insert_rows("items", &["id", "name", "price", "data"], rows)
        .await
        .unwrap();
    assert_eq!(n, 20_000);
    assert_eq!(count(&store).await, 20_000);
    let last = store
        .query_one("SELECT * FROM items WHERE id = $1", &[20_000.into()])
        .await
        .unwrap();
    assert_eq!(
        last.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        row(20_000)
    );
    // No column list: every column, in declared order.
    let n = store
        .insert_rows("items", &[], stream::iter([Ok(row(30_000))]))
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_bad_row_anywhere_writes_nothing() {
    let dir = TempDir::new("bulk");
    let store = store(&dir).await;
    let cols = ["id", "name", "price", "data"];
    let short = (1..=3000).map(|i| Ok(if i == 2500 { vec![i.into()] } else { row(i) }));
    let err = store
        .insert_rows("items", &cols, stream::iter(short))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("row 2500"), "{err}");

    let dup = (1..=3000).map(|i| Ok(row(if i == 2999 { 5 } else { i })));
    let err = store
        .insert_rows("items", &cols, stream::iter(dup))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");

    let failing = (1..=3000).map(|i| {
        if i == 1500 {
            Err(StoreError::unavailable("the source went away"))
        } else {
            Ok(row(i))
        }
    });
    let err = store
        .insert_rows("items", &cols, stream::iter(failing))
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        "the source went away",
        "the stream's own error"
    );

    let err = store
        .insert_rows("no_such_table", &[], stream::iter([Ok(row(1))]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(count(&store).await, 0, "every failed load was rolled back");
}

#[tokio::test]
async fn a_dropped_load_rolls_back_and_frees_the_writer() {
    let dir = TempDir::new("bulk");
    let store = store(&dir).await;
    let slow = stream::iter(1..=100_000).then(|i| async move {
        if i % 2000 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(row(i))
    });
    let load = store.insert_rows("items", &["id", "name", "price", "data"], slow);
    assert!(
        tokio::time::timeout(Duration::from_millis(50), load)
            .await
            .is_err(),
        "the load is cut off"
    );
    store
        .execute("INSERT INTO items (id, name) VALUES (1, 'after')", &[])
        .await
        .unwrap();
    assert_eq!(count(&store).await, 1, "only the later insert is there");
}

#[tokio::test]
async fn backups_are_consistent_copies_taken_while_writing() {
    let dir = TempDir::new("backup");
    let store = store(&dir).await;
    store
        .insert_rows("items", &[], stream::iter((1..=5000).map(|i| Ok(row(i)))))
        .await
        .unwrap();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 10_000..10_200 {
                let mut tx = store.begin(Default::default()).await.unwrap();
                tx.execute("INSERT INTO items (id, name) VALUES ($1, 'a')", &[i.into()])
                    .await
                    .unwrap();
                tx.execute(
                    "INSERT INTO items (id, name) VALUES ($1, 'b')",
                    &[(i + 1000).into()],
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
        })
    };
    let copy = dir.file("copy.db");
    let bytes = store.backup_to(&copy).await.unwrap();
    writer.await.unwrap();
    assert!(bytes > 0);
    let restored = SqliteStore::open(&copy).await.unwrap();
    let n = count(&restored).await;
    assert!(
        n >= 5000 && (n - 5000) % 2 == 0,
        "whole transactions only: {n}"
    );
    let ok = restored
        .query_one("PRAGMA integrity_check", &[])
        .await
        .unwrap();
    assert_eq!(ok.get("integrity_check"), Some(&Value::from("ok")));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left behind");

    let memory = SqliteStore::memory().await.unwrap();
    memory
        .batch_execute("CREATE TABLE m (x); INSERT INTO m VALUES (42)")
        .await
        .unwrap();
    let copy = dir.file("memory.db");
    memory.backup_to(&copy).await.unwrap();
    let restored = SqliteStore::open(&copy).await.unwrap();
    let row = restored.query_one("SELECT x FROM m", &[]).await.unwrap();
    assert_eq!(row.get("x"), Some(&Value::from(42)));
    let err = memory
        .backup_to(dir.file("no/such/dir/x.db"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}
