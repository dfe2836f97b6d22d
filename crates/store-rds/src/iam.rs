//! IAM database authentication (feature `iam`): connections authenticate with short-lived
//! tokens signed from AWS credentials instead of a stored password.
//!
//! [`PgConfig::iam_auth`](crate::PgConfig::iam_auth) wires it into the pool: each new
//! connection gets a token for the configured host, port and user, signed once and reused
//! until [`IamAuth::refresh_before`] its expiry, so tokens never lapse under a pool that keeps
//! opening connections. Connections already open are unaffected by a token's expiry (RDS
//! checks it only at login). RDS requires TLS for IAM logins, and a token is a credential, so
//! the pool refuses to build unless `sslmode` is `require` or stricter.

mod token;

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use store_core::{Result, StoreError};

pub use token::{AuthToken, TOKEN_LIFETIME, TokenEndpoint, generate_auth_token};

use crate::PgConfig;
use crate::password::PasswordSource;
use crate::tls::SslMode;

impl PgConfig {
    /// Authenticates every new connection with an IAM token instead of a password (feature
    /// `iam`; see [the module](crate::iam)). The token is signed for the first host and port
    /// and the user of these settings; building fails unless `sslmode` is `require` or stricter.
    pub fn iam_auth(mut self, auth: IamAuth) -> Self {
        self.iam = Some(auth);
        self
    }
}

/// The token source for `config`'s endpoint, after checking it can carry a token safely.
pub(crate) fn resolve(config: &PgConfig, auth: IamAuth) -> Result<IamTokens> {
    let refuse = |message: String| Err(StoreError::invalid_input(message).with_backend("postgres"));
    let mode = config.effective_ssl_mode();
    if matches!(mode, SslMode::Disable | SslMode::Prefer) {
        return refuse(format!(
            "IAM authentication needs TLS (RDS refuses IAM logins without it, and a token is a \
             credential): sslmode is {mode}; set require, verify-ca or verify-full"
        ));
    }
    let Some(user) = config.pg.get_user().filter(|u| !u.is_empty()) else {
        return refuse("IAM authentication needs the database user the token is for".into());
    };
    let (host, port) = config.first_host_port();
    Ok(auth.source(TokenEndpoint {
        host,
        port,
        user: user.to_owned(),
    }))
}

/// IAM authentication settings: the region and where credentials come from.
///
/// ```no_run
/// # fn demo(
/// #     credentials: aws_credential_types::provider::SharedCredentialsProvider,
/// # ) -> store_core::Result<()> {
/// use store_rds::{PgConfig, SslMode, iam::IamAuth};
///
/// // `credentials`: e.g. `aws_config::load_from_env().await.credentials_provider()`.
/// let auth = IamAuth::new("eu-west-1", credentials);
/// let store = PgConfig::from_url("postgres://app@orders.abc123.eu-west-1.rds.amazonaws.com/orders")?
///     .ssl_mode(SslMode::VerifyFull)
///     .iam_auth(auth)
///     .build()?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone)]
pub struct IamAuth {
    region: String,
    credentials: SharedCredentialsProvider,
    refresh_before: Duration,
}

impl fmt::Debug for IamAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IamAuth")
            .field("region", &self.region)
            .field("refresh_before", &self.refresh_before)
            .finish_non_exhaustive()
    }
}

impl IamAuth {
    /// Tokens for a database in `region`, signed with what `credentials` provides (e.g. the
    /// provider of `aws_config::load_from_env().await`).
    pub fn new(region: impl Into<String>, credentials: impl ProvideCredentials + 'static) -> Self {
        Self {
            region: region.into(),
            credentials: SharedCredentialsProvider::new(credentials),
            refresh_before: Duration::from_secs(300),
        }
    }

    /// How long before a token expires a new one is signed for the next connection (default
    /// 5 minutes, so a token is reused for at most 10 of its 15 minutes).
    pub fn refresh_before(mut self, margin: Duration) -> Self {
        self.refresh_before = margin.min(TOKEN_LIFETIME);
        self
    }

    /// The source the pool asks, for connections to `endpoint`.
    pub(crate) fn source(self, endpoint: TokenEndpoint) -> IamTokens {
        IamTokens {
            auth: self,
            endpoint,
            current: tokio::sync::Mutex::new(None),
        }
    }
}

/// Tokens for one endpoint, signed when the last one is near its expiry.
pub(crate) struct IamTokens {
    auth: IamAuth,
    endpoint: TokenEndpoint,
    current: tokio::sync::Mutex<Option<AuthToken>>,
}

impl IamTokens {
    /// The token to use at `now`: the current one while it has more than the margin left,
    /// else a new one (one signer at a time; the others wait and reuse it).
    async fn token_at(&self, now: SystemTime) -> Result<AuthToken> {
        let mut current = self.current.lock().await;
        if let Some(token) = current
            .as_ref()
            .filter(|t| fresh(t, now, self.auth.refresh_before))
        {
            return Ok(token.clone());
        }
        let credentials = self
            .auth
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| {
                StoreError::unauthorized(format!(
                    "no AWS credentials to sign an IAM authentication token with: {e}"
                ))
                .with_backend("postgres")
                .with_source(e)
            })?;
        let token = generate_auth_token(&credentials, &self.endpoint, &self.auth.region, now)?;
        tracing::debug!(host = %self.endpoint.host, user = %self.endpoint.user, "signed a new IAM authentication token");
        *current = Some(token.clone());
        Ok(token)
    }
}

/// Whether `token` still has more than `margin` of its life left at `now`.
fn fresh(token: &AuthToken, now: SystemTime, margin: Duration) -> bool {
    token
        .expires_at()
        .duration_since(now)
        .is_ok_and(|left| left > margin)
}

#[async_trait]
impl PasswordSource for IamTokens {
    async fn password(&self) -> Result<String> {
        Ok(self.token_at(SystemTime::now()).await?.as_str().to_owned())
    }
}

#[cfg(test)]
mod tests;
