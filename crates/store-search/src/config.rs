//! How an [`OpenSearchIndex`] is made: [`OpenSearchIndex::builder`] and
//! [`OpenSearchIndex::from_env`], with the password kept out of every Debug, log line and error.
//! ([`OpenSearchIndex::from_client`] takes a client you configured.)

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use opensearch::OpenSearch;
use opensearch::auth::Credentials;
use opensearch::cert::{Certificate, CertificateValidation};
use opensearch::http::Url;
use opensearch::http::headers::{ACCEPT_ENCODING, HeaderValue};
use opensearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use store_core::{IndexName, Result, StoreError};

use crate::bulk::BulkOptions;
use crate::error::{BACKEND, redact_urls};
use crate::index::OpenSearchIndex;

/// The URL used when neither the builder nor the environment gives one.
const DEFAULT_URL: &str = "http://localhost:9200";

impl OpenSearchIndex {
    /// A builder for a handle on the index (or alias) `name`.
    ///
    /// Without [`url`](OpenSearchIndexBuilder::url) the cluster is the environment's, as for
    /// [`from_env`](Self::from_env).
    ///
    /// ```no_run
    /// # fn demo() -> store_core::Result<()> {
    /// use std::time::Duration;
    /// use store_search::OpenSearchIndex;
    /// let index = OpenSearchIndex::builder("articles")
    ///     .url("https://admin:s3cret@search.example.com:9200")
    ///     .timeout(Some(Duration::from_secs(30)))
    ///     .build()?;
    /// assert!(!format!("{index:?}").contains("s3cret"));
    /// # Ok(()) }
    /// ```
    pub fn builder(name: impl Into<String>) -> OpenSearchIndexBuilder {
        OpenSearchIndexBuilder {
            name: name.into(),
            url: None,
            username: None,
            password: None,
            ca_file: None,
            timeout: Some(Duration::from_secs(60)),
            bulk_options: BulkOptions::default(),
            compressed_responses: false,
        }
    }

    /// A handle on `name` on the cluster the environment names: the URL from
    /// `STORES_OPENSEARCH_URL`, else `OPENSEARCH_URL`, else `ELASTICSEARCH_URL`, else
    /// `http://localhost:9200`; basic authentication from `OPENSEARCH_USERNAME` and
    /// `OPENSEARCH_PASSWORD` (else `ELASTICSEARCH_USERNAME` and `ELASTICSEARCH_PASSWORD`) when
    /// set; extra CA certificates from the PEM file `STORES_SEARCH_CA_FILE` names (see
    /// [`ca_file`](OpenSearchIndexBuilder::ca_file)).
    pub fn from_env(name: &str) -> Result<Self> {
        Self::builder(name).build()
    }
}

/// Builds an [`OpenSearchIndex`]: where the cluster is, how to authenticate, the request
/// timeout and the bulk options. Made by [`OpenSearchIndex::builder`].
///
/// The transport never uses a system proxy. Neither the password nor a URL's credentials appear
/// in Debug output or in errors.
///
/// ```
/// use store_core::SearchIndex;
/// use store_search::OpenSearchIndex;
/// let builder = OpenSearchIndex::builder("articles")
///     .url("https://admin:s3cret@search.example.com:9200");
/// assert!(!format!("{builder:?}").contains("s3cret"));
/// let index = builder.build()?; // nothing is sent until the first call
/// assert_eq!(index.name().as_str(), "articles");
/// # Ok::<_, store_core::StoreError>(())
/// ```
#[derive(Clone)]
pub struct OpenSearchIndexBuilder {
    name: String,
    url: Option<String>,
    username: Option<String>,
    password: Option<String>,
    ca_file: Option<PathBuf>,
    timeout: Option<Duration>,
    bulk_options: BulkOptions,
    compressed_responses: bool,
}

impl OpenSearchIndexBuilder {
    /// The cluster URL, such as `http://localhost:9200` or `https://user:pass@host:9200`;
    /// credentials in the URL become basic authentication (unless
    /// [`basic_auth`](Self::basic_auth) is set) and are removed from the URL. Setting a URL
    /// turns off every environment variable. Checked by [`build`](Self::build).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets basic authentication.
    pub fn basic_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// Trusts the CA certificates in this PEM file (one or more) as well as the system's roots,
    /// for a cluster whose certificate a private CA signed — such as the `http_ca.crt`
    /// Elasticsearch 8 makes on its first start. Host names are still verified. Read by
    /// [`build`](Self::build): a missing file or one without a certificate is `InvalidInput`.
    ///
    /// ```no_run
    /// # fn demo() -> store_core::Result<()> {
    /// use store_search::OpenSearchIndex;
    /// let index = OpenSearchIndex::builder("articles")
    ///     .url("https://search.internal:9200")
    ///     .basic_auth("elastic", std::env::var("ELASTIC_PASSWORD").unwrap_or_default())
    ///     .ca_file("/etc/elasticsearch/certs/http_ca.crt")
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Sets the per-request timeout (60 s by default; `None` for none).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether the server is asked to gzip its responses (`Accept-Encoding: gzip`); off by
    /// default (`identity`). Near the cluster, compressing every page of a search on the server
    /// and inflating it here costs both sides more time than the bytes save: a full read of
    /// 100,000 documents of about 500 bytes took twice as long compressed on one machine.
    /// Turn it on for a slow link.
    pub fn compressed_responses(mut self, compressed: bool) -> Self {
        self.compressed_responses = compressed;
        self
    }

    /// The options [`SearchIndex::bulk`](store_core::SearchIndex::bulk) uses (the defaults of
    /// [`BulkOptions`] otherwise).
    pub fn bulk_options(mut self, options: BulkOptions) -> Self {
        self.bulk_options = options;
        self
    }

    /// Makes the handle. Nothing is sent to the cluster.
    ///
    /// `InvalidInput` for a URL that does not parse or is not http(s), or an invalid index name.
    pub fn build(self) -> Result<OpenSearchIndex> {
        let client = self.client()?;
        let name = IndexName::new(&self.name)?;
        Ok(OpenSearchIndex::from_client(client, name).with_bulk_options(self.bulk_options))
    }

    /// Builds the native client: a single-node transport with the system proxy disabled.
    fn client(&self) -> Result<OpenSearch> {
        let (url, mut username, mut password) = match &self.url {
            Some(url) => parse_url(url)?,
            None => from_env()?,
        };
        let ca_file = match (&self.ca_file, &self.url) {
            (Some(path), _) => Some(path.clone()),
            (None, None) => std::env::var_os("STORES_SEARCH_CA_FILE").map(PathBuf::from),
            (None, Some(_)) => None,
        };
        if self.username.is_some() {
            username.clone_from(&self.username);
            password.clone_from(&self.password);
        }
        let mut builder = TransportBuilder::new(SingleNodeConnectionPool::new(url)).disable_proxy();
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        if !self.compressed_responses {
            // The HTTP client asks for gzip unless a request names an encoding itself.
            builder = builder.header(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        }
        if let Some(user) = username {
            builder = builder.auth(Credentials::Basic(user, password.unwrap_or_default()));
        }
        if let Some(path) = ca_file {
            builder = builder.cert_validation(CertificateValidation::Full(read_ca_file(&path)?));
        }
        let transport = builder.build().map_err(|e| {
            StoreError::invalid_input("could not build the OpenSearch transport")
                .with_backend(BACKEND)
                .with_source(redact_urls(&e.to_string()))
        })?;
        Ok(OpenSearch::new(transport))
    }
}

impl fmt::Debug for OpenSearchIndexBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenSearchIndexBuilder")
            .field("name", &self.name)
            .field("url", &self.url.as_deref().map(redact_urls))
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .field("bulk_options", &self.bulk_options)
            .field("compressed_responses", &self.compressed_responses)
            .finish()
    }
}

/// A URL and the basic-auth user and password it carries.
type Endpoint = (Url, Option<String>, Option<String>);

/// The URL without its credentials, and the credentials.
fn parse_url(url: &str) -> Result<Endpoint> {
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
    Ok((parsed, username, password))
}

/// The CA certificates of a PEM file.
fn read_ca_file(path: &std::path::Path) -> Result<Certificate> {
    let pem = std::fs::read(path).map_err(|e| {
        StoreError::invalid_input(format!("cannot read the CA file {}: {e}", path.display()))
            .with_backend(BACKEND)
    })?;
    let has_certificate = String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----");
    match Certificate::from_pem(&pem) {
        Ok(certificate) if has_certificate => Ok(certificate),
        Ok(_) => Err(StoreError::invalid_input(format!(
            "the CA file {} holds no PEM certificate",
            path.display()
        ))
        .with_backend(BACKEND)),
        Err(e) => Err(StoreError::invalid_input(format!(
            "the CA file {} is not a PEM certificate bundle: {e}",
            path.display()
        ))
        .with_backend(BACKEND)),
    }
}

/// The endpoint the environment names (see [`OpenSearchIndex::from_env`]).
fn from_env() -> Result<Endpoint> {
    let url = [
        "STORES_OPENSEARCH_URL",
        "OPENSEARCH_URL",
        "ELASTICSEARCH_URL",
    ]
    .iter()
    .find_map(|name| std::env::var(name).ok())
    .unwrap_or_else(|| DEFAULT_URL.to_owned());
    let mut endpoint = parse_url(&url)?;
    for prefix in ["OPENSEARCH", "ELASTICSEARCH"] {
        if let Ok(user) = std::env::var(format!("{prefix}_USERNAME")) {
            endpoint.1 = Some(user);
            endpoint.2 = Some(std::env::var(format!("{prefix}_PASSWORD")).unwrap_or_default());
            break;
        }
    }
    Ok(endpoint)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_shows() {
        let builder = OpenSearchIndex::builder("x").url("http://bob:p%40ss@localhost:9200");
        let (url, username, password) = parse_url(builder.url.as_deref().unwrap()).unwrap();
        assert_eq!(url.as_str(), "http://localhost:9200/");
        assert_eq!(username.as_deref(), Some("bob"));
        assert_eq!(password.as_deref(), Some("p@ss"));
        let index = builder.clone().build().unwrap();
        let shown = format!("{builder:?} {index:?}");
        assert!(
            !shown.contains("p@ss") && !shown.contains("p%40ss"),
            "{shown}"
        );
        assert_eq!(
            redact_urls("error sending request for url (http://bob:pw@host:9200/x)"),
            "error sending request for url (http://***@host:9200/x)"
        );
        let bad = OpenSearchIndex::builder("x")
            .url("ftp://a:secret@x")
            .build()
            .unwrap_err();
        assert!(!bad.to_string().contains("secret"));
    }

    #[test]
    fn a_ca_file_that_is_missing_or_holds_no_certificate_is_invalid_input() {
        let dir = std::env::temp_dir().join(format!("store-search-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let garbage = dir.join("garbage.pem");
        std::fs::write(&garbage, "not a certificate\n").unwrap();
        for path in [missing, garbage] {
            let e = OpenSearchIndex::builder("x")
                .url("https://localhost:9200")
                .ca_file(&path)
                .build()
                .unwrap_err();
            assert_eq!(e.kind(), store_core::ErrorKind::InvalidInput, "{e}");
            assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
