//! SQL stores: SQLite (rusqlite) and PostgreSQL.

use integration_tests::hostile::Report;
use integration_tests::hostile::sql::{Dialect, run};
use integration_tests::names::unique_ident;
use integration_tests::services::{Service, endpoint};
use store_rds::PgConfig;
use store_rusqlite::SqliteStore;

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("hostile.db"))
        .await
        .unwrap();
    let dialect = Dialect {
        // DECIMAL_TEXT keeps every digit, as store-rusqlite's README says (SQLite's NUMERIC
        // affinity keeps 15).
        create_table: |t| {
            format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, t TEXT, n DECIMAL_TEXT)")
        },
        param: |n| format!("${n}"),
    };
    run(&store, Report::new("SQLite"), "hostile", &dialect).await;
}

#[tokio::test]
async fn postgres() {
    let store = PgConfig::from_url(&endpoint(Service::Postgres).await)
        .unwrap()
        .build()
        .unwrap();
    let dialect = Dialect {
        create_table: |t| format!("CREATE TABLE {t} (id bigint PRIMARY KEY, t text, n numeric)"),
        param: |n| format!("${n}"),
    };
    run(
        &store,
        Report::new("PostgreSQL 15"),
        &unique_ident("hostile"),
        &dialect,
    )
    .await;
}
