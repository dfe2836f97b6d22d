//! A first program with store-rds: migrate a schema, insert exact decimals, read them back,
//! and retry a transaction that conflicts.
//!
//! ```sh
//! cargo run -p store-rds --example rds_quickstart -- postgres://app:secret@localhost:5432/app
//! # or with the PG* variables (PGHOST, PGUSER, PGPASSWORD, PGDATABASE...):
//! cargo run -p store-rds --example rds_quickstart
//! ```

use futures::TryStreamExt;
use store_core::sql::IsolationLevel;
use store_core::{Number, RetryPolicy, SqlStore, SqlStoreExt};
use store_rds::{Migration, Migrator, PgStore};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = match std::env::args().nth(1) {
        Some(url) => PgStore::from_url(&url)?,
        None => PgStore::from_env()?,
    };

    // Versioned, checksummed migrations, run once under an advisory lock.
    let migrations = vec![Migration::new(
        1,
        "accounts",
        "CREATE TABLE IF NOT EXISTS quickstart_accounts (
             id bigint PRIMARY KEY, owner text NOT NULL, balance numeric(38, 10) NOT NULL)",
    )];
    Migrator::new(migrations)?.run(&store).await?;

    // numeric keeps every digit, both ways.
    let balance: Number = "1234567890123456789012345678.0123456789".parse()?;
    store
        .execute(
            "INSERT INTO quickstart_accounts VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET balance = EXCLUDED.balance",
            &[1.into(), "ada".into(), balance.into()],
        )
        .await?;
    let rows: Vec<_> = store
        .query(
            "SELECT owner, balance FROM quickstart_accounts WHERE id = $1",
            &[1.into()],
        )
        .try_collect()
        .await?;
    println!(
        "{:?} has {:?}",
        rows[0].get("owner"),
        rows[0].get("balance")
    );

    // A transaction retried on serialization failures and deadlocks.
    let policy = RetryPolicy::default();
    let updated = store
        .transaction(IsolationLevel::Serializable, &policy, |tx| async move {
            tx.execute(
                "UPDATE quickstart_accounts SET balance = balance + 1 WHERE id = $1",
                &[1.into()],
            )
            .await
        })
        .await?;
    println!("{updated} row updated in a serializable transaction");

    store
        .batch_execute("DROP TABLE quickstart_accounts")
        .await?;
    Ok(())
}
