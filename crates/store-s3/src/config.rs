//! How an [`S3Store`] is made: [`S3StoreBuilder`] (with [`S3Store::builder`]) and
//! [`S3Store::from_env`].

use std::fmt;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{Credentials, Region};
use store_core::{Result, StoreError};

use crate::BACKEND;
use crate::options::S3PutOptions;
use crate::store::S3Store;
use crate::transfer::TransferConfig;

/// The SDK's retry strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetryMode {
    /// Exponential backoff with jitter and a retry token bucket (the SDK default).
    #[default]
    Standard,
    /// Standard plus client-side rate limiting that adapts to throttling answers.
    Adaptive,
}

/// Builds an [`S3Store`] for one bucket.
///
/// Anything not set comes from aws-config's default chain (environment, shared profile,
/// `AWS_ENDPOINT_URL`, container and instance credentials).
///
/// ```no_run
/// # async fn demo() -> store_core::Result<()> {
/// use std::time::Duration;
/// use store_s3::{RetryMode, S3Store};
/// let store = S3Store::builder("my-bucket")
///     .endpoint("http://127.0.0.1:9000")
///     .region("us-east-1")
///     .force_path_style(true)
///     .static_credentials("AKIDEXAMPLE", "secret")
///     .operation_timeout(Duration::from_secs(30))
///     .retry(RetryMode::Adaptive, 5)
///     .build()
///     .await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct S3StoreBuilder {
    bucket: String,
    endpoint: Option<String>,
    region: Option<String>,
    force_path_style: Option<bool>,
    credentials: Option<Credentials>,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    operation_timeout: Option<Duration>,
    attempt_timeout: Option<Duration>,
    retry: Option<(RetryMode, u32)>,
    transfer: TransferConfig,
    put_defaults: S3PutOptions,
}

impl fmt::Debug for S3StoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3StoreBuilder")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("force_path_style", &self.force_path_style)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "static (redacted)"),
            )
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("retry", &self.retry)
            .field("transfer", &self.transfer)
            .field("put_defaults", &self.put_defaults)
            .finish()
    }
}

impl S3Store {
    /// A builder for a store on `bucket`.
    pub fn builder(bucket: impl Into<String>) -> S3StoreBuilder {
        S3StoreBuilder::new(bucket)
    }

    /// A store on `bucket` configured entirely by aws-config's default chain (environment,
    /// profile, `AWS_ENDPOINT_URL`...).
    pub async fn from_env(bucket: impl Into<String>) -> Result<Self> {
        S3StoreBuilder::new(bucket).build().await
    }
}

impl S3StoreBuilder {
    /// A builder for `bucket`, everything else from the default chain.
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            ..Self::default()
        }
    }

    /// The S3 endpoint URL (MinIO, LocalStack, moto...); default: AWS's.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Path-style addressing (`endpoint/bucket/key`), needed by most local servers.
    pub fn force_path_style(mut self, on: bool) -> Self {
        self.force_path_style = Some(on);
        self
    }

    /// Static credentials instead of the default chain. The secret never appears in any
    /// Debug or Display output.
    pub fn static_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "store-s3-static",
        ));
        self
    }

    /// Static credentials with a session token.
    pub fn session_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials::new(
            access_key_id,
            secret_access_key,
            Some(session_token.into()),
            None,
            "store-s3-static",
        ));
        self
    }

    /// How long to wait for a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long to wait for the first byte of a response.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = Some(timeout);
        self
    }

    /// The limit for a whole operation, retries included.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = Some(timeout);
        self
    }

    /// The limit for one attempt of an operation.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// The SDK's retry mode and total attempts (1 disables retries).
    ///
    /// Under store-layers' `RetryLayer`, set `retry(RetryMode::Standard, 1)`: the layer then
    /// owns every retry, with its budget and idempotency rules, and two retry loops never
    /// multiply. (Multipart parts always retry on their own, with the SDK's retry off.)
    pub fn retry(mut self, mode: RetryMode, max_attempts: u32) -> Self {
        self.retry = Some((mode, max_attempts.max(1)));
        self
    }

    /// How large transfers are split.
    pub fn transfer(mut self, transfer: TransferConfig) -> Self {
        self.transfer = transfer;
        self
    }

    /// S3 options for every write that names none: server-side encryption, checksum,
    /// storage class, tags (see [`S3Store::with_put_defaults`]).
    pub fn put_defaults(mut self, defaults: S3PutOptions) -> Self {
        self.put_defaults = defaults;
        self
    }

    /// Resolves the configuration and makes the store. Nothing is sent to S3.
    ///
    /// Fails with `InvalidInput` for an invalid bucket name or transfer config, or when no
    /// region can be found.
    pub async fn build(self) -> Result<S3Store> {
        validate_bucket_name(&self.bucket)?;
        self.transfer
            .validate()
            .map_err(|e| e.in_context(BACKEND, "build"))?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &self.endpoint {
            loader = loader.endpoint_url(endpoint.clone());
        }
        if let Some(credentials) = self.credentials.clone() {
            loader = loader.credentials_provider(credentials);
        }
        if let Some((mode, attempts)) = self.retry {
            let config = match mode {
                RetryMode::Standard => RetryConfig::standard(),
                RetryMode::Adaptive => RetryConfig::adaptive(),
            };
            loader = loader.retry_config(config.with_max_attempts(attempts));
        }
        let timeouts = [
            self.connect_timeout,
            self.read_timeout,
            self.operation_timeout,
            self.attempt_timeout,
        ];
        if timeouts.iter().any(Option::is_some) {
            let mut t = TimeoutConfig::builder();
            if let Some(d) = self.connect_timeout {
                t = t.connect_timeout(d);
            }
            if let Some(d) = self.read_timeout {
                t = t.read_timeout(d);
            }
            if let Some(d) = self.operation_timeout {
                t = t.operation_timeout(d);
            }
            if let Some(d) = self.attempt_timeout {
                t = t.operation_attempt_timeout(d);
            }
            loader = loader.timeout_config(t.build());
        }
        let shared = loader.load().await;
        if shared.region().is_none() {
            return Err(StoreError::invalid_input(
                "no AWS region is configured: set AWS_REGION or call S3StoreBuilder::region",
            )
            .in_context(BACKEND, "build"));
        }
        let mut config = aws_sdk_s3::config::Builder::from(&shared);
        if let Some(path_style) = self.force_path_style {
            config = config.force_path_style(path_style);
        }
        let client = aws_sdk_s3::Client::from_conf(config.build());
        S3Store::from_client(client, self.bucket)
            .with_transfer(self.transfer)
            .with_put_defaults(self.put_defaults)
            .map_err(|e| e.in_context(BACKEND, "build"))
    }
}

/// Checks S3's bucket naming rules: 3 to 63 characters of lowercase letters, digits, `.` and
/// `-`, starting and ending with a letter or digit.
pub fn validate_bucket_name(bucket: &str) -> Result<()> {
    let ok_chars = bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !(3..=63).contains(&bucket.len())
        || !ok_chars
        || !ends_ok(bucket.bytes().next())
        || !ends_ok(bucket.bytes().last())
        || bucket.contains("..")
    {
        return Err(StoreError::invalid_input(format!(
            "`{bucket}` is not a valid bucket name: use 3 to 63 lowercase letters, digits, `.` \
             and `-`, starting and ending with a letter or digit"
        ))
        .in_context(BACKEND, "build"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_debug_hides_the_secret() {
        let b = S3StoreBuilder::new("bucket").static_credentials("AKID", "very-secret-value");
        let text = format!("{b:?}");
        assert!(!text.contains("very-secret-value"), "{text}");
        assert!(!text.contains("AKID"), "{text}");
    }

    #[test]
    fn bucket_names_are_checked() {
        assert!(validate_bucket_name("my-bucket.1").is_ok());
        for bad in ["ab", "Upper", "-start", "end-", "a..b", "under_score"] {
            assert!(validate_bucket_name(bad).is_err(), "{bad}");
        }
    }
}
