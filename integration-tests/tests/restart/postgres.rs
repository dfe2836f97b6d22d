//! PostgreSQL killed (immediate shutdown: every backend at once, crash recovery at start).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use integration_tests::names::unique_ident;
use integration_tests::services::{Service, endpoint, restart};
use store_core::{ErrorKind, SqlStore, SqlStoreExt, Value};
use store_rds::{PgConfig, PgStore};

use crate::serial;

const ROWS: i64 = 1_000_000;

async fn store(pool: usize) -> PgStore {
    PgConfig::from_url(&endpoint(Service::Postgres).await)
        .unwrap()
        .pool_size(pool)
        .build()
        .unwrap()
}

/// Rows in `table`, their id sum and their payload-length sum, read once the server answers.
async fn tally(store: &PgStore, table: &str) -> (i64, i64, i64) {
    let sql = format!(
        "SELECT count(*)::bigint AS n, coalesce(sum(id), 0)::bigint AS ids, \
         coalesce(sum(length(payload)), 0)::bigint AS bytes FROM {table}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match store.query_one(&sql, &[]).await {
            Ok(row) => {
                let get = |name: &str| row.get(name).and_then(Value::as_i64).unwrap();
                return (get("n"), get("ids"), get("bytes"));
            }
            Err(e) if Instant::now() < deadline => {
                assert!(
                    e.is_retryable(),
                    "a typed, retryable error while the server restarts: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the server did not answer again: {e}"),
        }
    }
}

fn payload(id: i64) -> String {
    format!("row {id} of the copy")
}

fn expected() -> (i64, i64, i64) {
    let bytes: i64 = (0..ROWS).map(|id| payload(id).len() as i64).sum();
    (ROWS, ROWS * (ROWS - 1) / 2, bytes)
}

/// The rows, counting how many went out in `sent`.
fn rows(
    sent: Arc<AtomicI64>,
) -> impl futures::Stream<Item = store_core::Result<Vec<Value>>> + Send + 'static {
    futures::stream::iter(0..ROWS).map(move |id| {
        sent.fetch_add(1, Ordering::Relaxed);
        Ok(vec![Value::from(id), Value::from(payload(id))])
    })
}

#[tokio::test]
async fn a_copy_cut_by_a_crash_lands_nothing_and_its_retry_lands_every_row_once() {
    let _turn = serial().await;
    let store = store(4).await;
    let table = unique_ident("restart_copy");
    store
        .batch_execute(&format!(
            "CREATE TABLE {table} (id bigint PRIMARY KEY, payload text NOT NULL)"
        ))
        .await
        .unwrap();

    let sent = Arc::new(AtomicI64::new(0));
    let copying = {
        let (store, table, sent) = (store.clone(), table.clone(), sent.clone());
        tokio::spawn(async move { store.copy_in(&table, &["id", "payload"], rows(sent)).await })
    };
    while sent.load(Ordering::Relaxed) < ROWS / 10 {
        assert!(
            !copying.is_finished(),
            "the copy ended before a tenth of its rows went out"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    restart(Service::Postgres).await;
    let outcome = copying.await.unwrap();
    let cut_at = sent.load(Ordering::Relaxed);
    let error = outcome.expect_err("the crash cut the copy");
    assert!(cut_at < ROWS, "the crash came after the last row");
    assert!(error.is_retryable(), "{error}");
    assert_eq!(
        tally(&store, &table).await,
        (0, 0, 0),
        "a COPY is one transaction: nothing of it may remain ({cut_at} rows had gone out)"
    );

    let again = store
        .copy_in(&table, &["id", "payload"], rows(Arc::default()))
        .await
        .expect("the retry runs on the restarted server");
    assert_eq!(again, ROWS as u64);
    assert_eq!(
        tally(&store, &table).await,
        expected(),
        "every row once, intact"
    );
    store
        .batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
}

/// What one worker saw: its calls' outcomes with the time they ended.
#[derive(Default)]
struct Worker {
    failures: Vec<ErrorKind>,
    successes: Vec<Instant>,
}

#[tokio::test]
async fn sixteen_busy_workers_all_recover_within_seconds_of_a_crash() {
    let _turn = serial().await;
    const WORKERS: usize = 16;
    let store = store(WORKERS).await;
    let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for worker in 0..WORKERS as i64 {
        let (store, stopping) = (store.clone(), stopping.clone());
        tasks.push(tokio::spawn(async move {
            let mut seen = Worker::default();
            while !stopping.load(Ordering::Relaxed) {
                // A call must end, one way or the other: a hang fails the test.
                let params = [Value::from(worker)];
                let call = store.query_one(
                    "SELECT $1::bigint AS worker, pg_sleep(0.005)::text AS slept",
                    &params,
                );
                let outcome = tokio::time::timeout(Duration::from_secs(15), call)
                    .await
                    .unwrap_or_else(|_| panic!("worker {worker}: a call hung for 15 s"));
                match outcome {
                    Ok(row) => {
                        assert_eq!(row.get("worker").and_then(Value::as_i64), Some(worker));
                        seen.successes.push(Instant::now());
                    }
                    Err(e) => {
                        seen.failures.push(e.kind());
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let crashed_at = Instant::now();
    restart(Service::Postgres).await;
    let back_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    stopping.store(true, Ordering::Relaxed);
    let mut failed_workers = 0;
    let mut kinds = std::collections::BTreeMap::new();
    for (worker, task) in tasks.into_iter().enumerate() {
        let seen = task.await.unwrap();
        assert!(
            seen.successes.iter().any(|t| *t < crashed_at),
            "worker {worker} worked before the crash"
        );
        let recovered = seen
            .successes
            .iter()
            .find(|t| **t > back_at)
            .unwrap_or_else(|| panic!("worker {worker} never succeeded after the restart"));
        let took = recovered.duration_since(back_at);
        assert!(
            took < Duration::from_secs(3),
            "worker {worker} took {took:?} to recover"
        );
        if !seen.failures.is_empty() {
            failed_workers += 1;
        }
        for kind in seen.failures {
            assert!(
                kind.is_retryable(),
                "worker {worker}: a crash surfaced as {kind:?}"
            );
            *kinds.entry(kind.as_str()).or_insert(0usize) += 1;
        }
    }
    assert!(failed_workers > 0, "the crash was felt by some worker");
    println!(
        "16 workers: {failed_workers} saw failures {kinds:?}; all recovered within 3 s of the restart ({:?})",
        back_at.duration_since(crashed_at)
    );
}
