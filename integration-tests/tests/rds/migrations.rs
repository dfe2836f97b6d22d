//! Migrations: two migrators at once apply each version exactly once; edits are refused.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use integration_tests::names::unique_ident;
use store_core::sql::{SqlStore, SqlStoreExt};
use store_core::{ErrorKind, Value};
use store_rds::{Migration, Migrator};

use super::support::{config, store};

fn migrations() -> Vec<Migration> {
    vec![
        Migration::new(
            1,
            "accounts",
            "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL)",
        ),
        Migration::new(
            2,
            "balance",
            "ALTER TABLE accounts ADD COLUMN balance numeric(20,2) NOT NULL DEFAULT 0; \
             SELECT pg_sleep(0.2);",
        ),
        Migration::new(
            3,
            "seed",
            "INSERT INTO accounts (id, owner) VALUES (1, 'bank')",
        ),
    ]
}

#[tokio::test]
async fn two_migrators_at_once_migrate_once_and_neither_fails() {
    let admin = store().await;
    let schema = unique_ident("migr");
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("schema");
    let outcome = AssertUnwindSafe(async {
        let a = config()
            .await
            .search_path(&schema)
            .build()
            .expect("store a");
        let b = config()
            .await
            .search_path(&schema)
            .build()
            .expect("store b");
        let migrator = Migrator::new(migrations()).expect("migrator");
        let (ra, rb) = tokio::join!(migrator.run(&a), migrator.run(&b));
        let (ra, rb) = (ra.expect("migrator a"), rb.expect("migrator b"));
        let mut applied = [ra.applied.clone(), rb.applied.clone()];
        applied.sort();
        assert_eq!(applied, [vec![], vec![1, 2, 3]], "{ra:?} {rb:?}");
        let history = a
            .query_all(
                "SELECT version FROM store_rds_migrations ORDER BY version",
                &[],
            )
            .await
            .expect("history");
        assert_eq!(history.len(), 3);
        let seeded = a
            .query_all("SELECT * FROM accounts", &[])
            .await
            .expect("accounts");
        assert_eq!(seeded.len(), 1, "the seed ran once");
        assert_eq!(seeded[0].get("owner"), Some(&Value::from("bank")));

        // Again: nothing to do.
        let again = migrator.run(&a).await.expect("a second run");
        assert!(again.applied.is_empty());
        assert_eq!(again.already_applied, [1, 2, 3]);

        // An applied migration edited afterwards is refused.
        let mut edited = migrations();
        edited[0].sql.push_str(" -- edited");
        let err = Migrator::new(edited)
            .expect("migrator")
            .run(&a)
            .await
            .expect_err("a changed checksum");
        assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");

        // A failing migration is rolled back whole and reported with its version.
        let mut broken = migrations();
        broken.push(Migration::new(
            4,
            "broken",
            "CREATE TABLE half (id int); SELECT nope;",
        ));
        let err = Migrator::new(broken)
            .expect("migrator")
            .run(&a)
            .await
            .expect_err("a failing migration");
        assert!(err.message().contains("V4"), "{err}");
        let half = a
            .query_all("SELECT to_regclass('half')::text AS t", &[])
            .await
            .expect("probe");
        assert_eq!(
            half[0].get("t"),
            Some(&Value::Null),
            "the failed migration left nothing"
        );
    })
    .catch_unwind()
    .await;
    let _ = admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
