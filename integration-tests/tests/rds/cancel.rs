//! Work given up on the client is given up on the server: statements past their time limit,
//! callers that stop waiting, row streams dropped halfway and migrations dropped while they
//! hold their lock leave nothing running or locked on the harness's PostgreSQL.

use std::time::{Duration, Instant};

use futures::StreamExt;
use store_core::sql::{IsolationLevel, SqlStore};
use store_core::{ErrorKind, SqlStoreExt, StoreError, Value};
use store_rds::{Migration, Migrator, PgConfig, PgStore};

use crate::support::{config, proxied, store, within};

/// Waits until no backend but the asking one is running a statement containing `marker`.
async fn wait_until_not_running(marker: &str) {
    let watcher = store().await;
    let started = Instant::now();
    loop {
        let row = watcher
            .query_one(
                "SELECT count(*)::int AS n FROM pg_stat_activity \
                 WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE $1",
                &[Value::from(format!("%{marker}%"))],
            )
            .await
            .expect("pg_stat_activity");
        if row.get("n") == Some(&Value::from(0)) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "`{marker}` still runs on the server {:?} after it was given up",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A marker unique to this run, to find a statement in `pg_stat_activity`.
fn marker(name: &str) -> String {
    format!("cancel-test-{name}-{}", std::process::id())
}

fn assert_timed_out(err: &StoreError) {
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.message().contains("cancelled on the server"), "{err}");
}

async fn limited_store(limit: Duration) -> PgStore {
    config().await.query_timeout(limit).build().expect("store")
}

#[tokio::test]
async fn a_statement_past_its_limit_is_cancelled_on_the_server() {
    let store = limited_store(Duration::from_millis(300)).await;
    let started = Instant::now();
    let err = store
        .execute(
            &format!("SELECT pg_sleep(30) /* {} */", marker("limit")),
            &[],
        )
        .await
        .expect_err("past its limit");
    assert_timed_out(&err);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    wait_until_not_running(&marker("limit")).await;
    let one = store
        .query_one("SELECT 1 AS one", &[])
        .await
        .expect("usable");
    assert_eq!(one.get("one"), Some(&Value::from(1)));
}

#[tokio::test]
async fn a_per_call_limit_applies_to_that_call_only() {
    let store = store().await;
    let hurried = store.with_query_timeout(Some(Duration::from_millis(200)));
    let err = hurried
        .execute(
            &format!("SELECT pg_sleep(30) /* {} */", marker("per-call")),
            &[],
        )
        .await
        .expect_err("past the per-call limit");
    assert_timed_out(&err);
    wait_until_not_running(&marker("per-call")).await;
    store
        .execute("SELECT pg_sleep(0.4)", &[])
        .await
        .expect("the store itself has no limit");
}

#[tokio::test]
async fn a_caller_that_stops_waiting_cancels_the_statement() {
    let store = store().await;
    let gave_up = tokio::time::timeout(
        Duration::from_millis(300),
        store.execute(
            &format!("SELECT pg_sleep(30) /* {} */", marker("dropped")),
            &[],
        ),
    )
    .await;
    assert!(
        gave_up.is_err(),
        "the statement should still have been running"
    );
    wait_until_not_running(&marker("dropped")).await;
}

#[tokio::test]
async fn a_row_stream_dropped_halfway_cancels_its_query() {
    let store = store().await;
    let sql = format!(
        "SELECT g, pg_sleep(0.001) FROM generate_series(1, 1000000) g /* {} */",
        marker("rows")
    );
    let mut rows = store.query(&sql, &[]);
    for expected in 1..=5 {
        let row = rows.next().await.expect("a row").expect("no error");
        assert_eq!(row.get("g"), Some(&Value::from(expected)));
    }
    drop(rows);
    wait_until_not_running(&marker("rows")).await;
    // A stream read to its end gives its connection back as usual.
    let all: Vec<_> = store
        .query("SELECT generate_series(1, 3) AS g", &[])
        .collect()
        .await;
    assert_eq!(all.len(), 3);
    assert_eq!(store.pool_status().size, store.pool_status().available);
}

#[tokio::test]
async fn a_copy_out_stream_dropped_halfway_cancels_its_copy() {
    let store = store().await;
    let sql = format!(
        "SELECT g, pg_sleep(0.001) AS slept FROM generate_series(1, 1000000) g /* {} */",
        marker("copy")
    );
    let mut rows = store.copy_out(&sql).await.expect("copy out");
    for expected in 1..=5 {
        let row = rows.next().await.expect("a row").expect("no error");
        assert_eq!(row.get("g"), Some(&Value::from(expected)));
    }
    drop(rows);
    wait_until_not_running(&marker("copy")).await;
    // A copy read to its end gives its connection back as usual.
    let all: Vec<_> = store
        .copy_out("SELECT generate_series(1, 3) AS g")
        .await
        .expect("copy out")
        .collect()
        .await;
    assert_eq!(all.len(), 3);
    assert_eq!(store.pool_status().size, store.pool_status().available);
}

#[tokio::test]
async fn a_transaction_statement_past_its_limit_fails_the_transaction() {
    let store = limited_store(Duration::from_millis(300)).await;
    let mut tx = store
        .begin(IsolationLevel::ReadCommitted)
        .await
        .expect("begin");
    let err = tx
        .execute(&format!("SELECT pg_sleep(30) /* {} */", marker("tx")), &[])
        .await
        .expect_err("past its limit");
    assert_timed_out(&err);
    wait_until_not_running(&marker("tx")).await;
    let err = tx
        .commit()
        .await
        .expect_err("a failed transaction cannot commit");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[tokio::test]
async fn a_migration_dropped_while_locked_never_leaves_the_lock_in_the_pool() {
    let table = format!("cancel_migrations_{}", std::process::id());
    let first = config().await.pool_size(1).build().expect("store");
    let slow = Migrator::new(vec![Migration::new(1, "slow", "SELECT pg_sleep(30)")])
        .expect("migrator")
        .table(table.clone());
    let dropped = tokio::time::timeout(Duration::from_millis(500), slow.run(&first)).await;
    assert!(
        dropped.is_err(),
        "the slow migration should still have been running"
    );

    // Another process (store) takes the lock at once and applies the migration's fast
    // version; before, the first store's pooled connection kept the lock.
    let second = config().await.pool_size(1).build().expect("store");
    let fast = Migrator::new(vec![Migration::new(1, "fast", "SELECT 1")])
        .expect("migrator")
        .table(table.clone());
    let report = within(
        Duration::from_secs(5),
        "a migration after a dropped one",
        fast.run(&second),
    )
    .await
    .expect("applies");
    assert_eq!(report.applied, vec![1]);
    first
        .query_one("SELECT 1 AS one", &[])
        .await
        .expect("the first store's pool works on a fresh connection");
    second
        .batch_execute(&format!("DROP TABLE {table}"))
        .await
        .expect("drop");
}

#[tokio::test]
async fn a_query_on_a_connection_gone_silent_ends_at_its_limit() {
    let (proxy, url) = proxied().await;
    let store = PgConfig::from_url(&url)
        .expect("url")
        .pool_size(1)
        .verify_on_checkout(false)
        .query_timeout(Duration::from_millis(500))
        .build()
        .expect("store");
    store
        .query_one("SELECT 1 AS one", &[])
        .await
        .expect("connected");
    proxy.set_blackhole(true);
    let started = Instant::now();
    let err = within(
        Duration::from_secs(3),
        "a query on a black-holed connection",
        store.execute("SELECT 1", &[]),
    )
    .await
    .expect_err("nothing answers");
    assert_timed_out(&err);
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    proxy.set_blackhole(false);
    let healed = within(
        Duration::from_secs(5),
        "a query after the network is back",
        async { store.query_one("SELECT 2 AS two", &[]).await },
    )
    .await
    .expect("a fresh connection replaces the silent one");
    assert_eq!(healed.get("two"), Some(&Value::from(2)));
}
