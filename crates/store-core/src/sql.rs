//! [`SqlStore`]: a relational database reached through SQL text and [`Value`] parameters.
//!
//! Rows come back as [`Document`]s (column name → value), so any SQL backend — PostgreSQL
//! today, SQLite later — fits behind one dyn-compatible trait.

use std::fmt::Debug;

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use serde::de::DeserializeOwned;

use crate::error::{ErrorKind, Result, StoreError};
use crate::health::Health;
use crate::retry::RetryPolicy;
use crate::value::{Document, Value, from_document};

/// Transaction isolation levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    /// READ COMMITTED (PostgreSQL's default).
    #[default]
    ReadCommitted,
    /// REPEATABLE READ.
    RepeatableRead,
    /// SERIALIZABLE.
    Serializable,
}

/// A SQL database.
///
/// Parameters are positional (`$1`, `$2`, ... in PostgreSQL) and always bound, never spliced.
#[async_trait]
pub trait SqlStore: Health + Debug + Send + Sync {
    /// The backend's short name (`"postgres"`).
    fn backend(&self) -> &'static str;

    /// Runs a statement; returns the number of rows it affected.
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64>;

    /// Runs several statements separated by `;` without parameters (DDL, scripts).
    async fn batch_execute(&self, sql: &str) -> Result<()>;

    /// Runs a query and streams its rows, with bounded memory however many there are.
    fn query<'a>(&'a self, sql: &'a str, params: &'a [Value]) -> BoxStream<'a, Result<Document>>;

    /// Starts a transaction; it rolls back when dropped without [`SqlTransaction::commit`].
    async fn begin(&self, isolation: IsolationLevel) -> Result<Box<dyn SqlTransaction>>;
}

/// An open transaction. Dropping it without commit rolls it back.
#[async_trait]
pub trait SqlTransaction: Send {
    /// Runs a statement inside the transaction.
    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64>;

    /// Runs a query inside the transaction and collects its rows.
    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Document>>;

    /// Commits.
    async fn commit(self: Box<Self>) -> Result<()>;

    /// Rolls back.
    async fn rollback(self: Box<Self>) -> Result<()>;
}

/// Conveniences over [`SqlStore`], available on every store including `dyn SqlStore`.
#[async_trait]
pub trait SqlStoreExt: SqlStore {
    /// All rows of a query, collected.
    async fn query_all(&self, sql: &str, params: &[Value]) -> Result<Vec<Document>> {
        use futures::TryStreamExt;
        self.query(sql, params).try_collect().await
    }

    /// Exactly one row; none or several is an error (`NotFound` / `InvalidInput`).
    async fn query_one(&self, sql: &str, params: &[Value]) -> Result<Document> {
        let mut rows = self.query(sql, params);
        let first = rows
            .next()
            .await
            .transpose()?
            .ok_or_else(|| StoreError::not_found("the query returned no row"))?;
        if rows.next().await.transpose()?.is_some() {
            return Err(StoreError::invalid_input(
                "the query returned more than one row where one was expected",
            ));
        }
        Ok(first)
    }

    /// At most one row.
    async fn query_opt(&self, sql: &str, params: &[Value]) -> Result<Option<Document>> {
        match self.query_one(sql, params).await {
            Ok(row) => Ok(Some(row)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Rows deserialized into `T`.
    fn query_as<'a, T: DeserializeOwned + Send + 'a>(
        &'a self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxStream<'a, Result<T>> {
        self.query(sql, params)
            .map(|row| row.and_then(from_document))
            .boxed()
    }

    /// Runs `work` in a transaction: commits on `Ok`, rolls back on `Err` (and on panic, as the
    /// transaction is dropped), and runs it again from the start when it fails with a retryable
    /// error (serialization failure, deadlock), as `policy` allows.
    async fn transaction<T, F>(
        &self,
        isolation: IsolationLevel,
        policy: &RetryPolicy,
        mut work: F,
    ) -> Result<T>
    where
        T: Send,
        F: for<'t> FnMut(
                &'t mut Box<dyn SqlTransaction>,
            ) -> futures::future::BoxFuture<'t, Result<T>>
            + Send,
    {
        let mut attempt = 0u32;
        let started = tokio::time::Instant::now();
        loop {
            attempt += 1;
            let outcome = async {
                let mut tx = self.begin(isolation).await?;
                match work(&mut tx).await {
                    Ok(value) => {
                        tx.commit().await?;
                        Ok(value)
                    }
                    Err(e) => {
                        let _ = tx.rollback().await;
                        Err(e)
                    }
                }
            }
            .await;
            match outcome {
                Err(e) if e.is_retryable() => {
                    match policy.next_delay(attempt, started.elapsed(), &e) {
                        Some(delay) => tokio::time::sleep(delay).await,
                        None => return Err(e),
                    }
                }
                other => return other,
            }
        }
    }
}

impl<S: SqlStore + ?Sized> SqlStoreExt for S {}
