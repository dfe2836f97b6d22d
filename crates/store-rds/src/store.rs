//! [`PgStore`]: the [`SqlStore`] on a deadpool pool of tokio-postgres connections.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, QueueMode, RecyclingMethod, Runtime, Status,
    TimeoutType, Timeouts,
};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use store_core::sql::{IsolationLevel, SqlCapabilities, SqlStore, SqlTransaction};
use store_core::{Document, Health, HealthReport, Result, StoreError, Value};
use tokio_postgres::types::ToSql;
use tokio_postgres::{RowStream, Statement};

use crate::cancel::{Guarded, GuardedRows, limited, timed_out, within};
use crate::checkout::{self, Drivers};
use crate::codec;
use crate::config::PgConfig;
use crate::error::{BACKEND, map_pg, map_pool};
use crate::password::{Opener, SharedSource};
use crate::tls::Connector;
use crate::transaction::PgTransaction;
use crate::upsert::UpsertRoutes;

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
/// let store = PgConfig::from_url("postgres://app@localhost/app")?.pool_size(8).build()?;
/// store.batch_execute("CREATE TABLE IF NOT EXISTS users (id bigint PRIMARY KEY, name text)").await?;
/// store.execute("INSERT INTO users VALUES ($1, $2)", &[1.into(), "ada".into()]).await?;
/// let row = store.query_one("SELECT name FROM users WHERE id = $1", &[1.into()]).await?;
/// assert_eq!(row.get("name"), Some(&Value::from("ada")));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// The settings the pool was built from; `None` for a pool the user built.
    config: Option<Arc<PgConfig>>,
    /// How connections are opened (plaintext for a pool the user built).
    pub(crate) connector: Connector,
    /// The client-side limit on each statement.
    query_timeout: Option<Duration>,
    /// Where new connections' passwords come from, when they change over time.
    pub(crate) password_source: Option<SharedSource>,
    /// How each table's upserts go (see `upsert.rs`).
    pub(crate) routes: UpsertRoutes,
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
    /// A builder: connection and pool settings, from defaults (`localhost:5432`), to be
    /// finished with [`PgConfig::build`]. [`PgConfig::from_url`] and [`PgConfig::from_env`]
    /// start a builder from a URL or the environment instead.
    ///
    /// ```no_run
    /// # fn demo() -> store_core::Result<()> {
    /// use std::time::Duration;
    /// let store = store_rds::PgStore::builder()
    ///     .host("db.internal")
    ///     .user("app")
    ///     .dbname("orders")
    ///     .pool_size(8)
    ///     .statement_timeout(Duration::from_secs(30))
    ///     .build()?;
    /// # let _ = store; Ok(()) }
    /// ```
    pub fn builder() -> PgConfig {
        PgConfig::new()
    }

    /// A store from libpq's environment variables (`DATABASE_URL`, or `PGHOST`, `PGPORT`,
    /// `PGUSER`, `PGPASSWORD`, `PGDATABASE`...), as [`PgConfig::from_env`] reads them.
    pub fn from_env() -> Result<Self> {
        PgConfig::from_env()?.build()
    }

    /// A store on a deadpool pool you built and configured yourself.
    pub fn from_client(pool: Pool) -> Self {
        Self {
            pool,
            config: None,
            connector: Connector::Plain,
            query_timeout: None,
            password_source: None,
            routes: UpsertRoutes::default(),
        }
    }

    /// Builds the pool from `config`. No connection is opened until the first operation.
    pub(crate) fn with_config(config: PgConfig) -> Result<Self> {
        let connect = |e: StoreError| e.in_context(BACKEND, "connect");
        config.tls.validate().map_err(connect)?;
        let connector = Connector::for_settings(&config.tls).map_err(connect)?;
        let password_source = config.resolved_password_source().map_err(connect)?;
        let mut pg = config.pg.clone();
        pg.ssl_mode(config.tls.mode().driver());
        if let Some(timeout) = config.statement_timeout {
            let option = format!("-c statement_timeout={}", timeout.as_millis());
            let options = match pg.get_options() {
                Some(existing) => format!("{existing} {option}"),
                None => option,
            };
            pg.options(&options);
        }
        // Checkouts never pay a round trip for a connection in steady use: `Fast` replaces
        // only connections known closed; the hook verifies those unused for a while or
        // driven by another runtime (see `checkout`).
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let connect_with = Opener {
            connector: connector.clone(),
            source: password_source.clone(),
        };
        let manager = Manager::from_connect(pg, connect_with, manager_config);
        let mut pool = Pool::builder(manager);
        if config.verify_on_checkout {
            let drivers = Drivers::default();
            pool = pool
                .post_create(checkout::record_driver(drivers.clone()))
                .pre_recycle(checkout::verify(
                    drivers,
                    config.verify_after_idle,
                    config.recycle_timeout,
                ));
        }
        // Last in, first out: a task gets back the connection it just returned, warm on its
        // worker thread, and connections beyond the load age into the idle check.
        let pool = pool
            .queue_mode(QueueMode::Lifo)
            .max_size(config.pool_size)
            .wait_timeout(Some(config.wait_timeout))
            .create_timeout(Some(config.create_timeout))
            // `Fast` recycling never waits, and the checkout hook bounds its own check by
            // the recycle timeout: no timer wraps the recycling itself.
            .recycle_timeout(None)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| {
                StoreError::invalid_input(format!("building the connection pool: {e}"))
                    .with_source(e)
                    .in_context(BACKEND, "connect")
            })?;
        Ok(Self {
            pool,
            query_timeout: config.query_timeout,
            config: Some(Arc::new(config)),
            connector,
            password_source,
            routes: UpsertRoutes::default(),
        })
    }

    /// A store from a `postgres://` URL with this crate's defaults for everything else.
    pub fn from_url(url: &str) -> Result<Self> {
        PgConfig::from_url(url)?.build()
    }

    /// The settings this store was built with (`None` for a pool given to
    /// [`from_client`](Self::from_client)).
    pub fn config(&self) -> Option<&PgConfig> {
        self.config.as_deref()
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
        // A free connection is taken without arming the wait timer (a timer per checkout is
        // a measurable share of a point select); only a caller that must queue waits with it.
        let free = Timeouts {
            wait: Some(Duration::ZERO),
            ..self.pool.timeouts()
        };
        let got = match self.pool.timeout_get(&free).await {
            Err(PoolError::Timeout(TimeoutType::Wait)) => self.pool.get().await,
            other => other,
        };
        got.map_err(|e| {
            // A connection that failed for want of a password fails for the source's reason.
            let source_failure = match &e {
                PoolError::Backend(_) => {
                    self.password_source.as_ref().and_then(|s| s.last_failure())
                }
                _ => None,
            };
            match source_failure {
                Some(failure) => failure.in_context(BACKEND, operation),
                None => map_pool(e, self.pool.status(), operation),
            }
        })
    }

    /// This store with another client-side limit on each statement (`None`: no limit),
    /// sharing its pool: the per-call form of [`PgConfig::query_timeout`].
    ///
    /// ```no_run
    /// # async fn demo(store: &store_rds::PgStore) -> store_core::Result<()> {
    /// use std::time::Duration;
    /// use store_core::SqlStore;
    /// let report = store.with_query_timeout(Some(Duration::from_secs(30)));
    /// report.execute("REFRESH MATERIALIZED VIEW sales_by_day", &[]).await?;
    /// # Ok(()) }
    /// ```
    pub fn with_query_timeout(&self, limit: Option<Duration>) -> Self {
        Self {
            query_timeout: limit,
            ..self.clone()
        }
    }

    /// The client-side limit on each statement, if any.
    pub fn query_timeout(&self) -> Option<Duration> {
        self.query_timeout
    }

    /// A pooled connection for one statement, cancelled on the server if given up.
    pub(crate) async fn guarded(&self, operation: &'static str) -> Result<Guarded> {
        Ok(Guarded::new(self.conn(operation).await?, &self.connector))
    }

    /// Runs one statement on a guarded connection within the store's time limit; the
    /// connection goes back to the pool once the statement is over, done or failed.
    async fn statement<T>(
        &self,
        operation: &'static str,
        run: impl AsyncFnOnce(&Object) -> Result<T>,
    ) -> Result<T> {
        let conn = self.guarded(operation).await?;
        within(self.query_timeout, operation, async move {
            let outcome = run(&conn).await;
            conn.release();
            outcome
        })
        .await
    }

    /// Runs a statement with native [`ToSql`] parameters.
    pub async fn execute_params(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        self.statement("execute", async |conn| {
            let stmt = prepare(conn, sql, "execute").await?;
            conn.execute(&stmt, params)
                .await
                .map_err(|e| map_pg(e, "execute"))
        })
        .await
    }

    /// Runs a query with native [`ToSql`] parameters and collects its rows as documents.
    pub async fn query_params(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Document>> {
        let rows = self
            .statement("query", async |conn| {
                let stmt = prepare(conn, sql, "query").await?;
                conn.query(&stmt, params)
                    .await
                    .map_err(|e| map_pg(e, "query"))
            })
            .await?;
        rows.iter()
            .map(|r| codec::row_to_document(r).map_err(|e| e.in_context(BACKEND, "query")))
            .collect()
    }
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

/// Starts `sql` on `conn`, preparing it again once if its cached plan went stale.
async fn start_query(conn: &Object, sql: &str, params: &[Value]) -> Result<RowStream> {
    let stmt = prepare(conn, sql, "query").await?;
    match conn.query_raw(&stmt, codec::params(params)).await {
        Err(e) if stale_plan(&e) => {
            conn.statement_cache.remove(sql, &[]);
            let stmt = prepare(conn, sql, "query").await?;
            conn.query_raw(&stmt, codec::params(params)).await
        }
        other => other,
    }
    .map_err(|e| map_pg(e, "query"))
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
    Ok(n)
}

pub(crate) async fn execute_on(
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
    Ok(n)
}

pub(crate) async fn query_all_on(
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
    rows.iter()
        .map(|r| codec::row_to_document(r).map_err(|e| e.in_context(BACKEND, operation)))
        .collect()
}

#[async_trait]
impl SqlStore for PgStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    /// Everything: PostgreSQL is the dialect the conformance suite's capabilities describe.
    fn capabilities(&self) -> SqlCapabilities {
        SqlCapabilities::all()
    }

    /// 63: PostgreSQL's `NAMEDATALEN - 1`; it cuts longer names without an error.
    fn max_identifier_bytes(&self) -> Option<usize> {
        Some(63)
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.statement("execute", async |conn| {
            execute_autocommit(conn, sql, params, "execute").await
        })
        .await
    }

    async fn batch_execute(&self, sql: &str) -> Result<()> {
        // A multi-statement simple query runs as one implicit transaction.
        self.statement("batch_execute", async |conn| {
            conn.batch_execute(sql)
                .await
                .map_err(|e| map_pg(e, "batch_execute"))
        })
        .await
    }

    fn query<'a>(&'a self, sql: &'a str, params: &'a [Value]) -> BoxStream<'a, Result<Document>> {
        let start = async move {
            let conn = self.guarded("query").await?;
            // The limit bounds the wait for the server's first answer; rows arrive through a
            // bounded channel, so memory stays bounded however many there are. The connection
            // is held until the rows end; a stream dropped before cancels the query.
            let rows = limited(self.query_timeout, start_query(&conn, sql, params)).await;
            let rows = match rows {
                Ok(Ok(rows)) => rows,
                Ok(Err(e)) => {
                    conn.release();
                    return Err(e);
                }
                // `conn` is dropped unreleased, which cancels the query.
                Err(limit) => return Err(timed_out("query", limit)),
            };
            Ok::<_, StoreError>(GuardedRows::new(rows, conn).map(|row| {
                row.map_err(|e| map_pg(e, "query")).and_then(|row| {
                    codec::row_to_document(&row).map_err(|e| e.in_context(BACKEND, "query"))
                })
            }))
        };
        stream::once(start).try_flatten().boxed()
    }

    /// The rows collected straight from the connection, without the stream: the store's time
    /// limit bounds the whole call (as in [`PgStore::query_params`]). A query given up (the
    /// time limit, a row beyond `limit`, a row that does not decode, a broken connection) is
    /// cancelled on the server and its connection closed; one that ended, or that the server
    /// ended with an error, leaves its connection to the pool. Stopping a long answer early
    /// costs a cancel request and a new connection: put a `LIMIT` in the SQL to want few rows
    /// of many.
    async fn query_collect(
        &self,
        sql: &str,
        params: &[Value],
        limit: Option<usize>,
    ) -> Result<Vec<Document>> {
        if limit == Some(0) {
            return Ok(Vec::new());
        }
        let conn = self.guarded("query").await?;
        within(self.query_timeout, "query", async move {
            let rows = match start_query(&conn, sql, params).await {
                Ok(rows) => rows,
                Err(e) => {
                    conn.release();
                    return Err(e);
                }
            };
            let mut rows = std::pin::pin!(rows);
            // A point query's row costs no regrowth; a long answer grows as it comes.
            let mut collected = Vec::with_capacity(limit.map_or(0, |limit| limit.min(16)));
            loop {
                let row = match rows.next().await {
                    None => {
                        conn.release();
                        return Ok(collected);
                    }
                    Some(Ok(row)) => row,
                    Some(Err(e)) => {
                        // The server's error ends its query; any other (a broken
                        // connection, a message the client could not read) leaves the
                        // connection's state unknown: dropped unreleased, it is closed.
                        if e.as_db_error().is_some() {
                            conn.release();
                        }
                        return Err(map_pg(e, "query"));
                    }
                };
                if limit.is_some_and(|limit| collected.len() >= limit) {
                    // A row beyond the limit: the rest of the query is cancelled (`conn`
                    // dropped unreleased).
                    return Ok(collected);
                }
                collected.push(
                    codec::row_to_document(&row).map_err(|e| e.in_context(BACKEND, "query"))?,
                );
            }
        })
        .await
    }

    /// Binary `COPY` straight into the table while its keys are new, else into a staging
    /// table and one `INSERT … SELECT … ON CONFLICT`, in one transaction (see `upsert.rs`, and
    /// [`PgStore::copy_in`] for how values are encoded).
    async fn upsert_rows(
        &self,
        table: &str,
        columns: &[String],
        key: &[String],
        rows: &[Vec<Value>],
    ) -> Result<u64> {
        self.copy_upsert(table, columns, key, rows).await
    }

    /// One binary `COPY` (see [`PgStore::copy_in`] for how values are encoded).
    async fn insert_rows(
        &self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<u64> {
        self.copy_insert(table, columns, rows).await
    }

    async fn begin(&self, isolation: IsolationLevel) -> Result<Box<dyn SqlTransaction>> {
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
            let transaction =
                PgTransaction::begun(conn, self.connector.clone(), self.query_timeout);
            Ok(Box::new(transaction) as Box<dyn SqlTransaction>)
        }
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
