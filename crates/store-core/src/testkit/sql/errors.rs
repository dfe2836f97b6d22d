//! Errors mapped to kinds a caller can act on.

use super::{SqlStoreFactory, count, exec, expect_kind, scoped, unique_table};
use crate::error::ErrorKind;
use crate::sql::SqlStoreExt;
use crate::value::Value;

/// A duplicate primary key or unique value is `AlreadyExists`, and nothing is written.
pub async fn unique_violation_is_already_exists(factory: &SqlStoreFactory) {
    scoped(
        factory,
        "unique",
        "id integer PRIMARY KEY, email text UNIQUE",
        |store, table| async move {
            let store = &*store;
            let insert = format!("INSERT INTO {table} (id, email) VALUES ($1, $2)");
            exec(store, &insert, &[1.into(), "a@example.com".into()]).await;
            expect_kind(
                store
                    .execute(&insert, &[1.into(), "b@example.com".into()])
                    .await,
                ErrorKind::AlreadyExists,
                "a duplicate primary key",
            );
            expect_kind(
                store
                    .execute(&insert, &[2.into(), "a@example.com".into()])
                    .await,
                ErrorKind::AlreadyExists,
                "a duplicate unique value",
            );
            assert_eq!(count(store, &table).await, 1, "nothing more is written");
        },
    )
    .await;
}

/// NOT NULL and CHECK violations are `InvalidInput`, not retryable, and write nothing.
/// (Values outside a declared type — too long, overflowing — are checked by
/// [`column_types_are_enforced`](super::column_types_are_enforced) where the server enforces
/// types.)
pub async fn constraint_violations_are_invalid_input(factory: &SqlStoreFactory) {
    let columns = "id integer PRIMARY KEY, name text NOT NULL, age integer CHECK (age >= 0), \
                   code varchar(3), ratio numeric(4,2)";
    scoped(factory, "constraints", columns, |store, table| async move {
        let store = &*store;
        let insert =
            format!("INSERT INTO {table} (id, name, age, code, ratio) VALUES ($1, $2, $3, $4, $5)");
        exec(
            store,
            &insert,
            &[1.into(), "ok".into(), 30.into(), "abc".into(), 1.into()],
        )
        .await;
        let cases: [(&str, [Value; 5]); 2] = [
            (
                "a NULL in a NOT NULL column",
                [2.into(), Value::Null, 1.into(), "x".into(), 1.into()],
            ),
            (
                "a CHECK violation",
                [3.into(), "neg".into(), (-1).into(), "x".into(), 1.into()],
            ),
        ];
        for (what, params) in &cases {
            let err = expect_kind(
                store.execute(&insert, params).await,
                ErrorKind::InvalidInput,
                what,
            );
            assert!(!err.is_retryable(), "{what} is not retryable");
        }
        assert_eq!(count(store, &table).await, 1, "no violating row is written");
    })
    .await;
}

/// A missing table is `NotFound`, for queries and statements alike.
pub async fn missing_table_is_not_found(factory: &SqlStoreFactory) {
    let store = factory().await;
    let missing = unique_table("missing");
    expect_kind(
        store
            .query_all(&format!("SELECT * FROM {missing}"), &[])
            .await,
        ErrorKind::NotFound,
        "a query of a missing table",
    );
    // `query_opt` answers `None` for no row, never for a table that is not there.
    expect_kind(
        store
            .query_opt(&format!("SELECT * FROM {missing}"), &[])
            .await,
        ErrorKind::NotFound,
        "query_opt of a missing table",
    );
    expect_kind(
        store
            .execute(&format!("INSERT INTO {missing} VALUES ($1)"), &[1.into()])
            .await,
        ErrorKind::NotFound,
        "an insert into a missing table",
    );
    expect_kind(
        store.batch_execute(&format!("DELETE FROM {missing}")).await,
        ErrorKind::NotFound,
        "a script touching a missing table",
    );
}

/// SQL with a syntax error is `InvalidInput`, from every entry point.
pub async fn syntax_error_is_invalid_input(factory: &SqlStoreFactory) {
    let store = factory().await;
    for sql in [
        "SELEC 1",
        "SELECT * FROM WHERE",
        "INSERT INTO (a) VALUES (1)",
    ] {
        expect_kind(
            store.query_all(sql, &[]).await,
            ErrorKind::InvalidInput,
            &format!("query `{sql}`"),
        );
        expect_kind(
            store.execute(sql, &[]).await,
            ErrorKind::InvalidInput,
            &format!("execute `{sql}`"),
        );
        expect_kind(
            store.batch_execute(sql).await,
            ErrorKind::InvalidInput,
            &format!("batch `{sql}`"),
        );
    }
    store
        .query_all("SELECT 1 AS one", &[])
        .await
        .expect("the store works after errors");
}

/// A wrong number of parameters is `InvalidInput`, and nothing is written. (Parameters their
/// column cannot hold are checked by
/// [`column_types_are_enforced`](super::column_types_are_enforced).)
pub async fn bad_parameters_are_invalid_input(factory: &SqlStoreFactory) {
    let columns = "id integer PRIMARY KEY, small smallint, flag boolean";
    scoped(factory, "params", columns, |store, table| async move {
        let store = &*store;
        let insert = format!("INSERT INTO {table} (id, small, flag) VALUES ($1, $2, $3)");
        let cases: [(&str, Vec<Value>); 2] = [
            ("too few parameters", vec![1.into(), 2.into()]),
            (
                "too many parameters",
                vec![1.into(), 2.into(), true.into(), 4.into()],
            ),
        ];
        for (what, params) in &cases {
            expect_kind(
                store.execute(&insert, params).await,
                ErrorKind::InvalidInput,
                what,
            );
        }
        assert_eq!(count(store, &table).await, 0, "nothing is written");
        exec(store, &insert, &[1.into(), 2.into(), true.into()]).await;
    })
    .await;
}
