//! `insert_rows`: appends, refuses a taken key all or nothing, checked input.

use super::{SqlStoreFactory, count, expect_kind, id_name_extra, names, scoped};
use crate::error::ErrorKind;
use crate::value::Value;

/// Rows are appended as given (exact values, Unicode, NULL); a call holding one row whose key
/// is taken fails with `AlreadyExists` and stores none of its rows, and the stored row keeps
/// its values.
pub async fn insert_rows_appends_and_refuses_a_taken_key(factory: &SqlStoreFactory) {
    let columns = "id integer PRIMARY KEY, name text NOT NULL, extra text";
    scoped(factory, "insert", columns, |store, table| async move {
        let store = &*store;
        let all = names(&["id", "name", "extra"]);
        let first = vec![
            vec![1.into(), "one".into(), "kept".into()],
            vec![2.into(), "zwei ✓".into(), Value::Null],
        ];
        let written = store
            .insert_rows(&table, &all, &first)
            .await
            .expect("inserting new keys should succeed");
        assert_eq!(written, 2);
        let clash = vec![
            vec![3.into(), "three".into(), Value::Null],
            vec![1.into(), "ONE".into(), "replaced?".into()],
        ];
        expect_kind(
            store.insert_rows(&table, &all, &clash).await,
            ErrorKind::AlreadyExists,
            "a row whose key is taken",
        );
        let seen = id_name_extra(store, &table).await;
        assert_eq!(
            seen,
            [
                (1.into(), "one".into(), "kept".into()),
                (2.into(), "zwei ✓".into(), Value::Null),
            ],
            "a refused insert stores none of its rows and replaces nothing"
        );
        // Columns left out take their defaults; many rows (more than one statement's
        // parameters on the portable path) all land.
        let many: Vec<Vec<Value>> = (10..12_010)
            .map(|i: i64| vec![i.into(), format!("row {i}").into()])
            .collect();
        let written = store
            .insert_rows(&table, &names(&["id", "name"]), &many)
            .await
            .expect("a large insert should succeed");
        assert_eq!(written, 12_000);
        assert_eq!(count(store, &table).await, 12_002);
    })
    .await;
}

/// No columns and a row of the wrong width are `InvalidInput` before anything is sent; no
/// rows is nothing to do.
pub async fn insert_rows_checks_its_input(factory: &SqlStoreFactory) {
    let columns = "id integer PRIMARY KEY, name text";
    scoped(
        factory,
        "insert_input",
        columns,
        |store, table| async move {
            let store = &*store;
            expect_kind(
                store.insert_rows(&table, &[], &[vec![]]).await,
                ErrorKind::InvalidInput,
                "no columns",
            );
            expect_kind(
                store
                    .insert_rows(&table, &names(&["id", "name"]), &[vec![1.into()]])
                    .await,
                ErrorKind::InvalidInput,
                "a row of the wrong width",
            );
            let none = store
                .insert_rows(&table, &names(&["id"]), &[])
                .await
                .expect("no rows is nothing to do");
            assert_eq!(none, 0);
            assert_eq!(count(store, &table).await, 0);
        },
    )
    .await;
}
