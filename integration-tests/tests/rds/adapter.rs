//! The adapter's own behaviour: column types, conflicting serializable transactions retried,
//! error details, pool state and health, native parameters.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use integration_tests::names::unique_ident;
use store_core::sql::{IsolationLevel, SqlStore, SqlStoreExt};
use store_core::{Document, ErrorKind, Health, Number, RetryPolicy, Value};

use super::support::store;

fn num(text: &str) -> Value {
    Value::Number(text.parse::<Number>().expect("a number"))
}

/// Drops `table` when the test ends, pass or fail.
struct Cleanup(store_rds::PgStore, String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (store, table) = (self.0.clone(), self.1.clone());
        // Tests run on a multi-thread-capable runtime only when asked; use a fresh thread.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                let _ = store
                    .batch_execute(&format!("DROP TABLE IF EXISTS {table} CASCADE"))
                    .await;
            });
        })
        .join()
        .ok();
    }
}

#[tokio::test]
async fn every_listed_column_type_round_trips() {
    let store = store().await;
    let table = unique_ident("types");
    let _cleanup = Cleanup(store.clone(), table.clone());
    store
        .batch_execute(&format!(
            "CREATE TABLE {table} (
                id int PRIMARY KEY, b bool, s smallint, i int, l bigint, r real, d double precision,
                n numeric(38,10), t text, v varchar(10), by bytea, j json, jb jsonb, u uuid,
                day date, ts timestamp, tz timestamptz,
                ints int[], texts text[], nums numeric[], days date[], grid bigint[][], docs jsonb[]
            )"
        ))
        .await
        .expect("create");
    let doc = Document::new()
        .with("exact", num("0.1000000000000000000001"))
        .with("list", vec![Value::from(1), Value::Null, Value::from("x")]);
    let row: Vec<Value> = vec![
        1.into(),
        true.into(),
        (-32768).into(),
        2_147_483_647.into(),
        i64::MIN.into(),
        num("1.5"),
        num("0.1"),
        num("1234567890123456789012345678.1234567891"),
        "tëxt 'quoted'".into(),
        "short".into(),
        Value::Bytes(Bytes::from_static(b"\x00\x01\xff")),
        Value::Map(doc.clone()),
        Value::Map(doc.clone()),
        "67e55044-10b1-426f-9247-bb680e5fe0c8".into(),
        "2024-02-29".into(),
        "2024-02-29T13:14:15.123456".into(),
        "2024-02-29T13:14:15.5Z".into(),
        Value::List(vec![1.into(), Value::Null, 3.into()]),
        Value::List(vec!["a,b".into(), "{c}".into(), "\"d\"".into()]),
        Value::List(vec![num("1.50"), num("-99999999999999999999.000001")]),
        Value::List(vec!["2024-01-01".into(), Value::Null]),
        Value::List(vec![vec![1, 2].into(), vec![3, 4].into()]),
        Value::List(vec![Value::Map(doc.clone()), Value::List(vec![1.into()])]),
    ];
    let placeholders: Vec<String> = (1..=row.len()).map(|i| format!("${i}")).collect();
    store
        .execute(
            &format!("INSERT INTO {table} VALUES ({})", placeholders.join(", ")),
            &row,
        )
        .await
        .expect("insert every type");
    let back = store
        .query_one(&format!("SELECT * FROM {table}"), &[])
        .await
        .expect("read back");
    let values: Vec<&Value> = back.iter().map(|(_, v)| v).collect();
    assert_eq!(values, row.iter().collect::<Vec<_>>(), "{back:?}");

    // COPY writes the same row; COPY OUT and the row stream read it the same way.
    let mut copied = row.clone();
    copied[0] = 2.into();
    let written = store
        .copy_in(&table, &[], futures::stream::iter([Ok(copied.clone())]))
        .await
        .expect("copy in every type");
    assert_eq!(written, 1);
    let out: Vec<Document> = store
        .copy_out(&format!("SELECT * FROM {table} WHERE id = 2"))
        .await
        .expect("copy out")
        .try_collect()
        .await
        .expect("copy out rows");
    let values: Vec<&Value> = out[0].iter().map(|(_, v)| v).collect();
    assert_eq!(values, copied.iter().collect::<Vec<_>>());

    // numeric(38,10) keeps the column's scale; float NaN is refused, not mangled.
    let scaled = store
        .query_one("SELECT 42::numeric(38,10) AS n", &[])
        .await
        .expect("scaled");
    assert_eq!(
        scaled
            .get("n")
            .and_then(Value::as_number)
            .map(Number::to_plain_string)
            .as_deref(),
        Some("42.0000000000")
    );
    let nan = store.query_all("SELECT 'NaN'::float8 AS f", &[]).await;
    assert_eq!(
        nan.expect_err("NaN has no exact number").kind(),
        ErrorKind::Unsupported
    );
}

#[tokio::test]
async fn conflicting_serializable_transactions_are_retried_and_land_once() {
    let store = Arc::new(store().await);
    let table = unique_ident("skew");
    let _cleanup = Cleanup((*store).clone(), table.clone());
    store
        .batch_execute(&format!(
            "CREATE TABLE {table} (who text PRIMARY KEY, seen bigint NOT NULL)"
        ))
        .await
        .expect("create");
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let attempts = Arc::new(AtomicU32::new(0));
    let policy = RetryPolicy::default()
        .max_attempts(5)
        .base_delay(Duration::from_millis(5));
    let run = |who: &'static str| {
        let (store, table, barrier, attempts, policy) = (
            store.clone(),
            table.clone(),
            barrier.clone(),
            attempts.clone(),
            policy.clone(),
        );
        tokio::spawn(async move {
            let mut first = true;
            store
                .transaction(IsolationLevel::Serializable, &policy, move |tx| {
                    let (table, barrier, attempts) =
                        (table.clone(), barrier.clone(), attempts.clone());
                    let wait = std::mem::replace(&mut first, false);
                    async move {
                        attempts.fetch_add(1, Ordering::SeqCst);
                        let seen = tx
                            .query(&format!("SELECT count(*) AS n FROM {table}"), &[])
                            .await?;
                        let n = seen[0].get("n").cloned().unwrap_or_default();
                        if wait {
                            // Both read before either writes: a write skew SSI must break.
                            barrier.wait().await;
                        }
                        tx.execute(
                            &format!("INSERT INTO {table} (who, seen) VALUES ($1, $2)"),
                            &[who.into(), n],
                        )
                        .await?;
                        Ok(())
                    }
                })
                .await
        })
    };
    let (a, b) = (run("a"), run("b"));
    let (a, b) = (a.await.expect("task a"), b.await.expect("task b"));
    a.expect("transaction a ends committed");
    b.expect("transaction b ends committed");
    let rows = store
        .query_all(&format!("SELECT who, seen FROM {table} ORDER BY seen"), &[])
        .await
        .expect("rows");
    assert_eq!(rows.len(), 2, "both effects landed exactly once: {rows:?}");
    assert_eq!(rows[0].get("seen"), Some(&Value::from(0)));
    assert_eq!(
        rows[1].get("seen"),
        Some(&Value::from(1)),
        "the retried one saw the other"
    );
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "exactly one attempt was retried"
    );
}

#[tokio::test]
async fn errors_name_the_constraint_and_never_the_password() {
    let store = store().await;
    let parent = unique_ident("parent");
    let child = unique_ident("child");
    let _c1 = Cleanup(store.clone(), child.clone());
    let _c2 = Cleanup(store.clone(), parent.clone());
    store
        .batch_execute(&format!(
            "CREATE TABLE {parent} (id int PRIMARY KEY);
             CREATE TABLE {child} (id int PRIMARY KEY, parent int CONSTRAINT child_parent_fk REFERENCES {parent}(id))"
        ))
        .await
        .expect("create");
    let err = store
        .execute(
            &format!("INSERT INTO {child} VALUES ($1, $2)"),
            &[1.into(), 99.into()],
        )
        .await
        .expect_err("a dangling foreign key");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("child_parent_fk"), "{err}");
    assert!(err.message().contains("23503"), "{err}");
    assert_eq!(
        err.status_code(),
        Some("23503"),
        "the SQLSTATE is the response status"
    );
    assert_eq!(err.backend(), Some("postgres"));
    assert!(
        std::error::Error::source(&err).is_some(),
        "the driver error is chained"
    );

    let err = store
        .execute("SELECT $1::int", &["x".into()])
        .await
        .expect_err("text for an int parameter");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("$1"), "names the parameter: {err}");

    // A wrong password on an unreachable port: the error says where, never the secret.
    let config = store_rds::PgConfig::from_url("postgres://app:Sup3rSecret@127.0.0.1:1/db")
        .expect("parses")
        .create_timeout(Duration::from_millis(500));
    let down = config.build().expect("builds");
    let err = down.health().await.expect_err("nothing listens on port 1");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    // The message itself says why, not only the driver's "error connecting to server".
    assert!(err.message().contains("refused"), "{err}");
    for shown in [err.to_string(), format!("{err:?}"), format!("{down:?}")] {
        assert!(!shown.contains("Sup3rSecret"), "{shown}");
    }
}

#[tokio::test]
async fn pool_status_health_and_native_parameters() {
    let store = store().await;
    let report = store.health().await.expect("health");
    assert_eq!(report.backend, "postgres");
    assert!(
        report
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("PostgreSQL 15"),
        "{report:?}"
    );
    let status = store.pool_status();
    assert_eq!(status.max_size, 4);
    assert!(status.size >= 1 && status.available >= 1, "{status:?}");

    let rows = store
        .query_params(
            "SELECT $1::bigint * 2 AS twice, $2::text AS t",
            &[&21i64, &"native"],
        )
        .await
        .expect("native parameters");
    assert_eq!(rows[0].get("twice"), Some(&Value::from(42)));
    assert_eq!(rows[0].get("t"), Some(&Value::from("native")));
    let client = store.client().await.expect("the native client");
    let one: i32 = client
        .query_one("SELECT 1", &[])
        .await
        .expect("native query")
        .get(0);
    assert_eq!(one, 1);
}

#[tokio::test]
async fn cached_statements_survive_a_changed_table() {
    // One connection, so the second query meets the statement cached by the first.
    let store = super::support::config()
        .await
        .pool_size(1)
        .build()
        .expect("store");
    let table = unique_ident("altered");
    let _cleanup = Cleanup(store.clone(), table.clone());
    store
        .batch_execute(&format!(
            "CREATE TABLE {table} (a int); INSERT INTO {table} VALUES (1)"
        ))
        .await
        .expect("create");
    let select = format!("SELECT * FROM {table}");
    let before = store.query_one(&select, &[]).await.expect("first query");
    assert_eq!(before.len(), 1);
    store
        .batch_execute(&format!(
            "ALTER TABLE {table} ADD COLUMN b text DEFAULT 'new'"
        ))
        .await
        .expect("alter");
    let after = store
        .query_one(&select, &[])
        .await
        .expect("the stale cached plan is prepared again");
    assert_eq!(after.get("b"), Some(&Value::from("new")));
    let touched = store
        .execute(
            &format!("UPDATE {table} SET b = $1 RETURNING *"),
            &["x".into()],
        )
        .await
        .expect("update");
    assert_eq!(touched, 1);
}
