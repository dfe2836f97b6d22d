//! [`PgConfig`]: where the database is and how the pool behaves.

use std::fmt;
use std::time::Duration;

use store_core::StoreError;
use tokio_postgres::config::Host;

use crate::tls::{RootCerts, SslMode, TlsSettings};

/// Connection and pool settings, from a `postgres://` URL, the `PG*` environment variables or
/// the builder methods.
///
/// Every timeout has a default, so a dead or unreachable database makes callers fail with
/// `Unavailable` instead of hanging (deadpool itself leaves them unset).
///
/// The password never appears in `Debug`, in logs or in errors:
///
/// ```
/// use store_rds::PgConfig;
/// let config = PgConfig::from_url("postgres://app:s3cret@db.internal:5432/orders").unwrap();
/// let shown = format!("{config:?}");
/// assert!(shown.contains("db.internal") && !shown.contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct PgConfig {
    pub(crate) pg: tokio_postgres::Config,
    pub(crate) pool_size: usize,
    pub(crate) wait_timeout: Duration,
    pub(crate) create_timeout: Duration,
    pub(crate) recycle_timeout: Duration,
    pub(crate) statement_timeout: Option<Duration>,
    pub(crate) query_timeout: Option<Duration>,
    pub(crate) verify_on_checkout: bool,
    pub(crate) verify_after_idle: Duration,
    pub(crate) tls: TlsSettings,
    /// Where each new connection's password comes from, when it changes over time.
    pub(crate) password_source: Option<crate::password::SharedSource>,
    /// IAM authentication, resolved into a password source when the store is built.
    #[cfg(feature = "iam")]
    pub(crate) iam: Option<crate::iam::IamAuth>,
}

impl Default for PgConfig {
    fn default() -> Self {
        let mut pg = tokio_postgres::Config::new();
        pg.connect_timeout(Duration::from_secs(5))
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .application_name("store-rds");
        Self {
            pg,
            pool_size: 16,
            wait_timeout: Duration::from_secs(10),
            create_timeout: Duration::from_secs(5),
            recycle_timeout: Duration::from_secs(2),
            statement_timeout: None,
            query_timeout: None,
            verify_on_checkout: true,
            verify_after_idle: Duration::from_secs(1),
            tls: TlsSettings::default(),
            password_source: None,
            #[cfg(feature = "iam")]
            iam: None,
        }
    }
}

fn invalid(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    // The driver's parse errors never echo the password.
    StoreError::invalid_input(format!("invalid PostgreSQL connection settings: {e}"))
        .with_backend("postgres")
        .with_source(e)
}

impl PgConfig {
    /// Builds the store: the pool is created, no connection is opened until the first
    /// operation.
    pub fn build(self) -> Result<crate::PgStore, StoreError> {
        crate::PgStore::with_config(self)
    }

    /// Defaults: `localhost:5432`, pool of 16, waits of 10 s for a connection, 5 s to
    /// connect, 2 s to verify a pooled connection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Settings from a `postgres://user:password@host:port/db?sslmode=...` URL or a
    /// `key=value` connection string, with this crate's timeout defaults where the URL sets none.
    /// `sslmode` and `sslrootcert` have libpq's meanings ([`SslMode`], [`RootCerts`]).
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let (url, tls) =
            crate::tls::params::take_tls_settings(url).map_err(|e| e.with_backend("postgres"))?;
        let parsed: tokio_postgres::Config = url.parse().map_err(invalid)?;
        let mut config = Self {
            pg: parsed,
            tls,
            ..Self::default()
        };
        if config.pg.get_connect_timeout().is_none() {
            config.pg.connect_timeout(Duration::from_secs(5));
        }
        if config.pg.get_application_name().is_none() {
            config.pg.application_name("store-rds");
        }
        Ok(config)
    }

    /// Settings from libpq's environment variables: `PGHOST`, `PGPORT`, `PGUSER`,
    /// `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`, `PGAPPNAME`, `PGCONNECT_TIMEOUT`
    /// (`DATABASE_URL` is used instead when set).
    pub fn from_env() -> Result<Self, StoreError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with a custom variable lookup (for tests and config files).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, StoreError> {
        if let Some(url) = lookup("DATABASE_URL").filter(|u| !u.is_empty()) {
            return Self::from_url(&url);
        }
        let mut config = Self::default();
        let pg = &mut config.pg;
        for host in lookup("PGHOST")
            .unwrap_or_else(|| "localhost".into())
            .split(',')
        {
            pg.host(host.trim());
        }
        if let Some(port) = lookup("PGPORT") {
            let port: u16 = port.trim().parse().map_err(|_| {
                StoreError::invalid_input(format!("PGPORT `{port}` is not a port number"))
            })?;
            pg.port(port);
        }
        pg.user(
            lookup("PGUSER")
                .or_else(|| lookup("USER"))
                .unwrap_or_else(|| "postgres".into()),
        );
        if let Some(password) = lookup("PGPASSWORD") {
            pg.password(password);
        }
        if let Some(db) = lookup("PGDATABASE") {
            pg.dbname(db);
        }
        if let Some(app) = lookup("PGAPPNAME") {
            pg.application_name(app);
        }
        if let Some(secs) = lookup("PGCONNECT_TIMEOUT") {
            let secs: u64 = secs.trim().parse().map_err(|_| {
                StoreError::invalid_input(format!("PGCONNECT_TIMEOUT `{secs}` is not seconds"))
            })?;
            pg.connect_timeout(Duration::from_secs(secs.max(1)));
        }
        if let Some(mode) = lookup("PGSSLMODE") {
            config.tls.mode = Some(SslMode::parse(mode.trim())?);
        }
        if let Some(roots) = lookup("PGSSLROOTCERT").filter(|r| !r.is_empty()) {
            config.tls.roots = Some(RootCerts::parse(&roots));
        }
        Ok(config)
    }

    /// Adds a host (several make a failover list).
    pub fn host(mut self, host: &str) -> Self {
        self.pg.host(host);
        self
    }

    /// Sets the port.
    pub fn port(mut self, port: u16) -> Self {
        self.pg.port(port);
        self
    }

    /// Sets the user.
    pub fn user(mut self, user: &str) -> Self {
        self.pg.user(user);
        self
    }

    /// Sets the password (kept out of every `Debug` output, log and error).
    pub fn password(mut self, password: impl AsRef<[u8]>) -> Self {
        self.pg.password(password);
        self
    }

    /// Sets the database.
    pub fn dbname(mut self, dbname: &str) -> Self {
        self.pg.dbname(dbname);
        self
    }

    /// Sets `application_name`, shown in `pg_stat_activity`.
    pub fn application_name(mut self, name: &str) -> Self {
        self.pg.application_name(name);
        self
    }

    /// Sets the TLS mode, with libpq's meanings ([`SslMode`]; TLS needs the feature `tls`).
    /// The driver's own setting ([`driver_config`](Self::driver_config)) is replaced by it.
    pub fn ssl_mode(mut self, mode: SslMode) -> Self {
        self.tls.mode = Some(mode);
        self
    }

    /// The certificates the server's chain must end at (libpq's `sslrootcert`): a PEM
    /// bundle such as Amazon's RDS `global-bundle.pem`, or the system's trust store. Given
    /// roots are checked under `require` and `prefer` too, as libpq does.
    pub fn root_certs(mut self, roots: RootCerts) -> Self {
        self.tls.roots = Some(roots);
        self
    }

    /// The TLS mode in force: the one set, else `verify-full` with the system's roots,
    /// else `prefer`.
    pub fn effective_ssl_mode(&self) -> SslMode {
        self.tls.mode()
    }

    /// Runs every connection with this `search_path` (a schema to work in).
    pub fn search_path(mut self, schema: &str) -> Self {
        let quoted = crate::quote_ident(schema);
        let options = match self.pg.get_options() {
            Some(existing) => format!("{existing} -c search_path={quoted}"),
            None => format!("-c search_path={quoted}"),
        };
        self.pg.options(&options);
        self
    }

    /// The most connections the pool opens (default 16).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// How long a caller waits for a free connection before `Unavailable` (default 10 s).
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// How long opening a connection may take (default 5 s; also the TCP connect timeout).
    pub fn create_timeout(mut self, timeout: Duration) -> Self {
        self.create_timeout = timeout;
        self.pg.connect_timeout(timeout);
        self
    }

    /// How long verifying a pooled connection before reuse may take (default 2 s).
    pub fn recycle_timeout(mut self, timeout: Duration) -> Self {
        self.recycle_timeout = timeout;
        self
    }

    /// A server-side `statement_timeout` for every connection (none by default).
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = Some(timeout);
        self
    }

    /// A client-side limit on each statement (none by default; per call with
    /// [`PgStore::with_query_timeout`](crate::PgStore::with_query_timeout)). Unlike
    /// [`statement_timeout`](Self::statement_timeout) it also ends a wait on a connection the
    /// network silently dropped: once it passes, the caller gets `Unavailable`, the statement
    /// is cancelled on the server (PostgreSQL's cancel request) and its connection is
    /// closed, not pooled. For a query's row stream it bounds the wait for the first answer;
    /// rows collected whole (`query_all`, `query_one`, `query_collect`) are bounded whole.
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        self.query_timeout = Some(timeout);
        self
    }

    /// Whether a pooled connection may be verified with a round trip (bounded by the
    /// [`recycle_timeout`](Self::recycle_timeout)) before it is handed out (default `true`;
    /// which ones are, see [`verify_after_idle`](Self::verify_after_idle)): a
    /// connection the network silently cut is replaced before a caller uses it. A connection
    /// known to be closed (its socket failed) is always replaced. With `false` the first query
    /// on a silently dead connection fails (`Unavailable`, retryable) instead.
    pub fn verify_on_checkout(mut self, verify: bool) -> Self {
        self.verify_on_checkout = verify;
        self
    }

    /// Verifies only connections last checked out at least `idle` ago (default 1 s;
    /// `Duration::ZERO` verifies at every checkout). Connections in steady use are handed out
    /// without the extra round trip, so a busy pool runs at the raw client's speed; one that
    /// sat unused longer, which a network device may have cut silently, is checked first, as
    /// is every connection after the pool found one closed.
    ///
    /// A connection is also verified whatever its idleness when the caller runs on another
    /// tokio runtime than the one driving it (each connection's driver is a task on the
    /// runtime that opened it): that runtime may be blocked waiting for the caller, as a
    /// `Drop` that runs `block_on` on a second runtime does, and the connection would never
    /// answer; verified, it is replaced after the [`recycle_timeout`](Self::recycle_timeout).
    pub fn verify_after_idle(mut self, idle: Duration) -> Self {
        self.verify_after_idle = idle;
        self
    }

    /// The driver's configuration, for settings without a method here.
    pub fn driver_config(&mut self) -> &mut tokio_postgres::Config {
        &mut self.pg
    }

    /// `host:port` of the first host, for messages and spans.
    pub fn endpoint(&self) -> String {
        let (host, port) = self.first_host_port();
        format!("{host}:{port}")
    }

    /// The first host (a socket directory's path for a Unix socket) and port.
    pub(crate) fn first_host_port(&self) -> (String, u16) {
        let host = match self.pg.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        (host, self.pg.get_ports().first().copied().unwrap_or(5432))
    }
}

impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConfig")
            .field("endpoint", &self.endpoint())
            .field("user", &self.pg.get_user())
            .field("dbname", &self.pg.get_dbname())
            .field("password", &self.pg.get_password().map(|_| "<redacted>"))
            .field("password_source", &self.password_source)
            .field("ssl_mode", &self.tls.mode())
            .field("root_certs", &self.tls.roots)
            .field("pool_size", &self.pool_size)
            .field("wait_timeout", &self.wait_timeout)
            .field("create_timeout", &self.create_timeout)
            .field("recycle_timeout", &self.recycle_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("query_timeout", &self.query_timeout)
            .field("verify_on_checkout", &self.verify_on_checkout)
            .field("verify_after_idle", &self.verify_after_idle)
            .finish()
    }
}

impl fmt::Display for PgConfig {
    /// `postgres://user@host:port/db`, never the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "postgres://{}@{}/{}",
            self.pg.get_user().unwrap_or(""),
            self.endpoint(),
            self.pg.get_dbname().unwrap_or("")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_hide_the_password() {
        let c = PgConfig::from_url("postgres://u:hunter2@h:6543/d?sslmode=disable").unwrap();
        assert_eq!(c.endpoint(), "h:6543");
        for shown in [format!("{c:?}"), c.to_string()] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        assert!(format!("{c:?}").contains("<redacted>"));
        let err = PgConfig::from_url("postgres://u:hunter2@h:notaport/d").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn environment_variables_are_read() {
        let vars = |name: &str| {
            match name {
                "PGHOST" => Some("db1"),
                "PGPORT" => Some("5433"),
                "PGUSER" => Some("app"),
                "PGPASSWORD" => Some("pw"),
                "PGDATABASE" => Some("orders"),
                _ => None,
            }
            .map(str::to_owned)
        };
        let c = PgConfig::from_lookup(vars).unwrap();
        assert_eq!(c.to_string(), "postgres://app@db1:5433/orders");
        assert!(!format!("{c:?}").contains("\"pw\""));
    }
}
