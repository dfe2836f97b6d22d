//! Parameters and columns of every value kind.

use bytes::Bytes;

use super::{SqlStoreFactory, col, count, exec, num, rows, scoped};
use crate::value::{Document, Value};

/// Integer parameters fill `smallint`, `integer` and `bigint` columns to their limits and
/// come back equal.
pub async fn integer_parameters_round_trip(factory: &SqlStoreFactory) {
    let columns = "id integer PRIMARY KEY, small smallint, normal integer, big bigint";
    scoped(factory, "ints", columns, |store, table| async move {
        let store = &*store;
        let insert =
            format!("INSERT INTO {table} (id, small, normal, big) VALUES ($1, $2, $3, $4)");
        let cases: [(i32, i16, i32, i64); 3] = [
            (1, i16::MIN, i32::MIN, i64::MIN),
            (2, i16::MAX, i32::MAX, i64::MAX),
            (3, 0, -1, 1),
        ];
        for (id, small, normal, big) in cases {
            exec(
                store,
                &insert,
                &[id.into(), small.into(), normal.into(), big.into()],
            )
            .await;
        }
        let found = rows(
            store,
            &format!("SELECT id, small, normal, big FROM {table} ORDER BY id"),
            &[],
        )
        .await;
        assert_eq!(found.len(), 3);
        for (row, (id, small, normal, big)) in found.iter().zip(cases) {
            assert_eq!(col(row, "id"), &Value::from(id));
            assert_eq!(
                col(row, "small"),
                &Value::from(small),
                "smallint of row {id}"
            );
            assert_eq!(
                col(row, "normal"),
                &Value::from(normal),
                "integer of row {id}"
            );
            assert_eq!(col(row, "big"), &Value::from(big), "bigint of row {id}");
        }
        let sum = rows(store, "SELECT CAST($1 AS bigint) + 1 AS next", &[41.into()]).await;
        assert_eq!(
            col(&sum[0], "next"),
            &Value::from(42),
            "a parameter used in an expression"
        );
    })
    .await;
}

/// Text (Unicode, empty), bytes (with NUL and 0xFF), booleans and NULLs of every column type
/// round trip; an empty string is not NULL.
pub async fn text_bytes_bool_and_null_round_trip(factory: &SqlStoreFactory) {
    let columns = "id integer PRIMARY KEY, t text, v varchar(20), b bytea, flag boolean, n integer";
    scoped(factory, "scalars", columns, |store, table| async move {
        let store = &*store;
        let insert =
            format!("INSERT INTO {table} (id, t, v, b, flag, n) VALUES ($1, $2, $3, $4, $5, $6)");
        let cases: [[Value; 6]; 3] = [
            [
                1.into(),
                "héllo 世界 🎉\n\ttabs and 'quotes'".into(),
                "short".into(),
                Value::Bytes(Bytes::from_static(&[0, 1, 2, 0xfe, 0xff, 0])),
                true.into(),
                7.into(),
            ],
            [
                2.into(),
                "".into(),
                "".into(),
                Value::Bytes(Bytes::new()),
                false.into(),
                0.into(),
            ],
            [
                3.into(),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
            ],
        ];
        for params in &cases {
            exec(store, &insert, params).await;
        }
        let found = rows(
            store,
            &format!("SELECT id, t, v, b, flag, n FROM {table} ORDER BY id"),
            &[],
        )
        .await;
        assert_eq!(found.len(), 3);
        for (row, params) in found.iter().zip(&cases) {
            let values: Vec<&Value> = row.iter().map(|(_, v)| v).collect();
            let expected: Vec<&Value> = params.iter().collect();
            assert_eq!(values, expected, "row {:?}", params[0]);
        }
        let empty = rows(
            store,
            &format!("SELECT id FROM {table} WHERE t = $1"),
            &["".into()],
        )
        .await;
        assert_eq!(empty.len(), 1, "an empty string is a value, not NULL");
        let nulls = rows(
            store,
            &format!("SELECT id FROM {table} WHERE t IS NULL AND b IS NULL"),
            &[],
        )
        .await;
        assert_eq!(nulls.len(), 1, "NULL parameters store NULL");
    })
    .await;
}

/// A [`Value::Map`] parameter fills a `jsonb` column as a JSON object (its fields readable by
/// the server with `->>`) and comes back as an equal map, numbers exact.
pub async fn jsonb_from_map_round_trip(factory: &SqlStoreFactory) {
    scoped(
        factory,
        "jsonb",
        "id integer PRIMARY KEY, doc jsonb",
        |store, table| async move {
            let store = &*store;
            let doc = json_doc();
            let insert = format!("INSERT INTO {table} (id, doc) VALUES ($1, $2)");
            exec(store, &insert, &[1.into(), Value::Map(doc.clone())]).await;
            exec(store, &insert, &[2.into(), Value::Null]).await;
            let found = rows(store, &format!("SELECT doc FROM {table} ORDER BY id"), &[]).await;
            assert_eq!(col(&found[0], "doc"), &Value::Map(doc), "jsonb round trip");
            assert_eq!(col(&found[1], "doc"), &Value::Null, "a NULL jsonb");
            let sql = format!("SELECT doc->>'name' AS name FROM {table} WHERE id = 1");
            let fields = rows(store, &sql, &[]).await;
            assert_eq!(
                col(&fields[0], "name"),
                &Value::from("widget \"pro\""),
                "stored as JSON, not text"
            );
        },
    )
    .await;
}

/// The document the JSON behaviours store: text with quotes, an integer, a decimal with a
/// trailing zero, a 30-digit integer, a list and a nested map with a boolean and a null.
pub(super) fn json_doc() -> Document {
    Document::new()
        .with("name", "widget \"pro\"")
        .with("count", 3)
        .with("price", num("12.50"))
        .with("big", num("123456789012345678901234567890"))
        .with("tags", vec!["a", "b"])
        .with(
            "nested",
            Document::new().with("ok", true).with("none", Value::Null),
        )
}

/// Dates and UUIDs go in and come back as their standard text forms.
pub async fn dates_and_uuids_travel_as_text(factory: &SqlStoreFactory) {
    scoped(
        factory,
        "texts",
        "id integer PRIMARY KEY, day date, uid uuid",
        |store, table| async move {
            let store = &*store;
            let (day, uid) = ("2024-02-29", "67e55044-10b1-426f-9247-bb680e5fe0c8");
            let insert = format!("INSERT INTO {table} (id, day, uid) VALUES ($1, $2, $3)");
            exec(store, &insert, &[1.into(), day.into(), uid.into()]).await;
            let found = rows(
                store,
                &format!("SELECT day, uid FROM {table} WHERE uid = $1"),
                &[uid.into()],
            )
            .await;
            assert_eq!(found.len(), 1, "a uuid parameter matches its row");
            assert_eq!(
                col(&found[0], "day"),
                &Value::from(day),
                "a date as ISO 8601 text"
            );
            assert_eq!(
                col(&found[0], "uid"),
                &Value::from(uid),
                "a uuid as hyphenated text"
            );
        },
    )
    .await;
}

/// Strings that look like SQL are bound, never spliced: they are stored verbatim and the
/// table survives.
pub async fn injection_strings_stored_verbatim(factory: &SqlStoreFactory) {
    scoped(
        factory,
        "inject",
        "id integer PRIMARY KEY, t text NOT NULL",
        |store, table| async move {
            let store = &*store;
            let hostile = [
                format!("Robert'); DROP TABLE {table};--"),
                "' OR '1'='1".to_owned(),
                "$1".to_owned(),
                "$$ dollar $$".to_owned(),
                "\\x00 backslash \\".to_owned(),
                "%_ like wildcards".to_owned(),
                "\"double\" 'single' `back`".to_owned(),
                "; -- /* comment */".to_owned(),
                "E'\\n' and \n a real newline".to_owned(),
            ];
            let insert = format!("INSERT INTO {table} (id, t) VALUES ($1, $2)");
            for (id, text) in (1..).zip(&hostile) {
                exec(store, &insert, &[Value::from(id), text.as_str().into()]).await;
            }
            assert_eq!(
                count(store, &table).await,
                hostile.len() as i64,
                "the table survives"
            );
            let lookup = format!("SELECT id, t FROM {table} WHERE t = $1");
            for (id, text) in (1..).zip(&hostile) {
                let found = rows(store, &lookup, &[text.as_str().into()]).await;
                assert_eq!(found.len(), 1, "exactly one row for {text:?}");
                assert_eq!(col(&found[0], "id"), &Value::from(id));
                assert_eq!(
                    col(&found[0], "t"),
                    &Value::from(text.as_str()),
                    "stored verbatim"
                );
            }
        },
    )
    .await;
}
