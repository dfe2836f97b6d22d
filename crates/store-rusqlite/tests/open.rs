//! Opening: the settings every writer gets, the file's identity (application id, format
//! version), files that are no database, read-only and in-memory stores.

#[path = "support/temp.rs"]
mod temp;

use store_core::{ErrorKind, Health, SqlStore, SqlStoreExt, Value};
use store_rusqlite::{APPLICATION_ID, SqliteStore, rusqlite};
use temp::TempDir;

#[tokio::test]
async fn a_new_file_gets_wal_full_sync_foreign_keys_and_our_id() {
    let dir = TempDir::new("open");
    let store = SqliteStore::open(dir.file("new.db")).await.unwrap();
    let (mode, sync, fk, id) = store
        .with_writer(|conn| {
            let get = |name: &str| -> rusqlite::Result<String> {
                conn.pragma_query_value(None, name, |r| {
                    r.get::<_, rusqlite::types::Value>(0)
                        .map(|v| format!("{v:?}"))
                })
            };
            Ok((
                get("journal_mode")?,
                get("synchronous")?,
                get("foreign_keys")?,
                conn.pragma_query_value(None, "application_id", |r| r.get::<_, i32>(0))?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(mode, "Text(\"wal\")");
    assert_eq!(sync, "Integer(2)", "synchronous=FULL");
    assert_eq!(fk, "Integer(1)");
    assert_eq!(id, APPLICATION_ID);
    let report = store.health().await.unwrap();
    assert_eq!(report.backend, "sqlite");
    assert!(report.detail.unwrap().starts_with("SQLite 3."));
}

fn plain_database(path: &std::path::Path, application_id: i32) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA application_id = {application_id}; CREATE TABLE t (x INTEGER); \
         INSERT INTO t VALUES (1);"
    ))
    .unwrap();
}

#[tokio::test]
async fn another_applications_file_and_a_newer_format_are_refused() {
    let dir = TempDir::new("open");
    let foreign = dir.file("foreign.db");
    plain_database(&foreign, 0x4750_4b47);
    let err = SqliteStore::open(&foreign).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("another application"), "{err}");
    assert!(err.message().contains("0x47504b47"), "{err}");

    let newer = dir.file("newer.db");
    plain_database(&newer, APPLICATION_ID + 1);
    let err = SqliteStore::open(&newer).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("newer"), "{err}");
}

#[tokio::test]
async fn a_plain_sqlite_database_is_adopted() {
    let dir = TempDir::new("open");
    let path = dir.file("plain.db");
    plain_database(&path, 0);
    let store = SqliteStore::open(&path).await.unwrap();
    let row = store.query_one("SELECT x FROM t", &[]).await.unwrap();
    assert_eq!(row.get("x"), Some(&Value::from(1)));
    let id = store
        .with_writer(|c| c.pragma_query_value(None, "application_id", |r| r.get::<_, i32>(0)))
        .await
        .unwrap();
    assert_eq!(id, APPLICATION_ID);
}

#[tokio::test]
async fn a_file_that_is_no_database_is_a_clear_error() {
    let dir = TempDir::new("open");
    let path = dir.file("notes.db");
    std::fs::write(&path, "these are my notes, not a database\n".repeat(50)).unwrap();
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("not a SQLite database"), "{err}");
    assert!(
        err.to_string().contains("notes.db"),
        "names the file: {err}"
    );
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(
        after.starts_with("these are my notes"),
        "the file is left alone"
    );
}

#[tokio::test]
async fn missing_files_and_read_only_stores() {
    let dir = TempDir::new("open");
    let path = dir.file("missing.db");
    let err = SqliteStore::builder(&path)
        .create_if_missing(false)
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(!path.exists());

    let writer = SqliteStore::open(&path).await.unwrap();
    writer
        .batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    let reader = SqliteStore::builder(&path)
        .read_only(true)
        .build()
        .await
        .unwrap();
    assert_eq!(
        reader
            .query_one("SELECT x FROM t", &[])
            .await
            .unwrap()
            .get("x"),
        Some(&Value::from(1))
    );
    let err = reader
        .execute("INSERT INTO t VALUES (2)", &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    writer
        .execute("INSERT INTO t VALUES (3)", &[])
        .await
        .unwrap();
    let seen = reader.query_all("SELECT x FROM t", &[]).await.unwrap();
    assert_eq!(seen.len(), 2, "a read-only store sees the writer's commits");
    assert!(
        reader
            .health()
            .await
            .unwrap()
            .detail
            .unwrap()
            .contains("read-only")
    );
}

#[tokio::test]
async fn memory_stores_share_one_connection() {
    let store = SqliteStore::memory().await.unwrap();
    assert!(store.path().is_none());
    store
        .batch_execute(
            "CREATE TABLE t (n INTEGER PRIMARY KEY); \
             WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 500) \
             INSERT INTO t SELECT n FROM g",
        )
        .await
        .unwrap();
    let clone = store.clone();
    assert_eq!(
        clone.query_all("SELECT n FROM t", &[]).await.unwrap().len(),
        500,
        "clones see the same data"
    );
    let mut tx = store.begin(Default::default()).await.unwrap();
    tx.execute("DELETE FROM t WHERE n > $1", &[10.into()])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.query_all("SELECT n FROM t", &[]).await.unwrap().len(),
        10
    );
    let other = SqliteStore::memory().await.unwrap();
    let err = other.query_all("SELECT n FROM t", &[]).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::NotFound,
        "each memory store is private"
    );
}

#[tokio::test]
async fn a_store_around_your_own_connection() {
    let dir = TempDir::new("open");
    let path = dir.file("client.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (5)")
        .unwrap();
    let store = SqliteStore::from_client(conn).await.unwrap();
    assert_eq!(store.path(), Some(path.as_path()));
    store
        .execute("INSERT INTO t VALUES (6)", &[])
        .await
        .unwrap();
    let rows = store
        .query_all("SELECT x FROM t ORDER BY x", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "readers open the same file");
    let mode = store
        .with_writer(|c| c.pragma_query_value(None, "journal_mode", |r| r.get::<_, String>(0)))
        .await
        .unwrap();
    assert_eq!(mode, "wal");

    let memory = SqliteStore::from_client(rusqlite::Connection::open_in_memory().unwrap())
        .await
        .unwrap();
    assert!(memory.path().is_none());
    memory.batch_execute("CREATE TABLE m (x)").await.unwrap();
    memory
        .execute("INSERT INTO m VALUES (1)", &[])
        .await
        .unwrap();
    assert_eq!(
        memory
            .query_all("SELECT x FROM m", &[])
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Set in the child process of the writer-lock test: the database it holds open.
const HOLD_ENV: &str = "STORE_SQLITE_TEST_HOLD";

/// In the child: opens the database for writing, says so, and waits to be killed.
#[tokio::test]
async fn hold_the_database_open_for_writing() {
    let Ok(path) = std::env::var(HOLD_ENV) else {
        return; // Not the child: this test is the child's entry point only.
    };
    let _store = SqliteStore::open(&path).await.unwrap();
    println!("holding");
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
}

#[tokio::test]
async fn a_second_process_writing_the_file_is_refused_naming_the_holder() {
    use std::io::BufRead;
    let dir = TempDir::new("held");
    let path = dir.file("held.db");
    // Create it first, so the child only opens it.
    drop(SqliteStore::open(&path).await.unwrap());
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "hold_the_database_open_for_writing",
            "--nocapture",
        ])
        .env(HOLD_ENV, &path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(
        lines.any(|l| l.unwrap().contains("holding")),
        "the child opened the database"
    );

    let err = SqliteStore::open(&path).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(
        err.message().contains(&format!("pid {}", child.id())),
        "names the holder: {err}"
    );
    // A reader may open alongside, and sees the data.
    let reader = SqliteStore::builder(&path)
        .read_only(true)
        .build()
        .await
        .unwrap();
    reader.query_one("SELECT 1 AS one", &[]).await.unwrap();

    // Once the holder is gone (even killed), the file opens for writing again.
    child.kill().unwrap();
    child.wait().unwrap();
    let store = SqliteStore::open(&path).await.unwrap();
    // Stores of one process share the lock.
    let again = SqliteStore::open(&path).await.unwrap();
    again
        .execute("CREATE TABLE t (x INTEGER)", &[])
        .await
        .unwrap();
    store
        .execute("INSERT INTO t VALUES ($1)", &[Value::from(1)])
        .await
        .unwrap();
}
