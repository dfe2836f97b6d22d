//! Statements and queries: affected rows, rows as documents, streaming, typed rows, scripts.

use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;

use super::{SqlStoreFactory, col, count, exec, expect_kind, rows, scoped};
use crate::error::ErrorKind;
use crate::sql::SqlStoreExt;
use crate::value::Value;

/// `execute` returns how many rows an insert, update or delete affected.
pub async fn execute_reports_affected_rows(factory: &SqlStoreFactory) {
    scoped(
        factory,
        "affected",
        "id integer PRIMARY KEY, name text",
        |store, table| async move {
            let store = &*store;
            let insert =
                format!("INSERT INTO {table} (id, name) VALUES ($1, $2), ($3, $4), ($5, $6)");
            let params = [
                1.into(),
                "a".into(),
                2.into(),
                "b".into(),
                3.into(),
                "c".into(),
            ];
            assert_eq!(exec(store, &insert, &params).await, 3, "a 3-row insert");
            let update = format!("UPDATE {table} SET name = upper(name) WHERE id >= $1");
            assert_eq!(
                exec(store, &update, &[2.into()]).await,
                2,
                "an update of 2 rows"
            );
            let delete = format!("DELETE FROM {table} WHERE id = $1");
            assert_eq!(exec(store, &delete, &[1.into()]).await, 1, "a 1-row delete");
            assert_eq!(
                exec(store, &delete, &[999.into()]).await,
                0,
                "a delete of nothing"
            );
            let bulk = format!(
                "WITH RECURSIVE g(n) AS (SELECT 10 UNION ALL SELECT n + 1 FROM g WHERE n < 19) \
                 INSERT INTO {table} (id, name) SELECT n, 'n' || n FROM g"
            );
            assert_eq!(
                exec(store, &bulk, &[]).await,
                10,
                "an insert ... select of 10 rows"
            );
            assert_eq!(count(store, &table).await, 12);
        },
    )
    .await;
}

/// Rows are documents whose fields are the result columns, named and ordered as selected.
pub async fn rows_are_documents_with_column_names(factory: &SqlStoreFactory) {
    scoped(
        factory,
        "columns",
        "id integer PRIMARY KEY, name text NOT NULL",
        |store, table| async move {
            let store = &*store;
            exec(
                store,
                &format!("INSERT INTO {table} VALUES (1, 'ada'), (2, 'grace')"),
                &[],
            )
            .await;
            // `nothing` is quoted: SQLite reserves it (`ON CONFLICT DO NOTHING`).
            let sql = format!(
                "SELECT id, name AS \"Display Name\", upper(name) AS shout, \
                 CAST(NULL AS text) AS \"nothing\" FROM {table} ORDER BY id"
            );
            let found = rows(store, &sql, &[]).await;
            assert_eq!(found.len(), 2, "two rows");
            let names: Vec<&str> = found[0].keys().collect();
            assert_eq!(
                names,
                ["id", "Display Name", "shout", "nothing"],
                "columns in order"
            );
            assert_eq!(col(&found[0], "id"), &Value::from(1));
            assert_eq!(col(&found[1], "Display Name"), &Value::from("grace"));
            assert_eq!(col(&found[1], "shout"), &Value::from("GRACE"));
            assert_eq!(
                col(&found[0], "nothing"),
                &Value::Null,
                "NULL is Value::Null"
            );
            let none = rows(
                store,
                &format!("SELECT * FROM {table} WHERE id > $1"),
                &[5.into()],
            )
            .await;
            assert!(none.is_empty(), "a query matching nothing has no rows");
        },
    )
    .await;
}

/// A query of 10,000 rows streams them in order; a stream dropped half-read leaves the store
/// usable.
pub async fn query_streams_many_rows_in_order(factory: &SqlStoreFactory) {
    scoped(
        factory,
        "stream",
        "n integer PRIMARY KEY, label text NOT NULL",
        |store, table| async move {
            let store = &*store;
            let fill = format!(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 10000) \
                 INSERT INTO {table} (n, label) SELECT n, 'row ' || n FROM g"
            );
            assert_eq!(exec(store, &fill, &[]).await, 10_000);
            let sql = format!("SELECT n, label FROM {table} ORDER BY n");
            let mut stream = store.query(&sql, &[]);
            let mut expected = 1i64;
            while let Some(row) = stream.next().await {
                let row = row.unwrap_or_else(|e| panic!("row {expected} of the stream: {e}"));
                assert_eq!(col(&row, "n").as_i64(), Some(expected), "rows in order");
                assert_eq!(
                    col(&row, "label"),
                    &Value::String(format!("row {expected}"))
                );
                expected += 1;
            }
            drop(stream);
            assert_eq!(expected, 10_001, "all 10,000 rows streamed");

            let first: Vec<_> = store
                .query(&sql, &[])
                .take(5)
                .try_collect()
                .await
                .expect("the first rows of a stream");
            assert_eq!(first.len(), 5);
            assert_eq!(
                count(store, &table).await,
                10_000,
                "the store works after a dropped stream"
            );
        },
    )
    .await;
}

/// `query_collect` returns at most its limit of rows, in the query's order (all of them
/// without one); a query given up after its limit leaves the store usable, many times over
/// (a pool must not leak the connections of the queries it gave up).
pub async fn query_collect_stops_at_its_limit(factory: &SqlStoreFactory) {
    scoped(
        factory,
        "collect",
        "n integer PRIMARY KEY",
        |store, table| async move {
            let store = &*store;
            let fill = format!(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 2000) \
                 INSERT INTO {table} (n) SELECT n FROM g"
            );
            assert_eq!(exec(store, &fill, &[]).await, 2000);
            let sql = format!("SELECT n FROM {table} ORDER BY n");
            let numbers = |rows: &[crate::value::Document]| -> Vec<i64> {
                rows.iter()
                    .map(|r| col(r, "n").as_i64().expect("an integer"))
                    .collect()
            };
            for _ in 0..40 {
                let first = store
                    .query_collect(&sql, &[], Some(3))
                    .await
                    .expect("the first rows");
                assert_eq!(numbers(&first), [1, 2, 3]);
            }
            let all = store
                .query_collect(&sql, &[], None)
                .await
                .expect("every row");
            assert_eq!(numbers(&all), (1..=2000).collect::<Vec<_>>());
            let exact = format!("SELECT n FROM {table} WHERE n <= 2 ORDER BY n");
            let both = store
                .query_collect(&exact, &[], Some(2))
                .await
                .expect("as many rows as the limit");
            assert_eq!(numbers(&both), [1, 2]);
            let none = store
                .query_collect(&sql, &[], Some(0))
                .await
                .expect("a limit of none");
            assert!(none.is_empty());
            assert_eq!(count(store, &table).await, 2000, "the store works after");
        },
    )
    .await;
}

/// `query_one` wants exactly one row (none is `NotFound`, two `InvalidInput`); `query_opt`
/// at most one.
pub async fn query_one_and_query_opt(factory: &SqlStoreFactory) {
    scoped(
        factory,
        "one",
        "id integer PRIMARY KEY, kind text",
        |store, table| async move {
            let store = &*store;
            exec(
                store,
                &format!("INSERT INTO {table} VALUES (1, 'x'), (2, 'y'), (3, 'y')"),
                &[],
            )
            .await;
            let by_kind = format!("SELECT id FROM {table} WHERE kind = $1 ORDER BY id");
            let one = store
                .query_one(&by_kind, &["x".into()])
                .await
                .expect("query_one of one row");
            assert_eq!(col(&one, "id"), &Value::from(1));
            expect_kind(
                store.query_one(&by_kind, &["z".into()]).await,
                ErrorKind::NotFound,
                "query_one of none",
            );
            expect_kind(
                store.query_one(&by_kind, &["y".into()]).await,
                ErrorKind::InvalidInput,
                "query_one of two",
            );
            let some = store
                .query_opt(&by_kind, &["x".into()])
                .await
                .expect("query_opt of one row");
            assert_eq!(some.as_ref().map(|r| col(r, "id")), Some(&Value::from(1)));
            assert_eq!(
                store
                    .query_opt(&by_kind, &["z".into()])
                    .await
                    .expect("query_opt of none"),
                None
            );
            expect_kind(
                store.query_opt(&by_kind, &["y".into()]).await,
                ErrorKind::InvalidInput,
                "query_opt of two",
            );
        },
    )
    .await;
}

/// `query_as` deserializes rows into a struct, NULL into `None`.
pub async fn query_as_typed_rows(factory: &SqlStoreFactory) {
    #[derive(Debug, PartialEq, Deserialize)]
    struct Player {
        id: i64,
        name: String,
        score: Option<i32>,
        active: bool,
    }
    let columns =
        "id bigint PRIMARY KEY, name text NOT NULL, score integer, active boolean NOT NULL";
    scoped(factory, "typed", columns, |store, table| async move {
        let store = &*store;
        let insert =
            format!("INSERT INTO {table} (id, name, score, active) VALUES ($1, $2, $3, $4)");
        exec(
            store,
            &insert,
            &[1.into(), "ada".into(), 90.into(), true.into()],
        )
        .await;
        exec(
            store,
            &insert,
            &[2.into(), "bob".into(), Value::Null, false.into()],
        )
        .await;
        let sql = format!("SELECT id, name, score, active FROM {table} ORDER BY id");
        let players: Vec<Player> = store
            .query_as(&sql, &[])
            .try_collect()
            .await
            .expect("query_as");
        assert_eq!(
            players,
            [
                Player {
                    id: 1,
                    name: "ada".into(),
                    score: Some(90),
                    active: true
                },
                Player {
                    id: 2,
                    name: "bob".into(),
                    score: None,
                    active: false
                },
            ]
        );
        let wrong: Result<Vec<Player>, _> = store
            .query_as(
                &format!("SELECT name AS id, name, score, active FROM {table}"),
                &[],
            )
            .try_collect()
            .await;
        let e = expect_kind(
            wrong,
            ErrorKind::InvalidInput,
            "a row that does not fit the struct",
        );
        assert!(
            e.message().starts_with("row 1: at `id`:"),
            "the error names the row and the column: {e}"
        );
        let second_row = format!(
            "SELECT id, name, CASE WHEN id = 2 THEN 'lots' END AS score, active \
             FROM {table} ORDER BY id"
        );
        let e = expect_kind(
            store
                .query_as::<Player>(&second_row, &[])
                .try_collect::<Vec<_>>()
                .await,
            ErrorKind::InvalidInput,
            "a text score",
        );
        assert!(
            e.message().starts_with("row 2: at `score`:"),
            "the second row is the one named: {e}"
        );
        let by_id = format!("SELECT id, name, score, active FROM {table} WHERE id = $1");
        let ada: Player = store
            .query_one_as(&by_id, &[1.into()])
            .await
            .expect("query_one_as");
        assert_eq!(ada.name, "ada");
        let none: Option<Player> = store
            .query_opt_as(&by_id, &[7.into()])
            .await
            .expect("query_opt_as of no row");
        assert!(none.is_none());
        let e = expect_kind(
            store
                .query_one_as::<Player>(&format!("SELECT id, name FROM {table} WHERE id = 1"), &[])
                .await,
            ErrorKind::InvalidInput,
            "a row missing a column",
        );
        assert!(
            e.message().contains("`active`"),
            "the missing column is named: {e}"
        );
    })
    .await;
}

/// `batch_execute` runs several statements; a failing one rolls the whole script back.
pub async fn batch_execute_runs_statements(factory: &SqlStoreFactory) {
    scoped(
        factory,
        "batch",
        "id integer PRIMARY KEY, name text",
        |store, table| async move {
            let store = &*store;
            store
                .batch_execute(&format!(
                    "INSERT INTO {table} VALUES (1, 'one'); \
                 INSERT INTO {table} VALUES (2, 'two'); \
                 UPDATE {table} SET name = 'uno' WHERE id = 1;"
                ))
                .await
                .expect("a script of three statements");
            let found = rows(store, &format!("SELECT name FROM {table} ORDER BY id"), &[]).await;
            let names: Vec<&Value> = found.iter().map(|r| col(r, "name")).collect();
            assert_eq!(names, [&Value::from("uno"), &Value::from("two")]);
            expect_kind(
            store
                .batch_execute(&format!(
                    "INSERT INTO {table} VALUES (10, 'ten'); INSERT INTO {table} VALUES (1, 'dup');"
                ))
                .await,
            ErrorKind::AlreadyExists,
            "a script whose second statement violates the key",
        );
            let ten = rows(store, &format!("SELECT id FROM {table} WHERE id = 10"), &[]).await;
            assert!(
                ten.is_empty(),
                "a failed script runs as one transaction: row 10 is rolled back"
            );
        },
    )
    .await;
}

/// Health answers and names the same backend as the store.
pub async fn health_reports_backend(factory: &SqlStoreFactory) {
    let store = factory().await;
    let report = store.health().await.expect("health of a working store");
    assert_eq!(report.backend, store.backend(), "health names the backend");
}
