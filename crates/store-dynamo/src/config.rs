//! Building: [`DynamoStoreBuilder`] for a store, [`TableAdminBuilder`] for table
//! administration, both from the default AWS chain or explicit settings ([`ClientSettings`]).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use store_core::{KeySchema, Result, RetryPolicy, TableName};

use crate::admin::TableAdmin;
use crate::store::{DynamoStore, IndexInfo, Inner};

/// Builds a [`DynamoStore`]: anything not set comes from the default AWS configuration chain
/// (environment, profile, instance metadata…).
///
/// Credentials given here never appear in `Debug` output, logs or errors.
///
/// ```no_run
/// # async fn demo() -> store_core::Result<()> {
/// use std::time::Duration;
/// use store_core::{KeySchema, KeyType};
/// use store_dynamo::DynamoStore;
/// let store = DynamoStore::builder("users", KeySchema::partition("id", KeyType::String))
///     .region("eu-west-1")
///     .max_attempts(5)
///     .operation_timeout(Duration::from_secs(10))
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DynamoStoreBuilder {
    table: String,
    schema: KeySchema,
    indexes: BTreeMap<String, IndexInfo>,
    batch_retry: RetryPolicy,
    client: ClientSettings,
}

/// How to reach DynamoDB: a client you configured, or settings on top of the default AWS
/// configuration chain. Shared by [`DynamoStoreBuilder`] and [`TableAdminBuilder`].
///
/// Credentials given here never appear in `Debug` output, logs or errors.
#[derive(Default)]
struct ClientSettings {
    endpoint: Option<String>,
    region: Option<String>,
    credentials: Option<Credentials>,
    max_attempts: Option<u32>,
    operation_timeout: Option<Duration>,
    client: Option<Client>,
}

impl fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSettings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "** redacted **"),
            )
            .field("max_attempts", &self.max_attempts)
            .field("operation_timeout", &self.operation_timeout)
            .field("client", &self.client.as_ref().map(|_| "given"))
            .finish()
    }
}

impl ClientSettings {
    /// The client: the one given, or one from the default chain with these settings on top.
    async fn load(self) -> Client {
        match self.load_config().await {
            Ok(config) => Client::new(&config),
            Err(client) => client,
        }
    }

    /// The AWS configuration with these settings on top, or the client given instead of one.
    async fn load_config(self) -> std::result::Result<aws_config::SdkConfig, Client> {
        if let Some(client) = self.client {
            return Err(client);
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = self.region {
            loader = loader.region(Region::new(region));
        }
        if let Some(endpoint) = self.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(credentials) = self.credentials {
            loader = loader.credentials_provider(credentials);
        }
        if let Some(attempts) = self.max_attempts {
            loader = loader.retry_config(RetryConfig::standard().with_max_attempts(attempts));
        }
        if let Some(timeout) = self.operation_timeout {
            loader =
                loader.timeout_config(TimeoutConfig::builder().operation_timeout(timeout).build());
        }
        Ok(loader.load().await)
    }
}

/// The connection setters both builders share, written once.
macro_rules! client_setters {
    () => {
        /// A custom endpoint (DynamoDB Local, moto, LocalStack, a VPC endpoint).
        pub fn endpoint(mut self, url: impl Into<String>) -> Self {
            self.client.endpoint = Some(url.into());
            self
        }

        /// The AWS region.
        pub fn region(mut self, region: impl Into<String>) -> Self {
            self.client.region = Some(region.into());
            self
        }

        /// Static credentials instead of the default chain.
        pub fn static_credentials(
            mut self,
            access_key_id: impl Into<String>,
            secret_access_key: impl Into<String>,
        ) -> Self {
            self.client.credentials = Some(Credentials::new(
                access_key_id,
                secret_access_key,
                None,
                None,
                "store-dynamo-static",
            ));
            self
        }

        /// Attempts of the SDK's standard retry for each call (1 turns it off).
        ///
        /// Under store-layers' `RetryLayer`, set 1: the layer then owns every retry, with its
        /// budget and idempotency rules, and two retry loops never multiply. (Batch calls
        /// always run the SDK with one attempt and retry their unprocessed items with the
        /// store's own `batch_retry` policy: that is per item, which a layer around the
        /// whole call cannot do.)
        pub fn max_attempts(mut self, attempts: u32) -> Self {
            self.client.max_attempts = Some(attempts.max(1));
            self
        }

        /// A time limit for each operation, retries included.
        pub fn operation_timeout(mut self, timeout: Duration) -> Self {
            self.client.operation_timeout = Some(timeout);
            self
        }

        /// Uses a client you configured; the endpoint, region, credentials, retry and
        /// timeout settings of this builder are then ignored.
        pub fn client(mut self, client: Client) -> Self {
            self.client.client = Some(client);
            self
        }
    };
}

impl DynamoStoreBuilder {
    pub(crate) fn new(table: impl Into<String>, schema: KeySchema) -> Self {
        Self {
            table: table.into(),
            schema,
            indexes: BTreeMap::new(),
            batch_retry: RetryPolicy::default(),
            client: ClientSettings::default(),
        }
    }

    client_setters!();

    /// Declares a global secondary index of the table.
    pub fn index(mut self, name: impl Into<String>, schema: KeySchema) -> Self {
        self.indexes.insert(
            name.into(),
            IndexInfo {
                schema,
                global: true,
            },
        );
        self
    }

    /// Declares a local secondary index of the table (consistent reads allowed).
    pub fn local_index(mut self, name: impl Into<String>, schema: KeySchema) -> Self {
        self.indexes.insert(
            name.into(),
            IndexInfo {
                schema,
                global: false,
            },
        );
        self
    }

    /// Backoff for unprocessed batch items and keys and throttled batch calls.
    pub fn batch_retry(mut self, policy: RetryPolicy) -> Self {
        self.batch_retry = policy;
        self
    }

    /// Builds the store (loading the AWS configuration unless a client was given).
    pub async fn build(self) -> Result<DynamoStore> {
        let table = TableName::new(&self.table)?;
        let client = self.client.load().await;
        Ok(DynamoStore::from_inner(Inner {
            client,
            table,
            schema: self.schema,
            indexes: self.indexes,
            batch_retry: self.batch_retry,
        }))
    }
}

/// Builds a [`TableAdmin`]: the same connection settings as [`DynamoStoreBuilder`], with no
/// table or key schema needed.
///
/// ```no_run
/// # async fn demo() -> store_core::Result<()> {
/// use std::time::Duration;
/// use store_core::{KeySchema, KeyType};
/// use store_dynamo::{TableAdmin, TableDefinition};
/// let admin = TableAdmin::builder()
///     .endpoint("http://127.0.0.1:5000")
///     .region("us-east-1")
///     .build()
///     .await;
/// let users = admin
///     .create(
///         &TableDefinition::new("users", KeySchema::partition("id", KeyType::String)),
///         Duration::from_secs(30),
///     )
///     .await?;
/// # let _ = users; Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct TableAdminBuilder {
    client: ClientSettings,
}

impl TableAdminBuilder {
    client_setters!();

    /// Builds the administration handle (loading the AWS configuration unless a client was
    /// given).
    ///
    /// With the `streams` feature, the handle also reaches the same endpoint's DynamoDB Streams
    /// (see `TableAdmin::stream_reader`), unless a client was given.
    pub async fn build(self) -> TableAdmin {
        match self.client.load_config().await {
            Ok(config) => {
                let admin = TableAdmin::from_client(Client::new(&config));
                #[cfg(feature = "streams")]
                let admin =
                    admin.with_streams_client(aws_sdk_dynamodbstreams::Client::new(&config));
                admin
            }
            Err(client) => TableAdmin::from_client(client),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::KeyType;

    #[test]
    fn debug_never_shows_credentials() {
        let builder = DynamoStore::builder("t", KeySchema::partition("id", KeyType::String))
            .static_credentials("AKIDEXAMPLE", "very-secret-key");
        let shown = format!("{builder:?}");
        assert!(!shown.contains("very-secret-key"), "{shown}");
        assert!(!shown.contains("AKIDEXAMPLE"), "{shown}");
        assert!(shown.contains("redacted"));
        let admin = TableAdmin::builder().static_credentials("AKIDEXAMPLE", "very-secret-key");
        let shown = format!("{admin:?}");
        assert!(!shown.contains("very-secret-key"), "{shown}");
        assert!(!shown.contains("AKIDEXAMPLE"), "{shown}");
    }

    #[tokio::test]
    async fn built_store_debug_is_clean() {
        let store = DynamoStore::builder("tbl", KeySchema::partition("id", KeyType::String))
            .endpoint("http://127.0.0.1:1")
            .region("us-east-1")
            .static_credentials("AKIDEXAMPLE", "very-secret-key")
            .build()
            .await
            .unwrap();
        let shown = format!("{store:?}");
        assert!(!shown.contains("very-secret-key"), "{shown}");
        let err = DynamoStore::builder("", KeySchema::partition("id", KeyType::String))
            .build()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
    }
}
