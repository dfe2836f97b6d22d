//! [`OpenSearchConfig`]: where the cluster is and how to authenticate, from a URL or the
//! environment, with the password kept out of every Debug, Display, log line and error.

use std::fmt;
use std::time::Duration;

use opensearch::OpenSearch;
use opensearch::auth::Credentials;
use opensearch::http::Url;
use opensearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use store_core::StoreError;

use crate::error::BACKEND;

/// How to reach an OpenSearch cluster.
///
/// ```
/// use store_search::OpenSearchConfig;
/// let config = OpenSearchConfig::from_url("https://admin:s3cret@search.example.com:9200")?;
/// assert_eq!(config.url().as_str(), "https://search.example.com:9200/");
/// assert!(!format!("{config:?}").contains("s3cret"));
/// # Ok::<_, store_core::StoreError>(())
/// ```
#[derive(Clone)]
pub struct OpenSearchConfig {
    url: Url,
    username: Option<String>,
    password: Option<String>,
    timeout: Option<Duration>,
}

impl OpenSearchConfig {
    /// A config from a URL such as `http://localhost:9200` or `https://user:pass@host:9200`;
    /// credentials in the URL become basic authentication and are removed from the URL.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let mut parsed = Url::parse(url).map_err(|e| {
            StoreError::invalid_input(format!(
                "`{}` is not a valid OpenSearch URL: {e}",
                redact_urls(url)
            ))
            .with_backend(BACKEND)
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(StoreError::invalid_input(format!(
                "the OpenSearch URL must be http or https, not `{}`",
                parsed.scheme()
            ))
            .with_backend(BACKEND));
        }
        let username = (!parsed.username().is_empty()).then(|| decode(parsed.username()));
        let password = parsed.password().map(decode);
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        Ok(Self {
            url: parsed,
            username,
            password,
            timeout: Some(Duration::from_secs(60)),
        })
    }

    /// A config from the environment: the URL from `STORES_OPENSEARCH_URL`, else
    /// `OPENSEARCH_URL`, else `http://localhost:9200`; basic authentication from
    /// `OPENSEARCH_USERNAME` and `OPENSEARCH_PASSWORD` when set.
    pub fn from_env() -> Result<Self, StoreError> {
        let url = std::env::var("STORES_OPENSEARCH_URL")
            .or_else(|_| std::env::var("OPENSEARCH_URL"))
            .unwrap_or_else(|_| "http://localhost:9200".to_owned());
        let mut config = Self::from_url(&url)?;
        if let Ok(user) = std::env::var("OPENSEARCH_USERNAME") {
            let password = std::env::var("OPENSEARCH_PASSWORD").unwrap_or_default();
            config = config.basic_auth(user, password);
        }
        Ok(config)
    }

    /// Sets basic authentication.
    pub fn basic_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// Sets the per-request timeout (60 s by default; `None` for none).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// The cluster URL, without credentials.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The basic-auth user name, if any.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// Builds the native client: a single-node transport with the system proxy disabled.
    pub fn build_client(&self) -> Result<OpenSearch, StoreError> {
        let mut builder =
            TransportBuilder::new(SingleNodeConnectionPool::new(self.url.clone())).disable_proxy();
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(user) = &self.username {
            builder = builder.auth(Credentials::Basic(
                user.clone(),
                self.password.clone().unwrap_or_default(),
            ));
        }
        let transport = builder.build().map_err(|e| {
            StoreError::invalid_input("could not build the OpenSearch transport")
                .with_backend(BACKEND)
                .with_source(redact_urls(&e.to_string()))
        })?;
        Ok(OpenSearch::new(transport))
    }
}

impl fmt::Debug for OpenSearchConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenSearchConfig")
            .field("url", &self.url.as_str())
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl fmt::Display for OpenSearchConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(
                std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                16,
            )
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Replaces the `user:password@` part of any URL in `text` with `***@`.
pub(crate) fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == ')')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        if let Some(at) = authority.rfind('@') {
            out.push_str("***@");
            out.push_str(&authority[at + 1..]);
        } else {
            out.push_str(authority);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_shows() {
        let config = OpenSearchConfig::from_url("http://bob:p%40ss@localhost:9200").unwrap();
        assert_eq!(config.username(), Some("bob"));
        assert_eq!(config.password.as_deref(), Some("p@ss"));
        let shown = format!("{config:?} {config}");
        assert!(
            !shown.contains("p@ss") && !shown.contains("p%40ss"),
            "{shown}"
        );
        assert_eq!(
            redact_urls("error sending request for url (http://bob:pw@host:9200/x)"),
            "error sending request for url (http://***@host:9200/x)"
        );
        let bad = OpenSearchConfig::from_url("ftp://a:secret@x").unwrap_err();
        assert!(!bad.to_string().contains("secret"));
    }
}
