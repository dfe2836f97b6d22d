//! Migrations: applied once in order, checksummed, refused when edited or out of order, and
//! applied exactly once when two stores (as two processes) migrate the same file at once.

#[path = "support/temp.rs"]
mod temp;

use store_core::{ErrorKind, SqlStoreExt, Value};
use store_rusqlite::{Migration, Migrator, SqliteStore};
use temp::TempDir;

fn migrations() -> Vec<Migration> {
    vec![
        Migration::new(
            1,
            "users",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)",
        ),
        Migration::new(
            2,
            "email index and seed",
            "CREATE UNIQUE INDEX users_email ON users (email); \
             INSERT INTO users (email) VALUES ('first@example.com');",
        ),
    ]
}

async fn users(store: &SqliteStore) -> i64 {
    let row = store
        .query_one("SELECT count(*) AS n FROM users", &[])
        .await
        .unwrap();
    row.get("n").and_then(Value::as_i64).unwrap()
}

#[tokio::test]
async fn migrations_apply_once_in_order() {
    let dir = TempDir::new("migrate");
    let store = SqliteStore::open(dir.file("m.db")).await.unwrap();
    let migrator = Migrator::new(migrations()).unwrap();
    let report = migrator.run(&store).await.unwrap();
    assert_eq!(report.applied, [1, 2]);
    let again = migrator.run(&store).await.unwrap();
    assert!(again.applied.is_empty());
    assert_eq!(again.already_applied, [1, 2]);
    assert_eq!(users(&store).await, 1, "the seed ran once");
    let history = store
        .query_all(
            "SELECT version, name, checksum, applied_at FROM store_rusqlite_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[1].get("checksum"),
        Some(&Value::from(migrations()[1].checksum()))
    );
}

#[tokio::test]
async fn edited_missing_failing_and_transaction_controlling_migrations_are_refused() {
    let dir = TempDir::new("migrate");
    let store = SqliteStore::open(dir.file("m.db")).await.unwrap();
    Migrator::new(migrations())
        .unwrap()
        .run(&store)
        .await
        .unwrap();

    let mut edited = migrations();
    edited[0].sql.push_str(" -- tweaked");
    let err = Migrator::new(edited)
        .unwrap()
        .run(&store)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(
        err.message().contains("changed after it was applied"),
        "{err}"
    );

    let mut gap = migrations();
    gap.push(Migration::new(0, "too old", "CREATE TABLE old (x)"));
    let err = Migrator::new(gap).unwrap().run(&store).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");

    let mut failing = migrations();
    failing.push(Migration::new(3, "ok", "CREATE TABLE three (x)"));
    failing.push(Migration::new(
        4,
        "broken",
        "CREATE TABLE four (x); INSERT INTO nowhere VALUES (1)",
    ));
    let err = Migrator::new(failing)
        .unwrap()
        .run(&store)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.message().contains("V4 `broken` failed"), "{err}");
    assert!(
        store.query_all("SELECT * FROM three", &[]).await.is_ok(),
        "V3 stays"
    );
    let four = store
        .query_all("SELECT * FROM four", &[])
        .await
        .unwrap_err();
    assert_eq!(four.kind(), ErrorKind::NotFound, "V4 was rolled back whole");

    let committing = vec![Migration::new(
        10,
        "commits",
        "INSERT INTO three VALUES (1); COMMIT",
    )];
    let err = Migrator::new(committing)
        .unwrap()
        .run(&store)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        store
            .query_all("SELECT * FROM three", &[])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn two_stores_migrating_one_file_apply_each_migration_once() {
    let dir = TempDir::new("migrate");
    let path = dir.file("m.db");
    let mut all = migrations();
    for v in 3..=20 {
        all.push(Migration::new(
            v,
            format!("step {v}"),
            format!("INSERT INTO users (email) VALUES ('user{v}@example.com')"),
        ));
    }
    let migrator = Migrator::new(all).unwrap();
    let a = SqliteStore::open(&path).await.unwrap();
    let b = SqliteStore::open(&path).await.unwrap();
    let (ra, rb) = tokio::join!(migrator.run(&a), migrator.run(&b));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let mut applied: Vec<i64> = ra.applied.iter().chain(&rb.applied).copied().collect();
    applied.sort_unstable();
    assert_eq!(
        applied,
        (1..=20).collect::<Vec<_>>(),
        "each applied exactly once"
    );
    assert_eq!(users(&a).await, 19);
}

#[tokio::test]
async fn migrations_load_from_a_folder() {
    let dir = TempDir::new("migrate");
    let folder = dir.file("sql");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(
        folder.join("V1__create_users.sql"),
        "CREATE TABLE users (id INTEGER)",
    )
    .unwrap();
    std::fs::write(
        folder.join("V2__add_email.sql"),
        "ALTER TABLE users ADD email TEXT",
    )
    .unwrap();
    std::fs::write(folder.join("README.md"), "not a migration").unwrap();
    let migrator = Migrator::from_dir(&folder).unwrap();
    assert_eq!(migrator.migrations().len(), 2);
    assert_eq!(migrator.migrations()[0].name, "create users");
    let store = SqliteStore::memory().await.unwrap();
    assert_eq!(migrator.run(&store).await.unwrap().applied, [1, 2]);
}
