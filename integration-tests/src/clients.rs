//! Native SDK clients pointed at the harness's services, for tests that talk to a server
//! directly (smoke tests, setup and verification behind an adapter's back).

use store_dynamo::sdk as dynamo;
use store_s3::sdk as s3;

use crate::services::{Service, endpoint, setting};

fn credentials() -> s3::config::Credentials {
    s3::config::Credentials::new(
        setting("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
        setting("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
        None,
        None,
        "stores-integration-tests",
    )
}

fn region() -> String {
    setting("AWS_REGION").unwrap_or_else(|| "us-east-1".into())
}

/// An S3 client for `endpoint_url` with path-style addressing and the harness's credentials.
pub fn s3_client_at(endpoint_url: &str) -> s3::Client {
    let config = s3::Config::builder()
        .behavior_version(s3::config::BehaviorVersion::latest())
        .endpoint_url(endpoint_url)
        .region(s3::config::Region::new(region()))
        .credentials_provider(credentials())
        .force_path_style(true)
        .build();
    s3::Client::from_conf(config)
}

/// An S3 client for the harness's S3 service.
pub async fn s3_client() -> s3::Client {
    s3_client_at(&endpoint(Service::S3).await)
}

/// A DynamoDB client for `endpoint_url` with the harness's credentials.
pub fn dynamo_client_at(endpoint_url: &str) -> dynamo::Client {
    let config = dynamo::Config::builder()
        .behavior_version(dynamo::config::BehaviorVersion::latest())
        .endpoint_url(endpoint_url)
        .region(dynamo::config::Region::new(region()))
        .credentials_provider(credentials())
        .build();
    dynamo::Client::from_conf(config)
}

/// A DynamoDB client for the harness's DynamoDB service.
pub async fn dynamo_client() -> dynamo::Client {
    dynamo_client_at(&endpoint(Service::DynamoDb).await)
}

/// DynamoDB table administration on the harness's DynamoDB, reaching its DynamoDB Streams too.
pub async fn dynamo_admin() -> store_dynamo::TableAdmin {
    store_dynamo::TableAdmin::builder()
        .endpoint(endpoint(Service::DynamoDb).await)
        .region(region())
        .static_credentials(
            setting("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
            setting("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
        )
        .build()
        .await
}

/// An OpenSearch client for `url` (it speaks to Elasticsearch too).
pub fn opensearch_client_at(url: &str) -> store_search::sdk::OpenSearch {
    let transport = store_search::sdk::http::transport::TransportBuilder::new(
        store_search::sdk::http::transport::SingleNodeConnectionPool::new(
            url.parse().expect("OpenSearch URL"),
        ),
    )
    .disable_proxy()
    .build()
    .expect("OpenSearch transport");
    store_search::sdk::OpenSearch::new(transport)
}

/// An OpenSearch client for the harness's node.
pub async fn opensearch_client() -> store_search::sdk::OpenSearch {
    opensearch_client_at(&endpoint(Service::OpenSearch).await)
}

/// A PostgreSQL connection to `url`; the connection task runs in the background.
pub async fn postgres_connect(
    url: &str,
) -> Result<store_rds::tokio_postgres::Client, store_rds::tokio_postgres::Error> {
    let (client, connection) =
        store_rds::tokio_postgres::connect(url, store_rds::tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}
