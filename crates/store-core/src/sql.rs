//! [`SqlStore`]: a relational database reached through SQL text and [`Value`] parameters.
//!
//! Rows come back as [`Document`]s (column name → value), so any SQL backend — PostgreSQL,
//! SQLite — fits behind one dyn-compatible trait. What a backend can do beyond the portable
//! core it declares in [`SqlCapabilities`].

mod capabilities;
mod handle;
pub mod json;
mod names;
mod sqlite;
mod upsert;

use std::fmt::Debug;
use std::future::Future;

use async_trait::async_trait;
use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::{BoxStream, StreamExt};
use serde::de::DeserializeOwned;

use crate::error::{ErrorKind, Result, StoreError};
use crate::health::Health;
use crate::retry::RetryPolicy;
use crate::value::{Document, Value, from_document};

pub use capabilities::SqlCapabilities;
pub use handle::Tx;
pub use names::{quote_ident, quote_ident_within, quote_qualified};
pub use sqlite::{
    SqliteAffinity, sqlite_affinity, sqlite_keeps_class, sqlite_listed_table, sqlite_real_like,
    sqlite_table_flag, sqlite_table_list,
};
pub use upsert::{BulkWrite, ParamMark, check_rows, check_upsert, plain_mark, upsert_statement};

/// Row `number` (from 1) of a result as a `T`; a mismatch names the row before the column.
fn typed_row<T: DeserializeOwned>(row: Document, number: usize) -> Result<T> {
    from_document(row)
        .map_err(|e| StoreError::new(e.kind(), format!("row {number}: {}", e.message())))
}

/// The one row of `rows`, if any; several is `InvalidInput`.
fn at_most_one(mut rows: Vec<Document>) -> Result<Option<Document>> {
    if rows.len() > 1 {
        return Err(StoreError::invalid_input(
            "the query returned more than one row where one was expected",
        ));
    }
    Ok(rows.pop())
}

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
    /// The backend's short name (`"postgres"`, `"sqlite"`).
    fn backend(&self) -> &'static str;

    /// What this backend can do beyond the portable core; only that, by default.
    fn capabilities(&self) -> SqlCapabilities {
        SqlCapabilities::none()
    }

    /// The longest identifier (table, column, alias) the engine keeps whole, in bytes;
    /// `None` when it keeps any length. PostgreSQL cuts longer names to 63 bytes without an
    /// error, which [`quote_identifier`](Self::quote_identifier) refuses instead.
    fn max_identifier_bytes(&self) -> Option<usize> {
        None
    }

    /// `name` quoted as an identifier for this engine (see [`quote_ident`]), refused with
    /// `InvalidInput` where the engine would not keep it as written: a NUL character, or
    /// more bytes than [`max_identifier_bytes`](Self::max_identifier_bytes).
    ///
    /// ```
    /// # async fn demo(store: &dyn store_core::SqlStore) -> store_core::Result<()> {
    /// let column = store.quote_identifier("order total")?;
    /// store.batch_execute(&format!("CREATE TABLE t ({column} numeric)")).await?;
    /// # Ok(()) }
    /// ```
    fn quote_identifier(&self, name: &str) -> Result<String> {
        quote_ident_within(name, self.max_identifier_bytes())
    }

    /// Runs a statement; returns the number of rows it affected.
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64>;

    /// Runs several statements separated by `;` without parameters (DDL, scripts).
    async fn batch_execute(&self, sql: &str) -> Result<()>;

    /// Runs a query and streams its rows, with bounded memory however many there are.
    fn query<'a>(&'a self, sql: &'a str, params: &'a [Value]) -> BoxStream<'a, Result<Document>>;

    /// Runs a query and collects its rows, at most `limit` of them (`None`: all): a query with
    /// more rows than `limit` is given up after them (meant for reads: a statement that writes
    /// and is given up may be rolled back), and `Some(0)` returns no row without running the
    /// query. One call, where [`query`](Self::query)
    /// is a stream: a backend overrides it with a path that skips the stream's machinery,
    /// and a layer sees it as one call it may time, retry (a plain `SELECT`) or send to a
    /// fallback. [`SqlStoreExt::query_all`], [`query_one`](SqlStoreExt::query_one) and
    /// [`query_opt`](SqlStoreExt::query_opt) go through it.
    ///
    /// ```no_run
    /// # async fn demo(store: &dyn store_core::SqlStore) -> store_core::Result<()> {
    /// let newest = store
    ///     .query_collect("SELECT id, total FROM orders ORDER BY placed DESC", &[], Some(10))
    ///     .await?;
    /// assert!(newest.len() <= 10);
    /// # Ok(()) }
    /// ```
    async fn query_collect(
        &self,
        sql: &str,
        params: &[Value],
        limit: Option<usize>,
    ) -> Result<Vec<Document>> {
        use futures::TryStreamExt;
        match limit {
            Some(0) => Ok(Vec::new()),
            Some(limit) => self.query(sql, params).take(limit).try_collect().await,
            None => self.query(sql, params).try_collect().await,
        }
    }

    /// Starts a transaction; it rolls back when dropped without [`SqlTransaction::commit`].
    async fn begin(&self, isolation: IsolationLevel) -> Result<Box<dyn SqlTransaction>>;

    /// Writes `rows` into `table` (optionally `schema.table`), all or nothing: each row's
    /// values fill `columns` in order, and a row whose `key` columns match a stored row
    /// replaces that row's other columns (`INSERT … ON CONFLICT (key) DO UPDATE`). Returns how
    /// many rows were written. Two rows of one call must not share a key. The rows are
    /// borrowed, so a layer that retries the call sends them again without copying them.
    ///
    /// The default is multi-row `INSERT` statements in one transaction; a backend with a
    /// faster bulk path overrides it (PostgreSQL: binary `COPY`, straight into the table while
    /// its keys are new, else into a staging table and one `INSERT … SELECT`). `InvalidInput` for an empty key, a key column not written, or a
    /// row of the wrong width.
    async fn upsert_rows(
        &self,
        table: &str,
        columns: &[String],
        key: &[String],
        rows: &[Vec<Value>],
    ) -> Result<u64> {
        upsert::write_in_one_transaction(self, table, columns, rows, BulkWrite::Upsert { key })
            .await
    }

    /// Appends `rows` to `table` (optionally `schema.table`), all or nothing: each row's
    /// values fill `columns` in order, and nothing stored is replaced. A row that breaks a
    /// unique constraint fails the call with `AlreadyExists` and none of the rows is stored;
    /// on a table without one, rows sent twice are stored twice. Returns how many rows were
    /// written. Not idempotent: a layer does not retry it.
    ///
    /// The default is multi-row `INSERT` statements in one transaction; PostgreSQL uses
    /// binary `COPY`. `InvalidInput` for no columns or a row of the wrong width.
    async fn insert_rows(
        &self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<u64> {
        upsert::write_in_one_transaction(self, table, columns, rows, BulkWrite::Insert).await
    }
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
    /// All rows of a query, collected ([`SqlStore::query_collect`] without a limit).
    fn query_all<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<Vec<Document>>> {
        // The store's own future, with nothing around it.
        self.query_collect(sql, params, None)
    }

    /// Exactly one row; none or several is an error (`NotFound` / `InvalidInput`). The query
    /// is given up at its second row, however many it would return.
    fn query_one<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [Value],
    ) -> impl Future<Output = Result<Document>> + Send + 'a {
        self.query_opt(sql, params)
            .map(|row| row?.ok_or_else(|| StoreError::not_found("the query returned no row")))
    }

    /// At most one row; several is an error (`InvalidInput`). The store's own errors come
    /// back as they are: a missing table is its error, never `None`.
    fn query_opt<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [Value],
    ) -> impl Future<Output = Result<Option<Document>>> + Send + 'a {
        // The store's future and a check, no box of their own.
        self.query_collect(sql, params, Some(2))
            .map(|rows| at_most_one(rows?))
    }

    /// Rows deserialized into `T` (serde, numbers exact). A row that does not fit is
    /// `InvalidInput` naming the row and the column: ``row 3: at `score`: invalid type:
    /// string "x", expected i32``; a column the type lacks is named by serde
    /// (``missing field `score` ``).
    ///
    /// ```no_run
    /// # async fn demo(store: &dyn store_core::SqlStore) -> store_core::Result<()> {
    /// use futures::TryStreamExt;
    /// use store_core::sql::SqlStoreExt;
    /// #[derive(serde::Deserialize)]
    /// struct Player { id: i64, name: String, score: Option<i32> }
    /// let players: Vec<Player> = store
    ///     .query_as("SELECT id, name, score FROM players WHERE score > $1", &[10.into()])
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    fn query_as<'a, T: DeserializeOwned + Send + 'a>(
        &'a self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxStream<'a, Result<T>> {
        self.query(sql, params)
            .enumerate()
            .map(|(n, row)| row.and_then(|row| typed_row(row, n + 1)))
            .boxed()
    }

    /// Exactly one row, deserialized into `T` (errors as [`query_one`](Self::query_one) and
    /// [`query_as`](Self::query_as)).
    async fn query_one_as<T: DeserializeOwned + Send>(
        &self,
        sql: &str,
        params: &[Value],
    ) -> Result<T> {
        typed_row(self.query_one(sql, params).await?, 1)
    }

    /// At most one row, deserialized into `T`.
    async fn query_opt_as<T: DeserializeOwned + Send>(
        &self,
        sql: &str,
        params: &[Value],
    ) -> Result<Option<T>> {
        match self.query_opt(sql, params).await? {
            Some(row) => typed_row(row, 1).map(Some),
            None => Ok(None),
        }
    }

    /// Runs `work` in a transaction: commits on `Ok`, rolls back on `Err` (and on panic, as the
    /// transaction is dropped), and runs it again from the start when it fails with a
    /// [`Conflict`](ErrorKind::Conflict) (serialization failure, deadlock), as `policy` allows.
    /// The work gets a [`Tx`] handle, so it is a plain closure returning an `async` block.
    ///
    /// A commit that fails for another reason (the connection dropped during `COMMIT`) is never
    /// retried: the transaction may have committed, and running the work again could apply it
    /// twice. That error comes back marked not retryable.
    ///
    /// ```no_run
    /// # async fn demo(store: &dyn store_core::SqlStore) -> store_core::Result<()> {
    /// use store_core::sql::{IsolationLevel, SqlStoreExt};
    /// use store_core::RetryPolicy;
    ///
    /// let moved = store
    ///     .transaction(IsolationLevel::Serializable, &RetryPolicy::default(), |tx| async move {
    ///         tx.execute("UPDATE accounts SET balance = balance - 50 WHERE id = $1", &[1.into()])
    ///             .await?;
    ///         tx.execute("UPDATE accounts SET balance = balance + 50 WHERE id = $1", &[2.into()])
    ///             .await
    ///     })
    ///     .await?;
    /// assert_eq!(moved, 1);
    /// # Ok(()) }
    /// ```
    async fn transaction<T, F, Fut>(
        &self,
        isolation: IsolationLevel,
        policy: &RetryPolicy,
        mut work: F,
    ) -> Result<T>
    where
        T: Send,
        F: FnMut(Tx) -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
    {
        let mut backoff = policy.start();
        loop {
            let outcome = async {
                let handle = Tx::new(self.begin(isolation).await?);
                let result = work(handle.clone()).await;
                let tx = handle
                    .take()
                    .await
                    .ok_or_else(|| StoreError::internal("the transaction vanished"))?;
                match result {
                    Ok(value) => match tx.commit().await {
                        Ok(()) => Ok(value),
                        // The server refused the commit and rolled back: safe to run again.
                        Err(e) if e.kind() == ErrorKind::Conflict => Err(e),
                        // Anything else (a connection lost during COMMIT) leaves the outcome
                        // unknown: running the work again could apply it twice.
                        Err(e) => Err(e.with_retryable(false)),
                    },
                    Err(e) => {
                        let _ = tx.rollback().await;
                        Err(e)
                    }
                }
            }
            .await;
            match outcome {
                Err(e) if e.kind() == ErrorKind::Conflict => match backoff.next_for(&e) {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => return Err(e),
                },
                other => return other,
            }
        }
    }
}

impl<S: SqlStore + ?Sized> SqlStoreExt for S {}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::health::HealthReport;

    /// A store whose transactions fail to commit with a chosen error a number of times.
    #[derive(Debug, Default)]
    struct FlakyCommits {
        commits: Arc<AtomicU32>,
        fail_commits_with: Option<ErrorKind>,
    }

    struct Tx {
        commits: Arc<AtomicU32>,
        fail_with: Option<ErrorKind>,
    }

    #[async_trait]
    impl SqlTransaction for Tx {
        async fn execute(&mut self, _sql: &str, _params: &[Value]) -> Result<u64> {
            Ok(1)
        }
        async fn query(&mut self, _sql: &str, _params: &[Value]) -> Result<Vec<Document>> {
            Ok(Vec::new())
        }
        async fn commit(self: Box<Self>) -> Result<()> {
            self.commits.fetch_add(1, Ordering::SeqCst);
            match self.fail_with {
                Some(kind) => Err(StoreError::new(kind, "commit failed")),
                None => Ok(()),
            }
        }
        async fn rollback(self: Box<Self>) -> Result<()> {
            Ok(())
        }
    }

    #[async_trait]
    impl Health for FlakyCommits {
        async fn health(&self) -> Result<HealthReport> {
            Ok(HealthReport {
                backend: "fake",
                latency: Duration::ZERO,
                detail: None,
            })
        }
    }

    #[async_trait]
    impl SqlStore for FlakyCommits {
        fn backend(&self) -> &'static str {
            "fake"
        }
        async fn execute(&self, _sql: &str, _params: &[Value]) -> Result<u64> {
            Ok(0)
        }
        async fn batch_execute(&self, _sql: &str) -> Result<()> {
            Ok(())
        }
        fn query<'a>(
            &'a self,
            _sql: &'a str,
            _params: &'a [Value],
        ) -> BoxStream<'a, Result<Document>> {
            futures::stream::empty().boxed()
        }
        async fn begin(&self, _isolation: IsolationLevel) -> Result<Box<dyn SqlTransaction>> {
            Ok(Box::new(Tx {
                commits: self.commits.clone(),
                fail_with: self.fail_commits_with,
            }))
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy::default().base_delay(Duration::from_millis(1))
    }

    #[tokio::test(start_paused = true)]
    async fn conflicts_in_the_work_are_retried() {
        let store = FlakyCommits::default();
        let runs = AtomicU32::new(0);
        let out = store
            .transaction(IsolationLevel::Serializable, &policy(), |_tx| {
                let n = runs.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 2 {
                        Err(StoreError::conflict("could not serialize access"))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(out.unwrap(), 2);
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(store.commits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_commit_with_unknown_outcome_is_never_run_again() {
        let store = FlakyCommits {
            fail_commits_with: Some(ErrorKind::Unavailable),
            ..FlakyCommits::default()
        };
        let runs = AtomicU32::new(0);
        let out = store
            .transaction(IsolationLevel::ReadCommitted, &policy(), |_tx| {
                runs.fetch_add(1, Ordering::SeqCst);
                async { Ok(()) }
            })
            .await;
        let err = out.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(
            !err.is_retryable(),
            "an ambiguous commit must not look retryable"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(store.commits.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn capabilities_default_to_the_portable_core_and_forward_through_wrappers() {
        let store = FlakyCommits::default();
        assert_eq!(store.capabilities(), SqlCapabilities::none());
        assert_eq!(SqlCapabilities::default(), SqlCapabilities::none());
        struct Everything(FlakyCommits);
        impl std::fmt::Debug for Everything {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("Everything")
            }
        }
        #[async_trait]
        impl Health for Everything {
            async fn health(&self) -> Result<HealthReport> {
                self.0.health().await
            }
        }
        #[async_trait]
        impl SqlStore for Everything {
            fn backend(&self) -> &'static str {
                "everything"
            }
            fn capabilities(&self) -> SqlCapabilities {
                SqlCapabilities::all()
            }
            async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
                self.0.execute(sql, params).await
            }
            async fn batch_execute(&self, sql: &str) -> Result<()> {
                self.0.batch_execute(sql).await
            }
            fn query<'a>(
                &'a self,
                sql: &'a str,
                params: &'a [Value],
            ) -> BoxStream<'a, Result<Document>> {
                self.0.query(sql, params)
            }
            async fn begin(&self, isolation: IsolationLevel) -> Result<Box<dyn SqlTransaction>> {
                self.0.begin(isolation).await
            }
        }
        let shared: Arc<dyn SqlStore> = Arc::new(Everything(FlakyCommits::default()));
        assert_eq!(shared.capabilities(), SqlCapabilities::all());
        let boxed: Box<Arc<dyn SqlStore>> = Box::new(shared);
        assert!(boxed.capabilities().concurrent_transactions);
    }

    #[tokio::test(start_paused = true)]
    async fn other_retryable_errors_in_the_work_are_not_retried_by_the_transaction() {
        let store = FlakyCommits::default();
        let runs = AtomicU32::new(0);
        let out: Result<()> = store
            .transaction(IsolationLevel::ReadCommitted, &policy(), |_tx| {
                runs.fetch_add(1, Ordering::SeqCst);
                async { Err(StoreError::unavailable("connection lost mid-work")) }
            })
            .await;
        assert_eq!(out.unwrap_err().kind(), ErrorKind::Unavailable);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
