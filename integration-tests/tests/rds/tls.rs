//! TLS to the harness's PostgreSQL (ssl=on, its certificate signed by a throwaway CA made at
//! start-up, named by STORES_POSTGRES_CA), with libpq's `sslmode` meanings: what each mode
//! accepts and refuses, read back from the server's own `pg_stat_ssl`.

use std::path::PathBuf;

use integration_tests::services::{repo_root, setting};
use store_core::{ErrorKind, SqlStoreExt, StoreError, Value};
use store_rds::{PgConfig, PgStore, RootCerts, SslMode};

use crate::support::url;

/// The CA that signed the harness server's certificate.
fn harness_ca() -> String {
    setting("STORES_POSTGRES_CA")
        .expect("STORES_POSTGRES_CA is not set: start PostgreSQL with integration-tests/services/up.sh postgres")
}

/// A CA that signed nothing the server has (checked in, certificate only).
fn other_ca() -> String {
    repo_root()
        .join("integration-tests/data/tls/other-ca.pem")
        .display()
        .to_string()
}

/// A key=value connection string for the harness's server, reached at 127.0.0.1 but
/// presenting itself as `host`, with `extra` settings.
async fn conninfo(host: &str, extra: &str) -> String {
    let url = url().await;
    let port = url
        .rsplit(':')
        .next()
        .and_then(|rest| rest.split('/').next())
        .expect("a port in the harness URL");
    format!("host={host} hostaddr=127.0.0.1 port={port} user=postgres dbname=stores_test {extra}")
}

/// Whether the store's connection is encrypted, as the server sees it.
async fn encrypted(store: &PgStore) -> Result<bool, StoreError> {
    let row = store
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await?;
    match row.get("ssl") {
        Some(Value::Bool(on)) => Ok(*on),
        other => panic!("pg_stat_ssl gave {other:?}"),
    }
}

/// Connects with `conninfo` and reports whether the connection is encrypted.
async fn connect(conninfo: &str) -> Result<bool, StoreError> {
    let store = PgConfig::from_url(conninfo)?.pool_size(1).build()?;
    encrypted(&store).await
}

fn assert_refused(outcome: Result<bool, StoreError>, what: &str) {
    let err = outcome.expect_err(what);
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{what}: {err}");
    assert!(err.message().contains("certificate"), "{what}: {err}");
}

#[tokio::test]
async fn verify_full_accepts_the_right_ca_for_a_name_or_an_address_in_the_certificate() {
    let ca = harness_ca();
    for host in ["localhost", "127.0.0.1"] {
        let info = conninfo(host, &format!("sslmode=verify-full sslrootcert={ca}")).await;
        assert!(connect(&info).await.expect(host), "{host}: not encrypted");
    }
}

#[tokio::test]
async fn verify_ca_skips_the_host_name_that_verify_full_checks() {
    let ca = harness_ca();
    let settings = |mode: &str| format!("sslmode={mode} sslrootcert={ca}");
    let verify_ca = conninfo("wrong.example", &settings("verify-ca")).await;
    let verify_full = conninfo("wrong.example", &settings("verify-full")).await;
    assert!(connect(&verify_ca).await.expect("verify-ca"));
    assert_refused(
        connect(&verify_full).await,
        "verify-full with a host the certificate does not name",
    );
}

#[tokio::test]
async fn another_ca_is_refused_and_require_checks_only_when_given_roots() {
    let other = other_ca();
    for mode in ["verify-ca", "verify-full", "require"] {
        let info = conninfo("localhost", &format!("sslmode={mode} sslrootcert={other}")).await;
        assert_refused(
            connect(&info).await,
            &format!("{mode} with an unrelated CA"),
        );
    }
    // libpq's require: encrypted, the certificate not checked when no roots are given.
    let info = conninfo("localhost", "sslmode=require").await;
    assert!(connect(&info).await.expect("require without roots"));
}

#[tokio::test]
async fn prefer_encrypts_and_disable_does_not() {
    assert!(connect(&url().await).await.expect("the default, prefer"));
    let info = conninfo("localhost", "sslmode=disable").await;
    assert!(!connect(&info).await.expect("disable"));
}

#[tokio::test]
async fn the_builder_and_the_environment_set_the_same_modes() {
    let ca = harness_ca();
    let store = PgConfig::from_url(&conninfo("localhost", "").await)
        .expect("conninfo")
        .ssl_mode(SslMode::VerifyFull)
        .root_certs(RootCerts::File(PathBuf::from(&ca)))
        .pool_size(1)
        .build()
        .expect("builds");
    assert!(encrypted(&store).await.expect("builder"));

    let port = url()
        .await
        .rsplit(':')
        .next()
        .and_then(|r| r.split('/').next())
        .map(str::to_owned);
    let vars = move |name: &str| match name {
        "PGHOST" => Some("localhost".to_owned()),
        "PGPORT" => port.clone(),
        "PGUSER" => Some("postgres".to_owned()),
        "PGDATABASE" => Some("stores_test".to_owned()),
        "PGSSLMODE" => Some("verify-full".to_owned()),
        "PGSSLROOTCERT" => Some(other_ca()),
        _ => None,
    };
    let store = PgConfig::from_lookup(vars)
        .expect("env")
        .pool_size(1)
        .build()
        .expect("builds");
    assert_refused(
        encrypted(&store).await,
        "PGSSLROOTCERT naming an unrelated CA",
    );
}

#[tokio::test]
async fn a_root_file_that_cannot_be_read_is_named_before_any_connection() {
    let info = conninfo(
        "localhost",
        "sslmode=verify-full sslrootcert=/nonexistent/ca.pem",
    )
    .await;
    let err = PgConfig::from_url(&info)
        .and_then(PgConfig::build)
        .expect_err("a missing root file");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("/nonexistent/ca.pem"), "{err}");
    let system_too_weak = conninfo("localhost", "sslmode=require sslrootcert=system").await;
    let err = PgConfig::from_url(&system_too_weak)
        .and_then(PgConfig::build)
        .expect_err("system roots need verify-full");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}
