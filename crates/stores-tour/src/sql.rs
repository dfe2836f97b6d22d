//! The SQL part of the tour (the seed's `RDSManager` scenario) on PostgreSQL through
//! `store-rds`: create a table, insert, query, a transaction, a bulk load with COPY.
//!
//! It needs a PostgreSQL server: `STORES_POSTGRES_URL`, else the harness's env file
//! `.services/services.env` (written by `just services-up postgres`). Without one it says so
//! and how to start it, and the rest of the tour goes on.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use serde::Deserialize;
use store_core::sql::{IsolationLevel, SqlStore, SqlStoreExt};
use store_core::{Health, Number, RetryPolicy, Value};
use store_rds::{PgConfig, PgStore};

use crate::step;

#[derive(Debug, Deserialize)]
struct User {
    id: i64,
    name: String,
    balance: Number,
}

/// The PostgreSQL URL from the environment or the harness's env file, if any.
fn postgres_url() -> Option<String> {
    const VAR: &str = "STORES_POSTGRES_URL";
    if let Ok(url) = std::env::var(VAR)
        && !url.trim().is_empty()
    {
        return Some(url);
    }
    let mut candidates = vec![PathBuf::from(".services/services.env")];
    candidates.push(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(".services/services.env"),
    );
    candidates.into_iter().find_map(|path| {
        let text = std::fs::read_to_string(path).ok()?;
        text.lines().find_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            let value = line.strip_prefix(VAR)?.strip_prefix('=')?;
            let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
            (!value.is_empty()).then(|| value.to_owned())
        })
    })
}

/// Runs the SQL scenario, or explains how to get a PostgreSQL for it.
pub(crate) async fn run() -> anyhow::Result<()> {
    let Some(url) = postgres_url() else {
        println!(
            "[postgres] the SQL part needs PostgreSQL, and none is configured. Start one with \
             `just services-up postgres` (or ./integration-tests/services/up.sh postgres), \
             or set STORES_POSTGRES_URL=postgres://user@host:port/db"
        );
        return Ok(());
    };
    let config = PgConfig::from_url(&url)?
        .pool_size(4)
        .create_timeout(Duration::from_secs(3));
    let store = config.build()?;
    let health = store.health().await?;
    step(
        "postgres",
        "health",
        format!(
            "{} in {:?}",
            health.detail.unwrap_or_default(),
            health.latency
        ),
    );

    let table = format!("tour_users_{}", std::process::id());
    let outcome = scenario(&store, &table).await;
    store
        .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
        .await?;
    step("postgres", &format!("drop table {table}"), "done");
    outcome
}

async fn scenario(store: &PgStore, table: &str) -> anyhow::Result<()> {
    store
        .batch_execute(&format!(
            "CREATE TABLE {table} (id bigint PRIMARY KEY, name text NOT NULL, \
             email text UNIQUE, balance numeric(38,10) NOT NULL DEFAULT 0)"
        ))
        .await?;
    step("postgres", &format!("create table {table}"), "done");

    let insert = format!("INSERT INTO {table} (id, name, email, balance) VALUES ($1, $2, $3, $4)");
    for (id, name, balance) in [
        (1, "Alice", "100.25"),
        (2, "Bob", "0.0000000001"),
        (3, "Robert'); DROP TABLE users;--", "42"),
    ] {
        let email = format!("user{id}@example.com");
        let balance: Number = balance.parse()?;
        store
            .execute(
                &insert,
                &[id.into(), name.into(), email.into(), balance.into()],
            )
            .await?;
    }
    step(
        "postgres",
        "insert 3 users (one named like an injection)",
        "stored verbatim",
    );

    let duplicate = store
        .execute(
            &insert,
            &[4.into(), "Eve".into(), "user1@example.com".into(), 0.into()],
        )
        .await;
    step(
        "postgres",
        "insert a duplicate email",
        match duplicate {
            Err(e) => format!("refused: {}", e.kind()),
            Ok(_) => "accepted?!".into(),
        },
    );

    let users: Vec<User> = store
        .query_as(
            &format!("SELECT id, name, balance FROM {table} ORDER BY id"),
            &[],
        )
        .try_collect()
        .await?;
    for user in &users {
        step(
            "postgres",
            &format!("query user {}", user.id),
            format!("{} balance {}", user.name, user.balance.to_plain_string()),
        );
    }

    // Move 50 from Alice to Bob atomically; conflicts would be retried.
    let update = format!("UPDATE {table} SET balance = balance + $2 WHERE id = $1");
    let policy = RetryPolicy::default().max_attempts(5);
    store
        .transaction(IsolationLevel::Serializable, &policy, |tx| {
            let update = update.clone();
            async move {
                tx.execute(&update, &[1.into(), (-50).into()]).await?;
                tx.execute(&update, &[2.into(), 50.into()]).await?;
                Ok(())
            }
        })
        .await?;
    let bob = store
        .query_one(
            &format!("SELECT balance FROM {table} WHERE id = $1"),
            &[2.into()],
        )
        .await?;
    step(
        "postgres",
        "transaction: transfer 50 from Alice to Bob",
        format!(
            "Bob now has {}",
            bob.get("balance")
                .and_then(Value::as_number)
                .map(Number::to_plain_string)
                .unwrap_or_default()
        ),
    );

    let started = Instant::now();
    let rows = futures::stream::iter((1_000..101_000i64).map(|id| {
        Ok(vec![
            Value::from(id),
            Value::String(format!("bulk user {id}")),
            Value::String(format!("bulk{id}@example.com")),
            Value::Number(format!("{}.{:02}", id % 1000, id % 100).parse()?),
        ])
    }));
    let loaded = store
        .copy_in(table, &["id", "name", "email", "balance"], rows)
        .await?;
    step(
        "postgres",
        "bulk load with binary COPY",
        format!("{loaded} rows in {:?}", started.elapsed()),
    );
    let count = store
        .query_one(&format!("SELECT count(*) AS n FROM {table}"), &[])
        .await?;
    step(
        "postgres",
        "count rows",
        count
            .get("n")
            .cloned()
            .unwrap_or_default()
            .as_i64()
            .unwrap_or(-1),
    );
    let status = store.pool_status();
    step(
        "postgres",
        "pool status",
        format!(
            "{} of {} connections open, {} idle",
            status.size, status.max_size, status.available
        ),
    );
    Ok(())
}
