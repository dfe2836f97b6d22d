//! TLS to the server with libpq's `sslmode` and `sslrootcert` meanings: [`SslMode`],
//! [`RootCerts`], and what they make of a connection (`verify`: the rustls verifiers,
//! `params`: the two settings taken out of a connection string the driver cannot parse).

use std::fmt;
use std::path::PathBuf;

use store_core::StoreError;

pub(crate) mod params;
#[cfg(feature = "tls")]
pub(crate) mod verify;

/// How a connection uses TLS, as libpq's `sslmode` says it.
///
/// | mode | TLS | server certificate checked |
/// |---|---|---|
/// | `Disable` | never | — |
/// | `Prefer` (default) | when the server offers it | only against root certificates given (or `~/.postgresql/root.crt`), as `VerifyCa` |
/// | `Require` | always | as `Prefer` |
/// | `VerifyCa` | always | chain up to a trusted root; the host name is not checked |
/// | `VerifyFull` | always | chain, and the host name (or IP) in the certificate |
///
/// libpq's `allow` (plaintext first) is read as `Prefer`: the driver asks for TLS first.
/// Anything beyond `Disable` and a plaintext `Prefer` needs the feature `tls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SslMode {
    /// Plaintext only.
    Disable,
    /// TLS when the server offers it, else plaintext.
    Prefer,
    /// TLS always; the certificate is checked only when root certificates are given.
    Require,
    /// TLS, and the certificate's chain must end at a trusted root.
    VerifyCa,
    /// TLS, a trusted chain, and the certificate must name the host connected to.
    VerifyFull,
}

impl SslMode {
    /// The mode named as libpq names it (`disable`, `allow`, `prefer`, `require`,
    /// `verify-ca`, `verify-full`).
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "disable" => Self::Disable,
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(StoreError::invalid_input(format!(
                    "sslmode `{other}` is not one of disable, allow, prefer, require, \
                     verify-ca, verify-full"
                )));
            }
        })
    }

    /// The name libpq gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// What the driver is told: it knows only whether TLS is off, optional or required.
    pub(crate) fn driver(self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Driver;
        match self {
            Self::Disable => Driver::Disable,
            Self::Prefer => Driver::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => Driver::Require,
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The certificates a server's chain may end at (libpq's `sslrootcert`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RootCerts {
    /// A PEM file of one or more certificates, such as Amazon's RDS bundle
    /// (`global-bundle.pem`).
    File(PathBuf),
    /// The operating system's trust store (libpq's `sslrootcert=system`); as in libpq, it
    /// needs `sslmode=verify-full`, and is the default mode with it.
    System,
}

impl RootCerts {
    /// The setting as libpq writes it: `system`, or a path.
    pub fn parse(text: &str) -> Self {
        match text {
            "system" => Self::System,
            path => Self::File(PathBuf::from(path)),
        }
    }
}

/// What a connection is opened with: plaintext, or rustls set up for the mode.
#[derive(Clone)]
pub(crate) enum Connector {
    Plain,
    #[cfg(feature = "tls")]
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

impl Connector {
    /// The connector `settings` call for (they must have been validated).
    pub(crate) fn for_settings(settings: &TlsSettings) -> Result<Self, StoreError> {
        #[cfg(feature = "tls")]
        if settings.mode() != SslMode::Disable {
            return verify::connector(settings).map(Self::Rustls);
        }
        let _ = settings;
        Ok(Self::Plain)
    }

    /// Opens a connection with `pg` and drives it on a task of its own, as the pool does.
    pub(crate) async fn connect(
        &self,
        pg: &tokio_postgres::Config,
    ) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), tokio_postgres::Error> {
        match self {
            Self::Plain => {
                let (client, connection) = pg.connect(tokio_postgres::NoTls).await?;
                Ok((client, drive(connection)))
            }
            #[cfg(feature = "tls")]
            Self::Rustls(tls) => {
                let (client, connection) = pg.connect(tls.clone()).await?;
                Ok((client, drive(connection)))
            }
        }
    }
}

/// Runs a connection until it ends, logging how it broke.
fn drive<S, T>(connection: tokio_postgres::Connection<S, T>) -> tokio::task::JoinHandle<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "a pooled connection ended");
        }
    })
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Plain => "Plain",
            #[cfg(feature = "tls")]
            Self::Rustls(_) => "Rustls",
        })
    }
}

/// The TLS settings of a configuration: the mode asked for (if any) and the roots given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    pub(crate) mode: Option<SslMode>,
    pub(crate) roots: Option<RootCerts>,
}

impl TlsSettings {
    /// The mode in force: the one asked for, else `verify-full` with the system's roots
    /// (libpq's rule), else `prefer`.
    pub(crate) fn mode(&self) -> SslMode {
        match (self.mode, &self.roots) {
            (Some(mode), _) => mode,
            (None, Some(RootCerts::System)) => SslMode::VerifyFull,
            (None, _) => SslMode::Prefer,
        }
    }

    /// Refuses what libpq refuses: the system's roots with a mode that would not check the
    /// host name.
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if self.roots == Some(RootCerts::System) && self.mode() != SslMode::VerifyFull {
            return Err(StoreError::invalid_input(format!(
                "sslrootcert=system needs sslmode=verify-full (it is {}): the system's roots \
                 trust any public certificate, so only the host name check makes them safe",
                self.mode()
            )));
        }
        #[cfg(not(feature = "tls"))]
        if self.mode() > SslMode::Prefer || self.roots.is_some() {
            return Err(StoreError::invalid_input(format!(
                "sslmode={} needs store-rds's feature `tls`",
                self.mode()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_as_libpq_names_them() {
        for (text, mode) in [
            ("disable", SslMode::Disable),
            ("allow", SslMode::Prefer),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
        ] {
            assert_eq!(SslMode::parse(text).unwrap(), mode);
        }
        let err = SslMode::parse("verify_full").unwrap_err();
        assert!(err.message().contains("verify-full"), "{err}");
    }

    #[test]
    fn system_roots_default_to_and_demand_verify_full() {
        let system = TlsSettings {
            mode: None,
            roots: Some(RootCerts::System),
        };
        assert_eq!(system.mode(), SslMode::VerifyFull);
        assert_eq!(TlsSettings::default().mode(), SslMode::Prefer);
        let weaker = TlsSettings {
            mode: Some(SslMode::VerifyCa),
            roots: Some(RootCerts::System),
        };
        let err = weaker.validate().unwrap_err();
        assert!(err.message().contains("verify-full"), "{err}");
    }
}
