//! [`SqliteStore`]: the [`SqlStore`] on one writer connection and a pool of readers.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use futures::stream::{self as futures_stream, BoxStream, StreamExt, TryStreamExt};
use rusqlite::Connection;
use store_core::sql::{BulkWrite, IsolationLevel, SqlCapabilities, SqlStore, SqlTransaction};
use store_core::{Document, Health, HealthReport, Result, StoreError, Value};

use crate::config::SqliteConfig;
use crate::conn::{OpenSpec, open_writer, prepare_writer};
use crate::error::{BACKEND, map_sqlite};
use crate::exec;
use crate::readers::Readers;
use crate::stream;
use crate::transaction::SqliteTransaction;
use crate::untyped;
use crate::writer::{Writer, WriterGuard};

/// A SQLite database as a [`SqlStore`].
///
/// Cheap to clone (clones share the connections). Writes go to one writer connection owned
/// by a dedicated thread; read-only queries go to a pool of reader connections that read in
/// parallel under write-ahead logging; no call blocks the async runtime. Statements take
/// PostgreSQL's `$1, $2, …` placeholders (rewritten to SQLite's `?1, ?2, …`) and are
/// prepared once per connection and cached.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use store_core::{SqlStore, SqlStoreExt, Value};
/// use store_rusqlite::SqliteStore;
///
/// let store = SqliteStore::memory().await?;
/// store.batch_execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)").await?;
/// store.execute("INSERT INTO users VALUES ($1, $2)", &[1.into(), "ada".into()]).await?;
/// let row = store.query_one("SELECT name FROM users WHERE id = $1", &[1.into()]).await?;
/// assert_eq!(row.get("name"), Some(&Value::from("ada")));
/// # Ok::<_, store_core::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    config: SqliteConfig,
    writer: Arc<Writer>,
    readers: Option<Arc<Readers>>,
    /// One writing process per file (`None` in memory and read-only).
    _writer_lock: Option<Arc<crate::writer_lock::WriterLock>>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("config", &self.inner.config)
            .field("readers", &self.inner.readers)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// A builder for the database file at `path`: busy timeout, readers, create-if-missing,
    /// read-only; finished with [`SqliteConfig::build`].
    pub fn builder(path: impl AsRef<Path>) -> SqliteConfig {
        SqliteConfig::new(path)
    }

    /// Opens (or creates) the database file at `path` with the defaults.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        SqliteConfig::new(path).build().await
    }

    /// A private in-memory database on a single connection: every call sees the same data.
    /// Queries run on that connection too, so a query stream holds it until it ends or is
    /// dropped.
    pub async fn memory() -> Result<Self> {
        SqliteConfig::memory().build().await
    }

    /// A store around a connection you opened and configured yourself (flags, VFS,
    /// extensions): it becomes the writer, with this crate's settings applied on top (busy
    /// timeout 5 s, `foreign_keys=ON`; for a file also the identity check, WAL and
    /// `synchronous=FULL`). Readers open the same file; a connection to an in-memory or
    /// temporary database is the only connection.
    pub async fn from_client(conn: Connection) -> Result<Self> {
        let mut config = match conn.path() {
            Some(path) if !path.is_empty() => SqliteConfig::new(path),
            _ => SqliteConfig::memory(),
        };
        config.read_only = conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false);
        Self::start(config, move |spec| prepare_writer(conn, spec)).await
    }

    pub(crate) async fn with_config(config: SqliteConfig) -> Result<Self> {
        Self::start(config, open_writer).await
    }

    async fn start(
        config: SqliteConfig,
        writer: impl FnOnce(&OpenSpec) -> Result<Connection> + Send + 'static,
    ) -> Result<Self> {
        let spec = config.spec();
        let open_spec = spec.clone();
        let writer = Writer::start(move || writer(&open_spec), config.busy_timeout).await?;
        // The file exists now; another process writing it is refused before any work.
        let writer_lock = match config.path() {
            Some(path) if !config.is_read_only() => Some(crate::writer_lock::acquire(path)?),
            _ => None,
        };
        let readers = match config.reader_count() {
            0 => None,
            n => Some(Readers::new(spec, n)),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                writer,
                readers,
                _writer_lock: writer_lock,
            }),
        })
    }

    /// The settings this store was opened with.
    pub fn config(&self) -> &SqliteConfig {
        &self.inner.config
    }

    /// The database file (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.inner.config.path()
    }

    /// Runs `f` on the writer connection, holding it (the native escape hatch): pragmas,
    /// custom functions, anything rusqlite can do. Runs off the async runtime.
    pub async fn with_writer<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let guard = self.writer("with_writer").await?;
        guard
            .run(move |conn| f(conn).map_err(|e| map_sqlite(e, "with_writer")))
            .await
    }

    pub(crate) async fn writer(&self, operation: &'static str) -> Result<WriterGuard> {
        self.inner.writer.acquire(operation).await
    }

    pub(crate) fn readers(&self) -> Option<&Arc<Readers>> {
        self.inner.readers.as_ref()
    }

    pub(crate) fn read_only(&self) -> bool {
        self.inner.config.read_only
    }
}

#[async_trait]
impl SqlStore for SqliteStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    /// The portable core only: SQLite's types are advisory, it has no `::` casts or `jsonb`
    /// functions in PostgreSQL's sense, one writer at a time, and every transaction is
    /// serializable.
    fn capabilities(&self) -> SqlCapabilities {
        SqlCapabilities::none()
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        let (sql, params) = (sql.to_owned(), params.to_vec());
        async {
            let guard = self.writer("execute").await?;
            guard
                .run(move |conn| {
                    let n = exec::execute(conn, &sql, &params, "execute");
                    exec::refuse_open_transaction(conn, "execute")?;
                    n
                })
                .await
        }
        .await
    }

    async fn batch_execute(&self, sql: &str) -> Result<()> {
        let sql = sql.to_owned();
        let read_only = self.read_only();
        async {
            let guard = self.writer("batch_execute").await?;
            guard
                .run(move |conn| {
                    let done = exec::batch(conn, &sql, read_only);
                    exec::refuse_open_transaction(conn, "batch_execute")?;
                    done
                })
                .await
        }
        .await
    }

    fn query<'a>(&'a self, sql: &'a str, params: &'a [Value]) -> BoxStream<'a, Result<Document>> {
        let (sql, params): (Arc<str>, Arc<[Value]>) = (sql.into(), params.into());
        let start = async move { stream::open(self, sql, params).await };
        futures_stream::once(start).try_flatten().boxed()
    }

    /// Multi-row `INSERT … ON CONFLICT` statements in one transaction, as by default; a
    /// number a REAL reads back as is stored as REAL in a column that keeps any class (see
    /// the crate docs), so such columns copy between databases unchanged.
    async fn upsert_rows(
        &self,
        table: &str,
        columns: &[String],
        key: &[String],
        rows: &[Vec<Value>],
    ) -> Result<u64> {
        untyped::write(self, table, columns, rows, BulkWrite::Upsert { key }).await
    }

    /// Multi-row `INSERT` statements in one transaction, numbers stored as by
    /// [`upsert_rows`](Self::upsert_rows).
    async fn insert_rows(
        &self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<u64> {
        untyped::write(self, table, columns, rows, BulkWrite::Insert).await
    }

    async fn begin(&self, isolation: IsolationLevel) -> Result<Box<dyn SqlTransaction>> {
        async {
            let guard = self.writer("begin").await?;
            let begin = exec::begin_sql(self.read_only());
            guard
                .run(move |conn| {
                    conn.execute_batch(begin)
                        .map_err(|e| map_sqlite(e, "begin"))
                })
                .await?;
            Ok(Box::new(SqliteTransaction::begun(guard, isolation)) as Box<dyn SqlTransaction>)
        }
        .await
    }
}

#[async_trait]
impl Health for SqliteStore {
    async fn health(&self) -> Result<HealthReport> {
        let started = Instant::now();
        let row = futures::TryStreamExt::try_next(
            &mut self.query("SELECT sqlite_version() AS version", &[]),
        )
        .await?
        .ok_or_else(|| StoreError::internal("sqlite_version() returned no row"))?;
        let latency = started.elapsed();
        let version = row
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        let config = &self.inner.config;
        let place = config
            .path()
            .map_or_else(|| "in memory".to_owned(), |p| p.display().to_string());
        Ok(HealthReport {
            backend: BACKEND,
            latency,
            detail: Some(format!(
                "SQLite {version}; {place}; {} readers{}",
                config.reader_count(),
                if config.read_only { "; read-only" } else { "" }
            )),
        })
    }
}
