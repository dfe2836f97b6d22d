//! One writer at a time, within a store and across stores on one file (as across
//! processes): busy means a retryable `Conflict`; readers go on reading; streams, leases and
//! transactions give their connection back however they end.

#[path = "support/temp.rs"]
mod temp;

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use store_core::sql::IsolationLevel;
use store_core::{ErrorKind, RetryPolicy, SqlStore, SqlStoreExt, Value};
use store_rusqlite::SqliteStore;
use temp::TempDir;

const SHORT: Duration = Duration::from_millis(200);

async fn open(dir: &TempDir, busy: Duration) -> SqliteStore {
    let store = SqliteStore::builder(dir.file("db.sqlite"))
        .busy_timeout(busy)
        .build()
        .await
        .unwrap();
    store
        .batch_execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
        .await
        .unwrap();
    store
}

async fn count(store: &SqliteStore) -> i64 {
    let row = store
        .query_one("SELECT count(*) AS n FROM t", &[])
        .await
        .unwrap();
    row.get("n").and_then(Value::as_i64).unwrap()
}

#[tokio::test]
async fn a_second_writer_on_the_file_gets_a_retryable_conflict() {
    let dir = TempDir::new("busy");
    let first = open(&dir, SHORT).await;
    let second = open(&dir, SHORT).await;
    let mut tx = first.begin(IsolationLevel::Serializable).await.unwrap();
    tx.execute("INSERT INTO t VALUES (1, 'first')", &[])
        .await
        .unwrap();
    let started = Instant::now();
    let err = second
        .execute("INSERT INTO t VALUES (2, 'second')", &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.is_retryable());
    assert!(
        started.elapsed() >= SHORT,
        "it waited the busy timeout first"
    );
    assert_eq!(
        count(&second).await,
        0,
        "the other store still reads, the old state"
    );
    tx.commit().await.unwrap();
    second
        .execute("INSERT INTO t VALUES (2, 'second')", &[])
        .await
        .unwrap();
    assert_eq!(count(&first).await, 2);
}

#[tokio::test]
async fn the_transaction_helper_retries_until_the_writer_is_free() {
    let dir = TempDir::new("busy");
    let first = open(&dir, SHORT).await;
    let second = open(&dir, Duration::from_millis(50)).await;
    let mut tx = first.begin(IsolationLevel::ReadCommitted).await.unwrap();
    tx.execute("INSERT INTO t VALUES (1, 'first')", &[])
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        tx.commit().await.unwrap();
    });
    let policy = RetryPolicy::default()
        .max_attempts(50)
        .base_delay(Duration::from_millis(20));
    let attempts = std::sync::atomic::AtomicU32::new(0);
    second
        .transaction(IsolationLevel::Serializable, &policy, |tx| {
            attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { tx.execute("INSERT INTO t VALUES (2, 'second')", &[]).await }
        })
        .await
        .unwrap();
    release.await.unwrap();
    assert!(attempts.into_inner() >= 1);
    assert_eq!(count(&second).await, 2);
}

#[tokio::test]
async fn within_a_store_a_held_writer_is_a_conflict_after_the_timeout() {
    let dir = TempDir::new("busy");
    let store = open(&dir, SHORT).await;
    let tx = store.begin(IsolationLevel::Serializable).await.unwrap();
    let err = store
        .begin(IsolationLevel::Serializable)
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let err = store.execute("DELETE FROM t", &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert_eq!(count(&store).await, 0, "reads go on meanwhile");
    drop(tx);
    store
        .execute("INSERT INTO t VALUES (1, 'x')", &[])
        .await
        .unwrap();
}

#[tokio::test]
async fn statements_that_open_or_end_transactions_are_contained() {
    let dir = TempDir::new("txn");
    let store = open(&dir, SHORT).await;
    let err = store.execute("BEGIN", &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = store
        .batch_execute("BEGIN; INSERT INTO t VALUES (9, 'x')")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(
        count(&store).await,
        0,
        "the open transaction was rolled back"
    );
    store
        .batch_execute("BEGIN; INSERT INTO t VALUES (1, 'a'); COMMIT")
        .await
        .unwrap();
    assert_eq!(
        count(&store).await,
        1,
        "a script may manage its own transaction"
    );

    let mut tx = store.begin(IsolationLevel::default()).await.unwrap();
    tx.execute("INSERT INTO t VALUES (2, 'b')", &[])
        .await
        .unwrap();
    tx.execute("COMMIT", &[]).await.unwrap();
    let err = tx
        .execute("INSERT INTO t VALUES (3, 'c')", &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        tx.commit().await.is_err(),
        "the handle says the transaction ended"
    );
    assert_eq!(count(&store).await, 2);

    // A `BEGIN` through a reader does not pin it to an old snapshot.
    for _ in 0..8 {
        store.query_all("BEGIN", &[]).await.unwrap();
    }
    store
        .execute("INSERT INTO t VALUES (4, 'd')", &[])
        .await
        .unwrap();
    for _ in 0..8 {
        assert_eq!(
            count(&store).await,
            3,
            "every reader sees the latest commit"
        );
    }
}

#[tokio::test]
async fn a_failed_statement_leaves_the_transaction_open() {
    let dir = TempDir::new("txn");
    let store = open(&dir, SHORT).await;
    let mut tx = store.begin(IsolationLevel::default()).await.unwrap();
    tx.execute("INSERT INTO t VALUES (1, 'a')", &[])
        .await
        .unwrap();
    let err = tx
        .execute("INSERT INTO t VALUES (1, 'again')", &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    tx.execute("INSERT INTO t VALUES (2, 'b')", &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count(&store).await, 2);
}

#[tokio::test]
async fn writing_queries_run_on_the_writer_and_stream_their_rows() {
    let dir = TempDir::new("stream");
    let store = open(&dir, SHORT).await;
    let rows: Vec<_> = store
        .query(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 300) \
             INSERT INTO t SELECT n, 'v' || n FROM g RETURNING id",
            &[],
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), 300);
    assert_eq!(count(&store).await, 300);
    // A stream dropped half-read gives the writer back.
    let params = [Value::from(100)];
    let mut stream = store.query("DELETE FROM t WHERE id > $1 RETURNING id", &params);
    assert!(stream.next().await.unwrap().is_ok());
    drop(stream);
    store
        .execute("INSERT INTO t VALUES (1000, 'x')", &[])
        .await
        .unwrap();
}

#[tokio::test]
async fn streams_hold_readers_and_give_them_back() {
    let dir = TempDir::new("stream");
    let store = SqliteStore::builder(dir.file("db.sqlite"))
        .busy_timeout(SHORT)
        .readers(1)
        .build()
        .await
        .unwrap();
    store
        .batch_execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY); \
             WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 5000) \
             INSERT INTO t SELECT n FROM g",
        )
        .await
        .unwrap();
    let mut held = store.query("SELECT id FROM t ORDER BY id", &[]);
    assert!(held.next().await.unwrap().is_ok());
    let err = store.query_all("SELECT 1 AS one", &[]).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Unavailable,
        "the only reader is busy: {err}"
    );
    assert!(err.is_retryable());
    store
        .execute("DELETE FROM t WHERE id > 10", &[])
        .await
        .unwrap();
    let rest: Vec<_> = held.try_collect().await.unwrap();
    assert_eq!(rest.len(), 4999, "the stream reads its snapshot to the end");
    assert_eq!(
        store
            .query_all("SELECT id FROM t", &[])
            .await
            .unwrap()
            .len(),
        10
    );
}

#[tokio::test]
async fn many_callers_at_once_neither_deadlock_nor_lose_writes() {
    let dir = TempDir::new("many");
    let store = open(&dir, Duration::from_secs(10)).await;
    let mut tasks = Vec::new();
    for task in 0..16i64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25i64 {
                let id = task * 1000 + i;
                if i % 5 == 0 {
                    let mut tx = store.begin(IsolationLevel::default()).await.unwrap();
                    tx.execute("INSERT INTO t VALUES ($1, 'tx')", &[id.into()])
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                } else {
                    store
                        .execute("INSERT INTO t VALUES ($1, $2)", &[id.into(), "one".into()])
                        .await
                        .unwrap();
                }
                let _ = store
                    .query_all("SELECT count(*) FROM t", &[])
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("no caller hangs")
            .unwrap();
    }
    assert_eq!(count(&store).await, 16 * 25);
}
