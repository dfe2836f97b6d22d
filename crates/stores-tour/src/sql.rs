//! The SQL part of the tour (the seed's `RDSManager` scenario): create a table, insert,
//! query, a transaction, a bulk load. It runs on SQLite through `store-rusqlite` (a file in the
//! data directory, or in memory with `--memory`), or with `--real` on PostgreSQL through
//! `store-rds` (`STORES_POSTGRES_URL`, else the harness's env file `.services/services.env`
//! written by `just services-up postgres`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use serde::Deserialize;
use store_core::sql::{IsolationLevel, SqlStore, SqlStoreExt};
use store_core::{Number, Result as StoreResult, RetryPolicy, Value};
use store_rds::{PgConfig, PgStore};
use store_rusqlite::SqliteStore;

use crate::args::Args;
use crate::{runs, step};

/// The database of the SQL part, with what differs between the two.
enum Database {
    Postgres(PgStore),
    Sqlite(SqliteStore),
}

impl Database {
    fn store(&self) -> &dyn SqlStore {
        match self {
            Self::Postgres(store) => store,
            Self::Sqlite(store) => store,
        }
    }

    /// The column type that keeps decimals exact.
    fn decimal(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "numeric(38,10)",
            // Text affinity keeps every digit; `DECIMAL` in the name reads it back as a number.
            Self::Sqlite(_) => "DECIMAL_TEXT",
        }
    }

    /// The bulk path: binary COPY on PostgreSQL, one prepared statement in one transaction on
    /// SQLite.
    async fn bulk_load<S>(&self, table: &str, columns: &[&str], rows: S) -> StoreResult<u64>
    where
        S: futures::Stream<Item = StoreResult<Vec<Value>>> + Send,
    {
        match self {
            Self::Postgres(store) => store.copy_in(table, columns, rows).await,
            Self::Sqlite(store) => store.insert_rows(table, columns, rows).await,
        }
    }
}

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

/// Runs the SQL scenario on SQLite, or on PostgreSQL with `--real`.
pub(crate) async fn run(args: &Args) -> anyhow::Result<()> {
    let database = if args.real {
        let url = postgres_url().ok_or_else(|| {
            anyhow::anyhow!(
                "--real needs PostgreSQL, and none is configured: start one with `just \
                 services-up postgres` (or ./integration-tests/services/up.sh postgres), or set \
                 STORES_POSTGRES_URL=postgres://user@host:port/db"
            )
        })?;
        let config = PgConfig::from_url(&url)?
            .pool_size(4)
            .create_timeout(Duration::from_secs(3));
        Database::Postgres(config.build()?)
    } else {
        match &args.data_dir {
            Some(dir) => Database::Sqlite(SqliteStore::open(dir.join("tour.sqlite")).await?),
            None => Database::Sqlite(SqliteStore::memory().await?),
        }
    };
    let store = database.store();
    let service = store.backend();
    let health = store.health().await?;
    step(
        service,
        "health",
        format!(
            "{} in {:?}",
            health.detail.unwrap_or_default(),
            health.latency
        ),
    );
    runs::count_in_sql(store).await?;

    let table = format!("tour_users_{}", std::process::id());
    let outcome = scenario(&database, &table).await;
    store
        .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
        .await?;
    step(service, &format!("drop table {table}"), "done");
    outcome
}

async fn scenario(database: &Database, table: &str) -> anyhow::Result<()> {
    let store = database.store();
    let service = store.backend();
    let decimal = database.decimal();
    store
        .batch_execute(&format!(
            "CREATE TABLE {table} (id bigint PRIMARY KEY, name text NOT NULL, \
             email text UNIQUE, balance {decimal} NOT NULL DEFAULT 0)"
        ))
        .await?;
    step(service, &format!("create table {table}"), "done");

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
        service,
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
        service,
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
            service,
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
        service,
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
    let loaded = database
        .bulk_load(table, &["id", "name", "email", "balance"], rows)
        .await?;
    step(
        service,
        "bulk load (COPY / one prepared statement)",
        format!("{loaded} rows in {:?}", started.elapsed()),
    );
    let count = store
        .query_one(&format!("SELECT count(*) AS n FROM {table}"), &[])
        .await?;
    step(
        service,
        "count rows",
        count
            .get("n")
            .cloned()
            .unwrap_or_default()
            .as_i64()
            .unwrap_or(-1),
    );
    if let Database::Postgres(pg) = database {
        let status = pg.pool_status();
        step(
            service,
            "pool status",
            format!(
                "{} of {} connections open, {} idle",
                status.size, status.max_size, status.available
            ),
        );
    }
    Ok(())
}
