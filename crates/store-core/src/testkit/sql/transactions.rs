//! Transactions: commit, rollback, drop, retries, serialization failures, isolation levels.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::{SqlStoreFactory, col, count, exec, expect_kind, opted_out, rows, scoped};
use crate::error::{ErrorKind, StoreError};
use crate::retry::RetryPolicy;
use crate::sql::{IsolationLevel, SqlStore, SqlStoreExt};
use crate::value::Value;

/// A quick retry policy for tests.
fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .base_delay(Duration::from_millis(1))
        .without_jitter()
}

/// Work done in a transaction is visible to itself at once and to others only after commit.
pub async fn transaction_commit_is_visible(factory: &SqlStoreFactory) {
    scoped(
        factory,
        "commit",
        "id integer PRIMARY KEY",
        |store, table| async move {
            let store = &*store;
            let insert = format!("INSERT INTO {table} (id) VALUES ($1)");
            let mut tx = store
                .begin(IsolationLevel::ReadCommitted)
                .await
                .expect("begin");
            assert_eq!(
                tx.execute(&insert, &[1.into()])
                    .await
                    .expect("insert in tx"),
                1
            );
            assert_eq!(
                tx.execute(&insert, &[2.into()])
                    .await
                    .expect("insert in tx"),
                1
            );
            let own = tx
                .query(&format!("SELECT id FROM {table} ORDER BY id"), &[])
                .await
                .expect("query in tx");
            assert_eq!(own.len(), 2, "a transaction sees its own writes");
            assert_eq!(col(&own[1], "id"), &Value::from(2));
            assert_eq!(
                count(store, &table).await,
                0,
                "others do not see uncommitted rows"
            );
            tx.commit().await.expect("commit");
            assert_eq!(count(store, &table).await, 2, "committed rows are visible");
        },
    )
    .await;
}

/// An explicit rollback, and a `transaction` closure that returns a non-retryable error, undo
/// the work; the closure runs once and its error is returned.
pub async fn transaction_rollback_is_invisible(factory: &SqlStoreFactory) {
    scoped(
        factory,
        "rollback",
        "id integer PRIMARY KEY",
        |store, table| async move {
            let store = &*store;
            let insert = format!("INSERT INTO {table} (id) VALUES ($1)");
            let mut tx = store.begin(IsolationLevel::default()).await.expect("begin");
            tx.execute(&insert, &[1.into()])
                .await
                .expect("insert in tx");
            tx.rollback().await.expect("rollback");
            assert_eq!(
                count(store, &table).await,
                0,
                "a rolled back insert is gone"
            );

            let calls = Arc::new(AtomicU32::new(0));
            let counter = calls.clone();
            let result: Result<(), _> = store
                .transaction(IsolationLevel::ReadCommitted, &quick_retries(), move |tx| {
                    let counter = counter.clone();
                    let insert = insert.clone();
                    async move {
                        counter.fetch_add(1, Ordering::SeqCst);
                        tx.execute(&insert, &[2.into()]).await?;
                        Err(StoreError::invalid_input("the work decided to give up"))
                    }
                })
                .await;
            let err = expect_kind(
                result,
                ErrorKind::InvalidInput,
                "a transaction whose work fails",
            );
            assert_eq!(
                err.message(),
                "the work decided to give up",
                "the work's own error"
            );
            assert_eq!(
                calls.load(Ordering::SeqCst),
                1,
                "a non-retryable error is not retried"
            );
            assert_eq!(
                count(store, &table).await,
                0,
                "the failed work is rolled back"
            );
        },
    )
    .await;
}

/// A transaction dropped without commit is rolled back, and its connection is clean for the
/// next user of the pool.
pub async fn dropped_transaction_rolls_back(factory: &SqlStoreFactory) {
    scoped(
        factory,
        "dropped",
        "id integer PRIMARY KEY",
        |store, table| async move {
            let store = &*store;
            let insert = format!("INSERT INTO {table} (id) VALUES ($1)");
            {
                let mut tx = store
                    .begin(IsolationLevel::ReadCommitted)
                    .await
                    .expect("begin");
                tx.execute(&insert, &[1.into()])
                    .await
                    .expect("insert in tx");
                drop(tx);
            }
            // Several reads, so that one of them is likely to reuse the dropped transaction's
            // connection: it must not still be inside the transaction.
            for _ in 0..4 {
                assert_eq!(
                    count(store, &table).await,
                    0,
                    "a dropped transaction is rolled back"
                );
            }
            exec(store, &insert, &[1.into()]).await;
            assert_eq!(count(store, &table).await, 1, "the key is free again");
        },
    )
    .await;
}

/// `SqlStoreExt::transaction` runs the work again after a retryable `Conflict`, rolling back
/// the failed attempt, and commits the successful one.
pub async fn transaction_retries_conflict(factory: &SqlStoreFactory) {
    scoped(
        factory,
        "retry",
        "attempt integer PRIMARY KEY",
        |store, table| async move {
            let store = &*store;
            let insert = format!("INSERT INTO {table} (attempt) VALUES ($1)");
            let calls = Arc::new(AtomicU32::new(0));
            let counter = calls.clone();
            let result = store
                .transaction(IsolationLevel::Serializable, &quick_retries(), move |tx| {
                    let counter = counter.clone();
                    let insert = insert.clone();
                    async move {
                        let attempt = counter.fetch_add(1, Ordering::SeqCst) + 1;
                        tx.execute(&insert, &[attempt.into()]).await?;
                        if attempt == 1 {
                            return Err(StoreError::conflict("injected serialization failure"));
                        }
                        Ok(attempt)
                    }
                })
                .await
                .expect("the retried transaction succeeds");
            assert_eq!(result, 2, "the second attempt's value is returned");
            assert_eq!(calls.load(Ordering::SeqCst), 2, "the work ran twice");
            let found = rows(store, &format!("SELECT attempt FROM {table}"), &[]).await;
            assert_eq!(found.len(), 1, "the failed attempt was rolled back");
            assert_eq!(col(&found[0], "attempt"), &Value::from(2));
        },
    )
    .await;
}

/// Commits a transaction whose statement succeeded, or rolls it back, returning the outcome.
async fn finish(
    tx: Box<dyn crate::sql::SqlTransaction>,
    statement: crate::Result<u64>,
) -> crate::Result<()> {
    match statement {
        Ok(_) => tx.commit().await,
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// Two serializable transactions in a write skew: one commits, the other fails with a
/// retryable `Conflict` (SQLSTATE 40001). Needs
/// [`concurrent_transactions`](crate::sql::SqlCapabilities::concurrent_transactions).
pub async fn serialization_failure_is_conflict(factory: &SqlStoreFactory) {
    if opted_out(
        factory,
        "serialization_failure_is_conflict",
        &[("concurrent_transactions", |c| c.concurrent_transactions)],
    )
    .await
    {
        return;
    }
    scoped(
        factory,
        "serial",
        "k integer NOT NULL",
        |store, table| async move {
            let store: &dyn SqlStore = &*store;
            let read = format!("SELECT count(*) AS n FROM {table} WHERE k = 1");
            let insert = format!("INSERT INTO {table} (k) VALUES (1)");
            let mut first = store
                .begin(IsolationLevel::Serializable)
                .await
                .expect("begin first");
            let mut second = store
                .begin(IsolationLevel::Serializable)
                .await
                .expect("begin second");
            first.query(&read, &[]).await.expect("first reads");
            second.query(&read, &[]).await.expect("second reads");
            // Each inserts a row the other's read would have counted.
            let first_insert = first.execute(&insert, &[]).await;
            let second_insert = second.execute(&insert, &[]).await;
            let outcomes = [
                finish(first, first_insert).await,
                finish(second, second_insert).await,
            ];
            let failures: Vec<&StoreError> =
                outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
            assert_eq!(
                failures.len(),
                1,
                "exactly one transaction fails: {outcomes:?}"
            );
            assert_eq!(
                failures[0].kind(),
                ErrorKind::Conflict,
                "a serialization failure: {}",
                failures[0]
            );
            assert!(
                failures[0].is_retryable(),
                "a serialization failure is retryable"
            );
            assert_eq!(
                count(store, &table).await,
                1,
                "only the committed insert remains"
            );
        },
    )
    .await;
}

/// Each isolation level given to `begin` is the one the transaction runs at. Needs
/// [`isolation_levels`](crate::sql::SqlCapabilities::isolation_levels).
pub async fn isolation_levels_are_applied(factory: &SqlStoreFactory) {
    if opted_out(
        factory,
        "isolation_levels_are_applied",
        &[("isolation_levels", |c| c.isolation_levels)],
    )
    .await
    {
        return;
    }
    let store = factory().await;
    for (level, name) in [
        (IsolationLevel::ReadCommitted, "read committed"),
        (IsolationLevel::RepeatableRead, "repeatable read"),
        (IsolationLevel::Serializable, "serializable"),
    ] {
        let mut tx = store
            .begin(level)
            .await
            .unwrap_or_else(|e| panic!("begin {level:?}: {e}"));
        let found = tx
            .query(
                "SELECT current_setting('transaction_isolation') AS level",
                &[],
            )
            .await
            .unwrap_or_else(|e| panic!("query in a {level:?} transaction: {e}"));
        assert_eq!(
            col(&found[0], "level"),
            &Value::from(name),
            "isolation of {level:?}"
        );
        tx.rollback().await.expect("rollback");
    }
}
