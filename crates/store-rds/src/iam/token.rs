//! The IAM authentication token itself: a SigV4 presigned `connect` request for `rds-db`.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use store_core::{Result, StoreError};

/// How long RDS accepts a token after it was signed (fixed by the service).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// The database a token is for: the endpoint the client connects to and the database user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEndpoint {
    /// The host name the client connects to (the instance or proxy endpoint).
    pub host: String,
    /// The port the client connects to.
    pub port: u16,
    /// The database user, granted `rds_iam`.
    pub user: String,
}

/// An IAM authentication token: the password for one or more connections opened before
/// [`expires_at`](Self::expires_at). Its `Debug` hides the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken {
    token: String,
    expires_at: SystemTime,
}

impl AuthToken {
    /// The token, to be sent as the connection's password.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// When the service stops accepting it: 15 minutes after signing, or sooner when the
    /// credentials that signed it expire first.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.token.split("&X-Amz-").next().unwrap_or_default();
        f.debug_struct("AuthToken")
            .field("token", &format_args!("{shown}&…(signature hidden)"))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Signs a token for `endpoint` in `region` with `credentials` at `time`, as AWS documents it
/// (and as `aws rds generate-db-auth-token` does): a presigned `GET
/// https://host:port/?Action=connect&DBUser=user` for the service `rds-db`, valid 900 s,
/// without its `https://`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use aws_credential_types::Credentials;
/// use store_rds::iam::{TokenEndpoint, generate_auth_token};
///
/// let credentials = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None, None, "example");
/// let endpoint = TokenEndpoint { host: "db.example.com".into(), port: 5432, user: "app".into() };
/// let at = UNIX_EPOCH + Duration::from_secs(1_718_452_800);
/// let token = generate_auth_token(&credentials, &endpoint, "eu-west-1", at).unwrap();
/// assert!(token.as_str().starts_with("db.example.com:5432/?Action=connect&DBUser=app&X-Amz-Algorithm=AWS4-HMAC-SHA256"));
/// assert_eq!(token.expires_at(), at + Duration::from_secs(900));
/// ```
pub fn generate_auth_token(
    credentials: &Credentials,
    endpoint: &TokenEndpoint,
    region: &str,
    time: SystemTime,
) -> Result<AuthToken> {
    let failed = |what: &str, e: &dyn fmt::Display| {
        StoreError::invalid_input(format!("signing an IAM authentication token: {what}: {e}"))
            .with_backend("postgres")
    };
    if endpoint.host.is_empty() || endpoint.user.is_empty() || region.is_empty() {
        return Err(failed(
            "the token needs a host, a user and a region",
            &"one of them is empty",
        ));
    }
    let base = format!(
        "{}:{}/?Action=connect&DBUser={}",
        endpoint.host,
        endpoint.port,
        encode(&endpoint.user)
    );
    let url = format!("https://{base}");
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("rds-db")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| failed("settings", &e))?
        .into();
    let request = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| failed("the endpoint", &e))?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| failed("signing", &e))?
        .into_parts();
    let mut token = base;
    // The signature last, as AWS's own tools print it (the order does not affect validity).
    let mut params = instructions.params().to_vec();
    params.sort_by_key(|(name, _)| *name == "X-Amz-Signature");
    for (name, value) in params {
        token.push('&');
        token.push_str(name);
        token.push('=');
        token.push_str(&encode(&value));
    }
    let lifetime_end = time + TOKEN_LIFETIME;
    let expires_at = credentials
        .expiry()
        .map_or(lifetime_end, |expiry| expiry.min(lifetime_end));
    Ok(AuthToken { token, expires_at })
}

/// Percent-encodes all but SigV4's unreserved characters (`A-Z a-z 0-9 - _ . ~`).
fn encode(text: &str) -> Cow<'_, str> {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
    if text.bytes().all(unreserved) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if unreserved(byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Cow::Owned(out)
}
