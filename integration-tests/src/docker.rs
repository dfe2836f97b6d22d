//! The Docker path: the same services through testcontainers, for machines with a Docker engine.
//!
//! Containers start once per test process and live until it exits. This path cannot run on
//! machines without Docker (ours); it is kept compiling and small.

use std::path::Path;

use testcontainers_modules::elastic_search::ElasticSearch;
use testcontainers_modules::localstack::LocalStack;
use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, GenericImage, ImageExt};
use tokio::sync::OnceCell;

use crate::services::Service;

/// Whether a Docker engine seems reachable.
pub(crate) fn available() -> bool {
    std::env::var_os("DOCKER_HOST").is_some() || Path::new("/var/run/docker.sock").exists()
}

static POSTGRES: OnceCell<ContainerAsync<Postgres>> = OnceCell::const_new();
static LOCALSTACK: OnceCell<ContainerAsync<LocalStack>> = OnceCell::const_new();
static OPENSEARCH: OnceCell<ContainerAsync<GenericImage>> = OnceCell::const_new();
static ELASTICSEARCH: OnceCell<ContainerAsync<ElasticSearch>> = OnceCell::const_new();

/// Starts (once) the container for `service` and returns its endpoint.
pub(crate) async fn endpoint(service: Service) -> anyhow::Result<String> {
    match service {
        Service::Postgres => {
            let c = POSTGRES
                .get_or_try_init(|| async {
                    Postgres::default()
                        .with_db_name("stores_test")
                        .with_host_auth()
                        .with_tag("15-alpine")
                        // Logical decoding, for the change-feed tests.
                        .with_cmd([
                            "postgres",
                            "-c",
                            "wal_level=logical",
                            "-c",
                            "max_replication_slots=32",
                        ])
                        .start()
                        .await
                })
                .await?;
            let port = c.get_host_port_ipv4(5432).await?;
            Ok(format!("postgres://postgres@127.0.0.1:{port}/stores_test"))
        }
        Service::S3 | Service::DynamoDb => {
            let c = LOCALSTACK
                .get_or_try_init(|| async {
                    LocalStack::default()
                        .with_env_var("SERVICES", "s3,dynamodb")
                        .start()
                        .await
                })
                .await?;
            let port = c.get_host_port_ipv4(4566).await?;
            Ok(format!("http://127.0.0.1:{port}"))
        }
        Service::OpenSearch => {
            let c = OPENSEARCH
                .get_or_try_init(|| async {
                    GenericImage::new("opensearchproject/opensearch", "2.19.2")
                        .with_exposed_port(9200.tcp())
                        .with_wait_for(WaitFor::message_on_stdout("started"))
                        .with_env_var("discovery.type", "single-node")
                        .with_env_var("DISABLE_SECURITY_PLUGIN", "true")
                        .with_env_var("OPENSEARCH_JAVA_OPTS", "-Xms512m -Xmx1g")
                        .start()
                        .await
                })
                .await?;
            let port = c.get_host_port_ipv4(9200).await?;
            Ok(format!("http://127.0.0.1:{port}"))
        }
        Service::Elasticsearch => {
            // Elasticsearch 8 with security off: HTTP without a password, as the local node.
            let c = ELASTICSEARCH
                .get_or_try_init(|| async {
                    ElasticSearch::default()
                        .with_tag("8.15.5")
                        .with_env_var("xpack.security.enabled", "false")
                        .with_env_var("ES_JAVA_OPTS", "-Xms512m -Xmx1g")
                        .start()
                        .await
                })
                .await?;
            let port = c.get_host_port_ipv4(9200).await?;
            Ok(format!("http://127.0.0.1:{port}"))
        }
    }
}
