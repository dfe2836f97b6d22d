//! [`SqliteConfig`]: the builder of a [`SqliteStore`].

use std::path::Path;
use std::time::Duration;

use store_core::Result;

use crate::conn::{Location, OpenSpec};
use crate::store::SqliteStore;

/// How long a statement waits for a lock by default before failing with `Conflict`.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Reader connections by default.
pub const DEFAULT_READERS: usize = 4;
/// Prepared statements cached per connection by default.
pub const DEFAULT_STATEMENT_CACHE: usize = 64;

/// Settings of a [`SqliteStore`], finished with [`build`](Self::build).
///
/// ```no_run
/// # async fn demo() -> store_core::Result<()> {
/// use std::time::Duration;
/// let store = store_rusqlite::SqliteStore::builder("data/app.db")
///     .busy_timeout(Duration::from_secs(2))
///     .readers(8)
///     .build()
///     .await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    pub(crate) location: Location,
    pub(crate) busy_timeout: Duration,
    pub(crate) readers: usize,
    pub(crate) create_if_missing: bool,
    pub(crate) read_only: bool,
    pub(crate) statement_cache: usize,
}

impl SqliteConfig {
    /// Settings for the database file at `path` (created if missing), with the defaults:
    /// busy timeout 5 s, 4 readers, read-write. `":memory:"` is the same as
    /// [`memory`](Self::memory).
    pub fn new(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        let location = if path == Path::new(":memory:") {
            Location::Memory
        } else {
            Location::File(path.to_path_buf())
        };
        Self {
            location,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            readers: DEFAULT_READERS,
            create_if_missing: true,
            read_only: false,
            statement_cache: DEFAULT_STATEMENT_CACHE,
        }
    }

    /// Settings for a private in-memory database. It lives on one connection, so every call
    /// sees the same data and reader settings do not apply; it is gone when the store is
    /// dropped.
    pub fn memory() -> Self {
        Self::new(":memory:")
    }

    /// How long a statement waits for another connection's lock (another process writing,
    /// a checkpoint), and a call waits for this store's writer connection, before failing
    /// with a retryable `Conflict`.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// How many reader connections serve queries in parallel with the writer (write-ahead
    /// logging lets them read while it writes). `0` sends every query to the writer.
    pub fn readers(mut self, readers: usize) -> Self {
        self.readers = readers;
        self
    }

    /// Whether a missing file is created (the default) or is a `NotFound` error.
    pub fn create_if_missing(mut self, create: bool) -> Self {
        self.create_if_missing = create;
        self
    }

    /// Opens the file read-only: nothing is created, claimed or converted, and writes fail
    /// with `InvalidInput`.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// How many prepared statements each connection keeps (64 by default).
    pub fn statement_cache(mut self, capacity: usize) -> Self {
        self.statement_cache = capacity;
        self
    }

    /// The database file (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        match &self.location {
            Location::File(path) => Some(path),
            Location::Memory => None,
        }
    }

    /// The busy timeout.
    pub(crate) fn wait(&self) -> Duration {
        self.busy_timeout
    }

    /// The number of reader connections (0 in memory).
    pub(crate) fn reader_count(&self) -> usize {
        match self.location {
            Location::Memory => 0,
            Location::File(_) => self.readers,
        }
    }

    /// Whether the store is read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Opens the store: the writer connection (checking the file, then WAL,
    /// `synchronous=FULL`, `foreign_keys=ON`) on its own thread; readers open on first use.
    pub async fn build(self) -> Result<SqliteStore> {
        SqliteStore::with_config(self).await
    }

    pub(crate) fn spec(&self) -> OpenSpec {
        OpenSpec {
            location: self.location.clone(),
            busy_timeout: self.busy_timeout,
            create_if_missing: self.create_if_missing,
            read_only: self.read_only,
            statement_cache: self.statement_cache,
        }
    }
}
