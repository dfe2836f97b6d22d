//! `upsert_rows`: inserts and replaces by key, all or nothing, many rows, checked input.

use super::{SqlStoreFactory, col, count, expect_kind, id_name_extra, names, rows, scoped};
use crate::error::ErrorKind;
use crate::value::Value;

/// New keys are inserted; a row whose key is stored replaces the columns written and leaves
/// the others as they were.
pub async fn upsert_rows_inserts_and_replaces_by_key(factory: &SqlStoreFactory) {
    let columns = "id integer PRIMARY KEY, name text NOT NULL, extra text";
    scoped(factory, "upsert", columns, |store, table| async move {
        let store = &*store;
        let first = vec![
            vec![1.into(), "one".into(), "kept".into()],
            vec![2.into(), "two".into(), Value::Null],
        ];
        let written = store
            .upsert_rows(
                &table,
                &names(&["id", "name", "extra"]),
                &names(&["id"]),
                &first,
            )
            .await
            .expect("the first upsert should succeed");
        assert_eq!(written, 2);
        let second = vec![
            vec![1.into(), "ONE".into()],
            vec![3.into(), "three ✓".into()],
        ];
        let written = store
            .upsert_rows(&table, &names(&["id", "name"]), &names(&["id"]), &second)
            .await
            .expect("the second upsert should succeed");
        assert_eq!(written, 2);
        let seen = id_name_extra(store, &table).await;
        assert_eq!(
            seen,
            [
                (1.into(), "ONE".into(), "kept".into()),
                (2.into(), "two".into(), Value::Null),
                (3.into(), "three ✓".into(), Value::Null),
            ]
        );
    })
    .await;
}

/// One bad row fails the whole call: nothing of it is stored.
pub async fn upsert_rows_is_all_or_nothing(factory: &SqlStoreFactory) {
    let columns = "id integer PRIMARY KEY, name text NOT NULL";
    scoped(
        factory,
        "upsert_atomic",
        columns,
        |store, table| async move {
            let store = &*store;
            let mut batch: Vec<Vec<Value>> =
                (0..50).map(|i| vec![i.into(), "fine".into()]).collect();
            batch.push(vec![50.into(), Value::Null]);
            expect_kind(
                store
                    .upsert_rows(&table, &names(&["id", "name"]), &names(&["id"]), &batch)
                    .await,
                ErrorKind::InvalidInput,
                "a NULL in a NOT NULL column",
            );
            assert_eq!(
                count(store, &table).await,
                0,
                "nothing of a failed upsert is stored"
            );
        },
    )
    .await;
}

/// Many rows in one call (more than one statement's parameters on the portable path) all land.
pub async fn upsert_rows_writes_many_rows(factory: &SqlStoreFactory) {
    let columns = "id integer PRIMARY KEY, name text, score integer";
    scoped(factory, "upsert_many", columns, |store, table| async move {
        let store = &*store;
        let batch: Vec<Vec<Value>> = (0..12_000)
            .map(|i: i64| vec![i.into(), format!("row {i}").into(), (i * 7).into()])
            .collect();
        let written = store
            .upsert_rows(
                &table,
                &names(&["id", "name", "score"]),
                &names(&["id"]),
                &batch,
            )
            .await
            .expect("a large upsert should succeed");
        assert_eq!(written, 12_000);
        assert_eq!(count(store, &table).await, 12_000);
        let last = rows(
            store,
            &format!("SELECT name, score FROM {table} WHERE id = 11999"),
            &[],
        )
        .await;
        assert_eq!(col(&last[0], "name"), &Value::from("row 11999"));
        assert_eq!(col(&last[0], "score"), &Value::from(11_999 * 7));
    })
    .await;
}

/// A refused upsert: what is wrong, columns, key, rows.
type BadUpsert = (&'static str, Vec<String>, Vec<String>, Vec<Vec<Value>>);

/// An empty key, a key column not written and a row of the wrong width are `InvalidInput`
/// before anything is sent; no rows is nothing to do.
pub async fn upsert_rows_checks_its_input(factory: &SqlStoreFactory) {
    let columns = "id integer PRIMARY KEY, name text";
    scoped(
        factory,
        "upsert_input",
        columns,
        |store, table| async move {
            let store = &*store;
            let both = names(&["id", "name"]);
            let cases: [BadUpsert; 3] = [
                (
                    "an empty key",
                    both.clone(),
                    Vec::new(),
                    vec![vec![1.into(), "a".into()]],
                ),
                (
                    "a key column not written",
                    names(&["name"]),
                    names(&["id"]),
                    vec![vec!["a".into()]],
                ),
                (
                    "a row of the wrong width",
                    both.clone(),
                    names(&["id"]),
                    vec![vec![1.into()]],
                ),
            ];
            for (what, columns, key, batch) in cases {
                expect_kind(
                    store.upsert_rows(&table, &columns, &key, &batch).await,
                    ErrorKind::InvalidInput,
                    what,
                );
            }
            let none = store
                .upsert_rows(&table, &both, &names(&["id"]), &[])
                .await
                .expect("no rows is nothing to do");
            assert_eq!(none, 0);
            assert_eq!(count(store, &table).await, 0);
        },
    )
    .await;
}
