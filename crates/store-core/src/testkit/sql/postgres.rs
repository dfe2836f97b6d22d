//! Behaviours of PostgreSQL's type system and dialect. Each needs a capability from
//! [`SqlCapabilities`](crate::sql::SqlCapabilities); a backend without it prints an `opt-out:`
//! line instead of running it.

use bytes::Bytes;

use super::values::json_doc;
use super::{SqlStoreFactory, col, count, exec, expect_kind, num, opted_out, rows, scoped};
use crate::error::ErrorKind;
use crate::sql::SqlStoreExt;
use crate::value::Value;

/// `numeric(38,10)` and unconstrained `numeric` keep every digit, both ways; the declared
/// scale is applied and the server sums exactly. Needs
/// [`exact_numeric`](crate::sql::SqlCapabilities::exact_numeric).
pub async fn numeric_parameters_are_exact(factory: &SqlStoreFactory) {
    if opted_out(
        factory,
        "numeric_parameters_are_exact",
        &[("exact_numeric", |c| c.exact_numeric)],
    )
    .await
    {
        return;
    }
    let columns = "id integer PRIMARY KEY, amount numeric(38,10), exact numeric";
    scoped(factory, "numeric", columns, |store, table| async move {
        let store = &*store;
        let insert = format!("INSERT INTO {table} (id, amount, exact) VALUES ($1, $2, $3)");
        let cases = [
            ("1234567890123456789012345678.1234567891", "123456789012345678901234567890123456789012345678901234567890.000000000000000000001"),
            ("-9999999999999999999999999999.9999999999", "-0.000000000000000000000000000001"),
            ("0.0000000001", "1E+50"),
            ("0", "0"),
            ("42", "-42.50"),
        ];
        for (id, (amount, exact)) in (1..).zip(cases) {
            exec(store, &insert, &[Value::from(id), num(amount), num(exact)]).await;
        }
        let found = rows(store, &format!("SELECT amount, exact FROM {table} ORDER BY id"), &[]).await;
        assert_eq!(found.len(), cases.len());
        for (row, (amount, exact)) in found.iter().zip(cases) {
            assert_eq!(col(row, "amount"), &num(amount), "numeric(38,10) {amount}");
            assert_eq!(col(row, "exact"), &num(exact), "numeric {exact}");
        }
        let first = col(&found[0], "amount").as_number().expect("numeric is a number");
        assert_eq!(
            first.to_plain_string(),
            "1234567890123456789012345678.1234567891",
            "every digit of a 38-digit value"
        );
        let scaled = col(&found[4], "amount").as_number().expect("numeric is a number");
        assert_eq!(scaled.to_plain_string(), "42.0000000000", "the column's scale is kept");
        let sum = rows(
            store,
            &format!("SELECT sum(amount) AS total FROM {table} WHERE id IN (1, 3)"),
            &[],
        )
        .await;
        assert_eq!(
            col(&sum[0], "total"),
            &num("1234567890123456789012345678.1234567892"),
            "the server computes with the exact values"
        );
    })
    .await;
}

/// Values outside their column's declared type are `InvalidInput`, not retryable, and write
/// nothing: text longer than `varchar(3)`, a number too large for `numeric(4,2)` or
/// `smallint`, text that is no integer, bytes for a boolean; so is a division by zero. Needs
/// [`strict_types`](crate::sql::SqlCapabilities::strict_types).
pub async fn column_types_are_enforced(factory: &SqlStoreFactory) {
    if opted_out(
        factory,
        "column_types_are_enforced",
        &[("strict_types", |c| c.strict_types)],
    )
    .await
    {
        return;
    }
    let columns = "id integer PRIMARY KEY, code varchar(3), ratio numeric(4,2), small smallint, \
                   flag boolean";
    scoped(factory, "types", columns, |store, table| async move {
        let store = &*store;
        let insert = format!(
            "INSERT INTO {table} (id, code, ratio, small, flag) VALUES ($1, $2, $3, $4, $5)"
        );
        exec(
            store,
            &insert,
            &[1.into(), "abc".into(), 1.into(), 2.into(), true.into()],
        )
        .await;
        let bytes = || Value::Bytes(Bytes::from_static(b"\x01"));
        let cases: [(&str, [Value; 5]); 5] = [
            (
                "text longer than varchar(3)",
                [2.into(), "abcd".into(), 1.into(), 2.into(), true.into()],
            ),
            (
                "a number too large for numeric(4,2)",
                [3.into(), "x".into(), 1000.into(), 2.into(), true.into()],
            ),
            (
                "text that is no integer",
                [
                    "not a number".into(),
                    "x".into(),
                    1.into(),
                    2.into(),
                    true.into(),
                ],
            ),
            (
                "an integer too large for smallint",
                [4.into(), "x".into(), 1.into(), 40_000.into(), true.into()],
            ),
            (
                "bytes for a boolean",
                [5.into(), "x".into(), 1.into(), 2.into(), bytes()],
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
        expect_kind(
            store.query_all("SELECT 1 / 0 AS boom", &[]).await,
            ErrorKind::InvalidInput,
            "a division by zero",
        );
        assert_eq!(count(store, &table).await, 1, "no violating row is written");
    })
    .await;
}

/// The `::` operator casts parameters and NULLs: `$1::bigint + 1` types the parameter,
/// `NULL::text` is a NULL column. Needs
/// [`cast_operator`](crate::sql::SqlCapabilities::cast_operator).
pub async fn cast_operator_types_parameters(factory: &SqlStoreFactory) {
    if opted_out(
        factory,
        "cast_operator_types_parameters",
        &[("cast_operator", |c| c.cast_operator)],
    )
    .await
    {
        return;
    }
    let store = factory().await;
    let store = &*store;
    let sum = rows(
        store,
        "SELECT $1::bigint + 1 AS next, NULL::text AS nothing",
        &[41.into()],
    )
    .await;
    assert_eq!(
        col(&sum[0], "next"),
        &Value::from(42),
        "a parameter used in an expression"
    );
    assert_eq!(col(&sum[0], "nothing"), &Value::Null, "NULL is Value::Null");
}

/// `jsonb` operators and functions read a stored map: `->` then `->>` cast to boolean,
/// `jsonb_array_length`. Needs [`jsonb`](crate::sql::SqlCapabilities::jsonb) and
/// [`cast_operator`](crate::sql::SqlCapabilities::cast_operator).
pub async fn jsonb_functions_read_stored_maps(factory: &SqlStoreFactory) {
    if opted_out(
        factory,
        "jsonb_functions_read_stored_maps",
        &[
            ("jsonb", |c| c.jsonb),
            ("cast_operator", |c| c.cast_operator),
        ],
    )
    .await
    {
        return;
    }
    scoped(
        factory,
        "jsonbfn",
        "id integer PRIMARY KEY, doc jsonb",
        |store, table| async move {
            let store = &*store;
            let insert = format!("INSERT INTO {table} (id, doc) VALUES ($1, $2)");
            exec(store, &insert, &[1.into(), Value::Map(json_doc())]).await;
            let sql = format!(
                "SELECT doc->>'name' AS name, (doc->'nested'->>'ok')::boolean AS ok, \
                 jsonb_array_length(doc->'tags') AS tags FROM {table} WHERE id = 1"
            );
            let fields = rows(store, &sql, &[]).await;
            assert_eq!(
                col(&fields[0], "name"),
                &Value::from("widget \"pro\""),
                "stored as JSON, not text"
            );
            assert_eq!(col(&fields[0], "ok"), &Value::from(true));
            assert_eq!(col(&fields[0], "tags"), &Value::from(2));
        },
    )
    .await;
}
