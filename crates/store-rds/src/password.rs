//! Passwords that change over time: [`PasswordSource`], asked for every new connection.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use deadpool_postgres::Connect;
use futures::future::BoxFuture;
use store_core::{ErrorKind, Result, StoreError};
use tokio::task::JoinHandle;
use tokio_postgres::Client;

use crate::PgConfig;
use crate::tls::Connector;

/// Where the password of each new connection comes from, when it is not one fixed string: an
/// IAM authentication token (`iam::IamAuth`, feature `iam`), a secret manager's
/// rotating lease, a file a sidecar rewrites.
///
/// The pool asks for it each time it opens a connection (and the listener each time it
/// reconnects), never on the hot path of a query; an implementation caches what it can. A
/// failure fails that connection attempt with the error returned here.
///
/// ```
/// use async_trait::async_trait;
/// use store_rds::{PasswordSource, PgConfig};
///
/// struct FromFile(std::path::PathBuf);
///
/// #[async_trait]
/// impl PasswordSource for FromFile {
///     async fn password(&self) -> store_core::Result<String> {
///         let text = std::fs::read_to_string(&self.0).map_err(|e| {
///             store_core::StoreError::unavailable(format!("reading the password file: {e}"))
///         })?;
///         Ok(text.trim_end().to_owned())
///     }
/// }
///
/// let config = PgConfig::from_url("postgres://app@db.internal/orders")
///     .unwrap()
///     .password_source(FromFile("/run/secrets/db".into()));
/// # let _ = config;
/// ```
#[async_trait]
pub trait PasswordSource: Send + Sync + 'static {
    /// The password to open a connection with now.
    async fn password(&self) -> Result<String>;
}

impl PgConfig {
    /// Takes each new connection's password from `source` instead of a fixed one (which it
    /// replaces): see [`PasswordSource`].
    pub fn password_source(mut self, source: impl PasswordSource) -> Self {
        self.password_source = Some(SharedSource::new(source));
        self
    }

    /// The source the store's connections use, IAM's when it is set.
    pub(crate) fn resolved_password_source(&self) -> Result<Option<SharedSource>> {
        #[cfg(feature = "iam")]
        if let Some(auth) = &self.iam {
            return crate::iam::resolve(self, auth.clone()).map(|s| Some(SharedSource::new(s)));
        }
        Ok(self.password_source.clone())
    }
}

/// A [`PasswordSource`] shared by the pool and the listener, remembering its last failure so a
/// failed checkout can say why (the driver's own error cannot carry it).
#[derive(Clone)]
pub(crate) struct SharedSource {
    source: Arc<dyn PasswordSource>,
    last_failure: Arc<Mutex<Option<(ErrorKind, String)>>>,
}

impl fmt::Debug for SharedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordSource")
    }
}

impl SharedSource {
    pub(crate) fn new(source: impl PasswordSource) -> Self {
        Self {
            source: Arc::new(source),
            last_failure: Arc::default(),
        }
    }

    /// `pg` with the source's current password.
    pub(crate) async fn apply(
        &self,
        pg: &tokio_postgres::Config,
    ) -> Result<tokio_postgres::Config> {
        let password = self.source.password().await;
        let mut failure = self.last_failure.lock().unwrap_or_else(|e| e.into_inner());
        match password {
            Ok(password) => {
                *failure = None;
                let mut pg = pg.clone();
                pg.password(password);
                Ok(pg)
            }
            Err(e) => {
                *failure = Some((e.kind(), e.message().to_owned()));
                Err(e)
            }
        }
    }

    /// The error of the last attempt, if it failed (its kind and message).
    pub(crate) fn last_failure(&self) -> Option<StoreError> {
        let failure = self.last_failure.lock().unwrap_or_else(|e| e.into_inner());
        let (kind, message) = failure.as_ref()?;
        Some(StoreError::new(*kind, message.clone()).with_backend("postgres"))
    }
}

/// How the store opens connections (the pool's and the listener's): the TLS choice, and the
/// password from the source when there is one.
#[derive(Clone)]
pub(crate) struct Opener {
    pub(crate) connector: Connector,
    pub(crate) source: Option<SharedSource>,
}

impl Opener {
    /// `pg`, with the source's current password when there is a source.
    pub(crate) async fn settings<'a>(
        &self,
        pg: &'a tokio_postgres::Config,
    ) -> Result<Cow<'a, tokio_postgres::Config>> {
        match &self.source {
            None => Ok(Cow::Borrowed(pg)),
            Some(source) => source.apply(pg).await.map(Cow::Owned),
        }
    }
}

impl Connect for Opener {
    fn connect(
        &self,
        pg: &tokio_postgres::Config,
    ) -> BoxFuture<'_, std::result::Result<(Client, JoinHandle<()>), tokio_postgres::Error>> {
        let pg = pg.clone();
        Box::pin(async move {
            let pg = match self.settings(&pg).await {
                Ok(pg) => pg,
                // The driver's error type cannot hold ours: fail the attempt without
                // touching the network (no host), and let the checkout report
                // `last_failure` instead.
                Err(e) => {
                    tracing::warn!(error = %e, "no password for a new connection");
                    return Err(unusable().await);
                }
            };
            self.connector.connect(&pg).await
        })
    }
}

/// A driver error made without I/O, for an attempt that failed before connecting.
async fn unusable() -> tokio_postgres::Error {
    match tokio_postgres::Config::new()
        .connect(tokio_postgres::NoTls)
        .await
    {
        Err(e) => e,
        Ok(_) => unreachable!("a configuration without a host cannot connect"),
    }
}
