//! [`PgStore`]: the [`SqlStore`] on a deadpool pool of tokio-postgres connections.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Status};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use store_core::sql::{IsolationLevel, SqlStore, SqlTransaction};
use store_core::{Document, Health, HealthReport, Result, StoreError, Value};
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;
use tracing::Instrument;

use crate::codec;
use crate::config::PgConfig;
use crate::error::{BACKEND, map_pg, map_pool};

/// A PostgreSQL database behind a connection pool, as a [`SqlStore`].
///
/// Cheap to clone (the pool is shared). Statements are prepared once per connection and
/// cached; parameters are [`Value`]s encoded by the type the server infers for each `$n`, or
/// native [`ToSql`] values through [`execute_params`](Self::execute_params) and
/// [`query_params`](Self::query_params).
///
/// ```no_run
/// # async fn demo() -> store_core::Result<()> {
/// use store_core::{SqlStore, SqlStoreExt, Value};
/// use store_rds::{PgConfig, PgStore};
///
/// let store = PgStore::new(PgConfig::from_url("postgres://app@localhost/app")?)?;
/// store.batch_execute("CREATE TABLE IF NOT EXISTS users (id bigint PRIMARY KEY, name text)").await?;
/// store.execute("INSERT INTO users VALUES ($1, $2)", &[1.into(), "ada".into()]).await?;
/// let row = store.query_one("SELECT name FROM users WHERE id = $1", &[1.into()]).await?;
/// assert_eq!(row.get("name"), Some(&Value::from("ada")));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    config: Arc<PgConfig>,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("config", &self.config)
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PgStore {
    /// Builds the pool. No connection is opened until the first operation.
    pub fn new(config: PgConfig) -> Result<Self> {
        let mut pg = config.pg.clone();
        if let Some(timeout) = config.statement_timeout {
            let option = format!("-c statement_timeout={}", timeout.as_millis());
            let options = match pg.get_options() {
                Some(existing) => format!("{existing} {option}"),
                None => option,
            };
            pg.options(&options);
        }
        let manager_config = ManagerConfig {
            recycling_method: if config.verify_on_checkout {
                RecyclingMethod::Verified
            } else {
                RecyclingMethod::Fast
            },
        };
        let manager = make_manager(pg, manager_config)?;
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .wait_timeout(Some(config.wait_timeout))
            .create_timeout(Some(config.create_timeout))
            .recycle_timeout(Some(config.recycle_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| {
                StoreError::invalid_input(format!("building the connection pool: {e}"))
                    .with_source(e)
                    .in_context(BACKEND, "connect")
            })?;
        Ok(Self {
            pool,
            config: Arc::new(config),
        })
    }

    /// [`new`](Self::new) from a `postgres://` URL.
    pub fn from_url(url: &str) -> Result<Self> {
        Self::new(PgConfig::from_url(url)?)
    }

    /// The settings this store was built with.
    pub fn config(&self) -> &PgConfig {
        &self.config
    }

    /// The pool, for direct use (the native escape hatch).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// A pooled native client (`Deref`s to [`tokio_postgres::Client`]); it returns to the
    /// pool when dropped.
    pub async fn client(&self) -> Result<Object> {
        self.conn("client").await
    }

    /// The pool's state: its size, idle connections and waiting callers.
    pub fn pool_status(&self) -> Status {
        self.pool.status()
    }

    pub(crate) async fn conn(&self, operation: &'static str) -> Result<Object> {
        self.pool
            .get()
            .await
            .map_err(|e| map_pool(e, self.pool.status(), operation))
    }

    /// Runs a statement with native [`ToSql`] parameters.
    pub async fn execute_params(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let span = op_span("execute", sql);
        async {
            let conn = self.conn("execute").await?;
            let stmt = prepare(&conn, sql, "execute").await?;
            conn.execute(&stmt, params)
                .await
                .map_err(|e| map_pg(e, "execute"))
        }
        .instrument(span)
        .await
    }

    /// Runs a query with native [`ToSql`] parameters and collects its rows as documents.
    pub async fn query_params(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Document>> {
        let span = op_span("query", sql);
        async {
            let conn = self.conn("query").await?;
            let stmt = prepare(&conn, sql, "query").await?;
            let rows = conn
                .query(&stmt, params)
                .await
                .map_err(|e| map_pg(e, "query"))?;
            rows.iter()
                .map(|r| codec::row_to_document(r).map_err(|e| e.in_context(BACKEND, "query")))
                .collect()
        }
        .instrument(span)
        .await
    }
}

#[cfg(feature = "tls")]
fn make_manager(pg: tokio_postgres::Config, config: ManagerConfig) -> Result<Manager> {
    use tokio_postgres::config::SslMode;
    if pg.get_ssl_mode() == SslMode::Disable {
        return Ok(Manager::from_config(pg, tokio_postgres::NoTls, config));
    }
    let tls = tokio_postgres_rustls::MakeRustlsConnect::with_webpki_roots();
    Ok(Manager::from_config(pg, tls, config))
}

#[cfg(not(feature = "tls"))]
fn make_manager(pg: tokio_postgres::Config, config: ManagerConfig) -> Result<Manager> {
    use tokio_postgres::config::SslMode;
    if pg.get_ssl_mode() == SslMode::Require {
        return Err(
            StoreError::invalid_input("sslmode=require needs store-rds's feature `tls`")
                .in_context(BACKEND, "connect"),
        );
    }
    Ok(Manager::from_config(pg, tokio_postgres::NoTls, config))
}

/// The first 200 characters of a statement, for spans.
fn statement_summary(sql: &str) -> &str {
    match sql.char_indices().nth(200) {
        Some((i, _)) => &sql[..i],
        None => sql,
    }
}

pub(crate) fn op_span(operation: &'static str, sql: &str) -> tracing::Span {
    tracing::debug_span!(
        "store",
        backend = BACKEND,
        operation,
        statement = statement_summary(sql),
        rows = tracing::field::Empty,
    )
}

/// Prepares through the connection's statement cache.
pub(crate) async fn prepare(
    conn: &Object,
    sql: &str,
    operation: &'static str,
) -> Result<Statement> {
    conn.prepare_cached(sql)
        .await
        .map_err(|e| map_pg(e, operation))
}

/// Whether `e` is PostgreSQL refusing a cached plan whose result type changed under it (the
/// table was altered since the statement was prepared and cached).
fn stale_plan(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        db.code() == &tokio_postgres::error::SqlState::FEATURE_NOT_SUPPORTED
            && db
                .message()
                .contains("cached plan must not change result type")
    })
}

/// Runs `sql` outside a transaction, preparing it again once if its cached plan went stale.
async fn execute_autocommit(
    conn: &Object,
    sql: &str,
    params: &[Value],
    operation: &'static str,
) -> Result<u64> {
    let stmt = prepare(conn, sql, operation).await?;
    let outcome = match conn.execute_raw(&stmt, codec::params(params)).await {
        Err(e) if stale_plan(&e) => {
            conn.statement_cache.remove(sql, &[]);
            let stmt = prepare(conn, sql, operation).await?;
            conn.execute_raw(&stmt, codec::params(params)).await
        }
        other => other,
    };
    let n = outcome.map_err(|e| map_pg(e, operation))?;
    tracing::Span::current().record("rows", n);
    Ok(n)
}

async fn execute_on(
    conn: &Object,
    sql: &str,
    params: &[Value],
    operation: &'static str,
) -> Result<u64> {
    let stmt = prepare(conn, sql, operation).await?;
    let n = conn
        .execute_raw(&stmt, codec::params(params))
        .await
        .map_err(|e| map_pg(e, operation))?;
    tracing::Span::current().record("rows", n);
    Ok(n)
}

async fn query_all_on(
    conn: &Object,
    sql: &str,
    params: &[Value],
    operation: &'static str,
) -> Result<Vec<Document>> {
    let stmt = prepare(conn, sql, operation).await?;
    let rows: Vec<_> = conn
        .query_raw(&stmt, codec::params(params))
        .await
        .map_err(|e| map_pg(e, operation))?
        .try_collect()
        .await
        .map_err(|e| map_pg(e, operation))?;
    tracing::Span::current().record("rows", rows.len());
    rows.iter()
        .map(|r| codec::row_to_document(r).map_err(|e| e.in_context(BACKEND, operation)))
        .collect()
}

#[async_trait]
impl SqlStore for PgStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        let span = op_span("execute", sql);
        async {
            let conn = self.conn("execute").await?;
            execute_autocommit(&conn, sql, params, "execute").await
        }
        .instrument(span)
        .await
    }

    async fn batch_execute(&self, sql: &str) -> Result<()> {
        let span = op_span("batch_execute", sql);
        async {
            let conn = self.conn("batch_execute").await?;
            // A multi-statement simple query runs as one implicit transaction.
            conn.batch_execute(sql)
                .await
                .map_err(|e| map_pg(e, "batch_execute"))
        }
        .instrument(span)
        .await
    }

    fn query<'a>(&'a self, sql: &'a str, params: &'a [Value]) -> BoxStream<'a, Result<Document>> {
        let span = op_span("query", sql);
        let start = async move {
            let conn = self.conn("query").await?;
            let stmt = prepare(&conn, sql, "query").await?;
            // Rows arrive through a bounded channel, so memory stays bounded however many
            // there are; the connection is held until the stream ends or is dropped.
            let rows = match conn.query_raw(&stmt, codec::params(params)).await {
                Err(e) if stale_plan(&e) => {
                    conn.statement_cache.remove(sql, &[]);
                    let stmt = prepare(&conn, sql, "query").await?;
                    conn.query_raw(&stmt, codec::params(params)).await
                }
                other => other,
            }
            .map_err(|e| map_pg(e, "query"))?;
            Ok::<_, StoreError>(rows.map(move |row| {
                let _held = &conn;
                row.map_err(|e| map_pg(e, "query")).and_then(|row| {
                    codec::row_to_document(&row).map_err(|e| e.in_context(BACKEND, "query"))
                })
            }))
        }
        .instrument(span);
        stream::once(start).try_flatten().boxed()
    }

    async fn begin(&self, isolation: IsolationLevel) -> Result<Box<dyn SqlTransaction>> {
        let span = op_span("begin", "BEGIN");
        async {
            let conn = self.conn("begin").await?;
            let begin = match isolation {
                IsolationLevel::ReadCommitted => "BEGIN ISOLATION LEVEL READ COMMITTED",
                IsolationLevel::RepeatableRead => "BEGIN ISOLATION LEVEL REPEATABLE READ",
                IsolationLevel::Serializable => "BEGIN ISOLATION LEVEL SERIALIZABLE",
            };
            conn.batch_execute(begin)
                .await
                .map_err(|e| map_pg(e, "begin"))?;
            Ok(Box::new(PgTransaction {
                conn: Some(conn),
                failed: false,
            }) as Box<dyn SqlTransaction>)
        }
        .instrument(span)
        .await
    }
}

#[async_trait]
impl Health for PgStore {
    async fn health(&self) -> Result<HealthReport> {
        let started = Instant::now();
        let conn = self.conn("health").await?;
        let messages = conn
            .simple_query("SELECT current_setting('server_version')")
            .await
            .map_err(|e| map_pg(e, "health"))?;
        let latency = started.elapsed();
        let version = messages.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        });
        let status = self.pool.status();
        Ok(HealthReport {
            backend: BACKEND,
            latency,
            detail: Some(format!(
                "PostgreSQL {}; pool {}/{} open, {} idle",
                version.as_deref().unwrap_or("?"),
                status.size,
                status.max_size,
                status.available
            )),
        })
    }
}

/// An open transaction on one pooled connection.
///
/// Dropped without [`commit`](SqlTransaction::commit) or
/// [`rollback`](SqlTransaction::rollback) (including while a panic unwinds), it is rolled back
/// before its connection returns to the pool; with no runtime left to do that, the connection
/// is closed instead, which makes the server roll back.
pub struct PgTransaction {
    conn: Option<Object>,
    failed: bool,
}

impl fmt::Debug for PgTransaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTransaction")
            .field("open", &self.conn.is_some())
            .field("failed", &self.failed)
            .finish()
    }
}

impl PgTransaction {
    fn conn(&self, operation: &'static str) -> Result<&Object> {
        self.conn.as_ref().ok_or_else(|| {
            StoreError::invalid_input("the transaction is already finished")
                .in_context(BACKEND, operation)
        })
    }

    /// The transaction's native client, for statements the trait does not cover.
    pub fn client(&self) -> Option<&tokio_postgres::Client> {
        self.conn.as_deref().map(|w| &**w)
    }

    fn note<T>(&mut self, result: Result<T>) -> Result<T> {
        if result.is_err() {
            self.failed = true;
        }
        result
    }
}

impl Drop for PgTransaction {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => {
                    handle.spawn(async move {
                        if conn.batch_execute("ROLLBACK").await.is_err() {
                            // Never hand a connection of unknown state back to the pool.
                            drop(Object::take(conn));
                        }
                    });
                }
                Err(_) => drop(Object::take(conn)),
            }
        }
    }
}

#[async_trait]
impl SqlTransaction for PgTransaction {
    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let span = op_span("transaction.execute", sql);
        let result = async {
            let conn = self.conn("transaction.execute")?;
            execute_on(conn, sql, params, "transaction.execute").await
        }
        .instrument(span)
        .await;
        self.note(result)
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Document>> {
        let span = op_span("transaction.query", sql);
        let result = async {
            let conn = self.conn("transaction.query")?;
            query_all_on(conn, sql, params, "transaction.query").await
        }
        .instrument(span)
        .await;
        self.note(result)
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let span = op_span("commit", "COMMIT");
        let failed = self.failed;
        let conn = self.conn.take().ok_or_else(|| {
            StoreError::invalid_input("the transaction is already finished")
                .in_context(BACKEND, "commit")
        })?;
        async move {
            if failed {
                // PostgreSQL answers COMMIT of a failed transaction with a silent rollback;
                // say so instead of pretending the work was saved.
                let _ = conn.batch_execute("ROLLBACK").await;
                return Err(StoreError::invalid_input(
                    "a statement of this transaction failed, so it was rolled back, not committed",
                )
                .in_context(BACKEND, "commit"));
            }
            match conn.batch_execute("COMMIT").await {
                Ok(()) => Ok(()),
                Err(e) => {
                    let err = map_pg(e, "commit");
                    if conn.is_closed() {
                        drop(Object::take(conn));
                    }
                    Err(err)
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn rollback(mut self: Box<Self>) -> Result<()> {
        let span = op_span("rollback", "ROLLBACK");
        let conn = self.conn.take().ok_or_else(|| {
            StoreError::invalid_input("the transaction is already finished")
                .in_context(BACKEND, "rollback")
        })?;
        async move {
            conn.batch_execute("ROLLBACK").await.map_err(|e| {
                let err = map_pg(e, "rollback");
                drop(Object::take(conn));
                err
            })
        }
        .instrument(span)
        .await
    }
}
