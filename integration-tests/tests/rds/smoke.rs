//! PostgreSQL smoke tests: the harness's server is the real PostgreSQL 15, reachable directly
//! and through the fault proxy.

use integration_tests::clients::postgres_connect;
use integration_tests::fault_proxy::FaultProxy;
use integration_tests::names::unique_ident;
use integration_tests::services::{Service, endpoint};

#[tokio::test]
async fn server_is_postgresql_15() {
    let client = postgres_connect(&endpoint(Service::Postgres).await)
        .await
        .unwrap();
    let row = client.query_one("SELECT version()", &[]).await.unwrap();
    let version: String = row.get(0);
    assert!(version.starts_with("PostgreSQL 15"), "{version}");
}

#[tokio::test]
async fn tables_round_trip_rows() {
    let client = postgres_connect(&endpoint(Service::Postgres).await)
        .await
        .unwrap();
    let table = unique_ident("smoke");
    client
        .batch_execute(&format!(
            "CREATE TABLE {table} (id int PRIMARY KEY, name text NOT NULL)"
        ))
        .await
        .unwrap();
    client
        .execute(
            &format!("INSERT INTO {table} VALUES ($1, $2)"),
            &[&1i32, &"Robert'); DROP TABLE x;--"],
        )
        .await
        .unwrap();
    let name: String = client
        .query_one(&format!("SELECT name FROM {table} WHERE id = $1"), &[&1i32])
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "Robert'); DROP TABLE x;--");
    client
        .batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn connections_through_the_fault_proxy_break_on_reset_and_recover() {
    let url = endpoint(Service::Postgres).await;
    let upstream = url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("host:port in the PostgreSQL URL")
        .to_owned();
    let proxy = FaultProxy::tcp(&upstream).await.unwrap();
    let proxied = url.replace(&upstream, &proxy.addr().to_string());
    let client = postgres_connect(&proxied).await.unwrap();
    client.query_one("SELECT 1", &[]).await.unwrap();
    proxy.reset_connections();
    let broken = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        client.query_one("SELECT 1", &[]),
    )
    .await
    .expect("a reset connection must fail fast");
    assert!(broken.is_err(), "query on a reset connection succeeded");
    let fresh = postgres_connect(&proxied).await.unwrap();
    fresh.query_one("SELECT 1", &[]).await.unwrap();
}
