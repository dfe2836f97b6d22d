//! Shared helpers: stores on the harness's PostgreSQL, directly or through a fault proxy.

use std::time::Duration;

use integration_tests::fault_proxy::FaultProxy;
use integration_tests::services::{Service, endpoint};
use store_rds::{PgConfig, PgStore};

/// The harness's PostgreSQL URL.
pub(crate) async fn url() -> String {
    endpoint(Service::Postgres).await
}

/// Settings for the harness's PostgreSQL with a small pool.
pub(crate) async fn config() -> PgConfig {
    PgConfig::from_url(&url().await)
        .expect("the harness URL parses")
        .pool_size(4)
}

/// A store on the harness's PostgreSQL.
pub(crate) async fn store() -> PgStore {
    config().await.build().expect("the store builds")
}

/// A fault proxy in front of the harness's PostgreSQL, and the URL that goes through it.
pub(crate) async fn proxied() -> (FaultProxy, String) {
    let url = url().await;
    let upstream = url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("host:port in the PostgreSQL URL")
        .to_owned();
    let proxy = FaultProxy::tcp(&upstream).await.expect("the proxy starts");
    let through = url.replace(&upstream, &proxy.addr().to_string());
    (proxy, through)
}

/// Fails the test if `fut` takes longer than `limit`.
pub(crate) async fn within<T>(limit: Duration, what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} took over {limit:?}: a caller hung"))
}
