//! PostgreSQL: 100,000 rows inserted through the layers with multi-row
//! `INSERT .. ON CONFLICT (id) DO NOTHING` statements, which the retry layer is told are
//! idempotent (`execute` is not, by the `OpMeta` rules, unless the layer is told so).

use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use integration_tests::names::unique_ident;
use integration_tests::services::{Service, endpoint};
use store_core::sql::{SqlStore, SqlStoreExt};
use store_core::{Document, ErrorKind, Value};
use store_layers::{Fault, FaultLayer, LayerExt, RetryLayer};
use store_rds::{PgConfig, PgStore};

use super::support::{assert_exact, canonical, faults, layers, policy, report};

const ROWS: i64 = 100_000;
/// Rows per statement (4 parameters each).
const PER_CALL: i64 = 500;
const SEED: u64 = 0x0050_0011;

/// Row `id` as the document PostgreSQL returns for `SELECT id, name, score, tag`.
fn row(id: i64) -> Document {
    Document::new()
        .with("id", id)
        .with("name", format!("row {id}"))
        .with("score", (id * 7919) % 100_003)
        .with("tag", format!("t{}", id % 13))
}

async fn store(url: &str) -> PgStore {
    PgConfig::from_url(url)
        .expect("the harness URL parses")
        .pool_size(4)
        .build()
        .expect("the store builds")
}

/// One statement inserting rows `from..to`, and its parameters.
fn insert(table: &str, from: i64, to: i64) -> (String, Vec<Value>) {
    let mut sql = format!("INSERT INTO {table} (id, name, score, tag) VALUES ");
    let mut params = Vec::with_capacity(4 * (to - from) as usize);
    for (i, id) in (from..to).enumerate() {
        let p = 4 * i;
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!("(${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4));
        let doc = row(id);
        for field in ["id", "name", "score", "tag"] {
            params.push(doc.get(field).cloned().expect("field"));
        }
    }
    sql.push_str(" ON CONFLICT (id) DO NOTHING");
    (sql, params)
}

#[tokio::test]
async fn inserts_of_100k_rows_under_faults_are_exact() {
    let url = endpoint(Service::Postgres).await;
    let direct = store(&url).await;
    let table = unique_ident("layers");
    direct
        .batch_execute(&format!(
            "CREATE TABLE {table} (id bigint PRIMARY KEY, name text NOT NULL, \
             score bigint NOT NULL, tag text NOT NULL)"
        ))
        .await
        .expect("create the table");

    let faults = faults(SEED);
    // These statements converge when repeated: say so to the retry layer.
    let retry = RetryLayer::new(policy()).idempotent("execute", true);
    let writer = store(&url).await.layer(layers(retry, &faults));

    let started = Instant::now();
    let statements: Vec<(String, Vec<Value>)> = (0..ROWS)
        .step_by(PER_CALL as usize)
        .map(|from| insert(&table, from, (from + PER_CALL).min(ROWS)))
        .collect();
    let calls = statements.len() as u64;
    let inserted: Vec<u64> = futures::stream::iter(&statements)
        .map(|(sql, params)| writer.execute(sql, params))
        .buffer_unordered(4)
        .try_collect()
        .await
        .expect("every insert lands through the retries");
    let write_time = started.elapsed();
    report("postgres", ROWS as usize, calls, &faults);
    // A statement retried after it committed inserts nothing the second time.
    assert!(inserted.iter().sum::<u64>() <= ROWS as u64);

    let started = Instant::now();
    let back: Vec<Document> = direct
        .query(
            &format!("SELECT id, name, score, tag FROM {table} ORDER BY id"),
            &[],
        )
        .try_collect()
        .await
        .expect("read back");
    let server = direct
        .query_one(
            &format!("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM {table}"),
            &[],
        )
        .await
        .expect("count");
    let count = |k: &str| server.get(k).and_then(Value::as_i64).expect("a count");
    assert_eq!(
        (count("n"), count("ids")),
        (ROWS, ROWS),
        "the server's count"
    );
    assert_exact(
        "postgres",
        (0..ROWS).map(|id| (id.to_string(), canonical(&row(id)))),
        back.iter().map(|doc| {
            let id = doc.get("id").and_then(Value::as_i64).unwrap_or(-1);
            (id.to_string(), canonical(doc))
        }),
    );
    eprintln!(
        "layers postgres: wrote in {write_time:?}, read back in {:?}",
        started.elapsed()
    );
    direct
        .batch_execute(&format!("DROP TABLE {table}"))
        .await
        .expect("drop the table");
}

/// The other side of the `OpMeta` rule: a plain `INSERT` into a table without a key is not
/// idempotent. Unmarked, the retry layer runs it once and the "committed, then failed" error
/// reaches the caller (one row, no duplicate); wrongly marked idempotent, each retry inserts
/// the row again: the duplicates the exact-content check above would catch.
#[tokio::test]
async fn a_keyless_insert_is_retried_only_when_marked_and_then_duplicates() {
    let url = endpoint(Service::Postgres).await;
    let direct = store(&url).await;
    let table = unique_ident("keyless");
    direct
        .batch_execute(&format!("CREATE TABLE {table} (id bigint, name text)"))
        .await
        .expect("create the table");
    let sql = format!("INSERT INTO {table} (id, name) VALUES ($1, $2)");
    // Every call lands, then fails.
    let committed_then_failed =
        || FaultLayer::seeded(SEED).with(Fault::error(ErrorKind::Unavailable, 1.0).after_success());
    let rows = |id: i64| {
        let direct = &direct;
        let table = &table;
        async move {
            let row = direct
                .query_one(
                    &format!("SELECT count(*) AS n FROM {table} WHERE id = $1"),
                    &[Value::from(id)],
                )
                .await
                .expect("count");
            row.get("n").and_then(Value::as_i64).expect("a count")
        }
    };

    let faults = committed_then_failed();
    let retry = RetryLayer::new(policy().max_attempts(3));
    let writer = store(&url).await.layer(layers(retry, &faults));
    let err = writer
        .execute(&sql, &[Value::from(1), Value::from("one")])
        .await
        .expect_err("the fault reaches the caller");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(faults.calls(), 1, "not idempotent: not retried");
    assert_eq!(rows(1).await, 1);

    let faults = committed_then_failed();
    let retry = RetryLayer::new(policy().max_attempts(3)).idempotent("execute", true);
    let writer = store(&url).await.layer(layers(retry, &faults));
    writer
        .execute(&sql, &[Value::from(2), Value::from("two")])
        .await
        .expect_err("every attempt fails");
    assert_eq!(faults.calls(), 3, "marked idempotent: retried");
    assert_eq!(rows(2).await, 3, "each committed attempt left a row");

    direct
        .batch_execute(&format!("DROP TABLE {table}"))
        .await
        .expect("drop the table");
}
