//! Failure behaviour through the fault proxy: reset connections are replaced at once, a dead
//! server fails callers quickly, an exhausted pool says what state it is in.

use std::time::{Duration, Instant};

use store_core::sql::{IsolationLevel, SqlStore, SqlStoreExt};
use store_core::{ErrorKind, Value};
use store_rds::PgConfig;

use super::support::{config, proxied, within};

/// Lets a reset the proxy was told of happen: its tasks send the resets and the pool's
/// connection drivers read them. (A reset that arrives while a statement is in flight fails
/// that statement with a retryable `Unavailable`; none is re-sent, as it may have run.)
async fn settle() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Connections reset while idle are found closed at checkout and replaced, without a round
/// trip for the ones in steady use.
#[tokio::test]
async fn reset_connections_are_replaced_and_the_next_query_succeeds_within_2s() {
    let (proxy, url) = proxied().await;
    let store = PgConfig::from_url(&url)
        .expect("url")
        .pool_size(4)
        .build()
        .expect("store");
    // Open every pooled connection.
    let warm = (0..4).map(|_| store.query_all("SELECT pg_sleep(0.05), 1 AS one", &[]));
    for result in futures::future::join_all(warm).await {
        result.expect("warm-up query");
    }
    assert_eq!(store.pool_status().size, 4);
    let before = proxy.stats().connections;

    proxy.reset_connections();
    settle().await;
    let started = Instant::now();
    let row = within(
        Duration::from_secs(2),
        "the first query after the reset",
        async { store.query_one("SELECT 41 + 1 AS answer", &[]).await },
    )
    .await
    .expect("the next query succeeds on a fresh connection");
    assert_eq!(row.get("answer"), Some(&Value::from(42)));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        proxy.stats().connections > before,
        "a new connection was opened"
    );

    // Many callers at once after another reset: none hangs, and the pool heals.
    proxy.reset_connections();
    settle().await;
    let callers = (0..12).map(|i| {
        let store = store.clone();
        async move { store.query_one("SELECT $1::int AS i", &[i.into()]).await }
    });
    let results = within(
        Duration::from_secs(2),
        "12 concurrent callers after a reset",
        futures::future::join_all(callers),
    )
    .await;
    for (i, result) in results.into_iter().enumerate() {
        let row = result.unwrap_or_else(|e| panic!("caller {i} failed after the reset: {e}"));
        assert_eq!(row.get("i"), Some(&Value::from(i as i32)));
    }
}

#[tokio::test]
async fn a_black_holed_server_fails_callers_with_unavailable_instead_of_hanging() {
    let (proxy, url) = proxied().await;
    proxy.set_blackhole(true);
    let config = PgConfig::from_url(&url)
        .expect("url")
        .pool_size(2)
        .create_timeout(Duration::from_millis(700))
        .wait_timeout(Duration::from_millis(700));
    let store = config.build().expect("store");
    let started = Instant::now();
    let err = within(
        Duration::from_secs(3),
        "a query against a dead server",
        async { store.execute("SELECT 1", &[]).await },
    )
    .await
    .expect_err("nothing answers");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_retryable());
    assert!(
        err.message().contains("pool:"),
        "the pool's state is in the message: {err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));

    proxy.set_blackhole(false);
    let healed = within(
        Duration::from_secs(3),
        "a query after the server is back",
        async { store.query_one("SELECT 1 AS one", &[]).await },
    )
    .await;
    assert_eq!(
        healed.expect("works again").get("one"),
        Some(&Value::from(1))
    );
}

#[tokio::test]
async fn an_exhausted_pool_times_out_with_its_state() {
    let store = config()
        .await
        .pool_size(1)
        .wait_timeout(Duration::from_millis(300))
        .build()
        .expect("store");
    let held = store
        .begin(IsolationLevel::ReadCommitted)
        .await
        .expect("begin");
    let err = within(
        Duration::from_secs(2),
        "waiting on an exhausted pool",
        async { store.query_all("SELECT 1", &[]).await },
    )
    .await
    .expect_err("the only connection is taken");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(
        err.message()
            .contains("1 of at most 1 connections open, 0 idle"),
        "{err}"
    );
    drop(held);
    let row = within(
        Duration::from_secs(2),
        "the pool after the transaction is dropped",
        async { store.query_one("SELECT 1 AS one", &[]).await },
    )
    .await
    .expect("the rolled-back connection is reused");
    assert_eq!(row.get("one"), Some(&Value::from(1)));
}

/// `verify_after_idle`: a connection used within the window is handed out unchecked (no
/// round trip on the hot path), so a silent network reaches the caller's query limit; one
/// that sat idle past the window is checked first, so the same silence is found by the check
/// (the recycle timeout) and the caller gets the pool's error instead of a stuck query.
#[tokio::test]
async fn only_connections_idle_past_the_window_are_checked_before_use() {
    let (proxy, url) = proxied().await;
    let store = PgConfig::from_url(&url)
        .expect("url")
        .pool_size(1)
        .verify_after_idle(Duration::from_millis(500))
        .recycle_timeout(Duration::from_millis(300))
        .create_timeout(Duration::from_millis(700))
        .query_timeout(Duration::from_secs(2))
        .build()
        .expect("store");

    // Within the window: no check, so the query itself meets the silence.
    store
        .query_one("SELECT 1 AS one", &[])
        .await
        .expect("connected");
    proxy.set_blackhole(true);
    let err = within(
        Duration::from_secs(5),
        "an unchecked query",
        store.execute("SELECT 1", &[]),
    )
    .await
    .expect_err("nothing answers");
    assert!(
        err.message().contains("cancelled on the server"),
        "the query's own limit: {err}"
    );
    proxy.set_blackhole(false);

    // Past the window: the check meets the silence first (and the replacement connection,
    // black-holed too, cannot be opened), well before the query's 2 s limit.
    store
        .query_one("SELECT 1 AS one", &[])
        .await
        .expect("a fresh connection");
    tokio::time::sleep(Duration::from_millis(700)).await;
    proxy.set_blackhole(true);
    let started = Instant::now();
    let err = within(
        Duration::from_secs(5),
        "a checked checkout",
        store.execute("SELECT 1", &[]),
    )
    .await
    .expect_err("nothing answers");
    let took = started.elapsed();
    proxy.set_blackhole(false);
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(
        !err.message().contains("cancelled on the server"),
        "the pool's error: {err}"
    );
    assert!(
        took < Duration::from_millis(1_800),
        "the check found it in {took:?}"
    );
    store
        .query_one("SELECT 1 AS one", &[])
        .await
        .expect("recovered");
}

/// A connection is driven by a task on the runtime that opened it. Handed to a caller on
/// another runtime while that one is not running (here a current-thread runtime outside
/// `block_on`; in the wild, one blocked in a `Drop` that waits for the caller), it could
/// never answer: the checkout verifies it however recently it was used, finds it silent
/// within the recycle timeout and opens a connection the caller's runtime drives.
#[test]
fn a_connection_driven_by_a_stalled_runtime_is_replaced_not_handed_out() {
    let current_thread = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    };
    let first = current_thread();
    let store = first.block_on(async {
        let store = config()
            .await
            .pool_size(1)
            .recycle_timeout(Duration::from_millis(300))
            .query_timeout(Duration::from_secs(5))
            .build()
            .expect("store");
        store
            .query_one("SELECT 1 AS one", &[])
            .await
            .expect("opened");
        store
    });
    // `first` is now stalled: nothing polls the connection's driver.
    let second = current_thread();
    let started = Instant::now();
    let row = second
        .block_on(store.query_one("SELECT 2 AS two", &[]))
        .expect("answered on a connection this runtime drives");
    assert_eq!(row.get("two"), Some(&Value::from(2)));
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "the silent connection was handed out: {took:?}"
    );
    drop(first);
}
