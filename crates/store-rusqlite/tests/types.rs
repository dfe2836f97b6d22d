//! The type mapping of the crate docs, value by value, and the exact-decimal rule: what
//! round-trips `1.10` and a 38-digit decimal, and what does not.

#[path = "support/temp.rs"]
mod temp;

use bytes::Bytes;
use store_core::{Document, ErrorKind, Number, SqlStore, SqlStoreExt, Value};
use store_rusqlite::SqliteStore;
use temp::TempDir;

fn num(text: &str) -> Number {
    text.parse().unwrap()
}

async fn store(dir: &TempDir) -> SqliteStore {
    SqliteStore::open(dir.file("types.db")).await.unwrap()
}

const DECIMALS: [&str; 9] = [
    "1.10",
    "12345678901234567890123456789012345678",
    "1234567890123456789012345678.1234567891",
    "-9999999999999999999999999999.9999999999",
    "0.0000000000000000000000000000001",
    "1E+50",
    "42.0",
    "9223372036854775808",
    "-0.5",
];

#[tokio::test]
async fn decimal_text_columns_keep_every_digit() {
    let dir = TempDir::new("types");
    let store = store(&dir).await;
    store
        .batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, amount DECIMAL_TEXT)")
        .await
        .unwrap();
    for (id, text) in (1..).zip(DECIMALS) {
        store
            .execute(
                "INSERT INTO t VALUES ($1, $2)",
                &[Value::from(id), num(text).into()],
            )
            .await
            .unwrap();
    }
    let rows = store
        .query_all(
            "SELECT amount, typeof(amount) AS stored FROM t ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    for (row, text) in rows.iter().zip(DECIMALS) {
        let back = row.get("amount").and_then(Value::as_number).unwrap();
        assert_eq!(
            back.to_string(),
            num(text).to_string(),
            "{text} digit for digit"
        );
        assert_eq!(row.get("stored"), Some(&Value::from("text")));
    }
    // Integers bound as INTEGER are stored as their text too, and read back as numbers.
    store
        .execute("INSERT INTO t VALUES (100, $1)", &[7.into()])
        .await
        .unwrap();
    let seven = store
        .query_one("SELECT amount FROM t WHERE id = 100", &[])
        .await
        .unwrap();
    assert_eq!(seven.get("amount"), Some(&Value::from(7)));
}

#[tokio::test]
async fn decimal_text_another_program_wrote_otherwise_stays_text() {
    let dir = TempDir::new("types");
    let store = store(&dir).await;
    store
        .batch_execute(
            "CREATE TABLE t (id TEXT PRIMARY KEY, amount DECIMAL_TEXT); \
             INSERT INTO t VALUES ('01', '01'), ('1', '1'), ('+5', '+5'), ('1e2', '1e2'), \
             ('100', '100'), ('-0', '-0'), ('007', '007'), ('1.10', '1.10')",
        )
        .await
        .unwrap();
    let rows = store
        .query_all("SELECT id, amount FROM t", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 8);
    for row in rows {
        let Some(Value::String(id)) = row.get("id") else {
            panic!("{row:?}")
        };
        let expected = match id.as_str() {
            // The text a number writes: that number.
            "1" | "100" | "1.10" => Value::Number(num(id)),
            // Any other spelling: the text, so `01` and `1` stay two values.
            _ => Value::from(id.as_str()),
        };
        assert_eq!(row.get("amount"), Some(&expected), "{id}");
    }
}

#[tokio::test]
async fn numeric_affinity_columns_round_to_real_as_documented() {
    let dir = TempDir::new("types");
    let store = store(&dir).await;
    store
        .batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a NUMERIC, b DECIMAL(38,10))")
        .await
        .unwrap();
    let long = num("12345678901234567890123456789012345678");
    store
        .execute(
            "INSERT INTO t VALUES (1, $1, $2)",
            &[num("1.10").into(), long.clone().into()],
        )
        .await
        .unwrap();
    let row = store.query_one("SELECT a, b FROM t", &[]).await.unwrap();
    let a = row.get("a").and_then(Value::as_number).unwrap();
    assert_eq!(a, &num("1.1"), "the value survives");
    assert_eq!(
        a.to_string(),
        "1.1",
        "the trailing zero does not: use DECIMAL_TEXT"
    );
    let b = row.get("b").and_then(Value::as_number).unwrap();
    assert_ne!(
        b, &long,
        "38 digits are rounded to a REAL: use DECIMAL_TEXT"
    );
}

#[tokio::test]
async fn a_check_keeps_decimal_text_columns_numeric() {
    let dir = TempDir::new("types");
    let store = store(&dir).await;
    store
        .batch_execute(
            "CREATE TABLE t (amount DECIMAL_TEXT CHECK (amount NOT GLOB '*[^0-9.eE+-]*'))",
        )
        .await
        .unwrap();
    store
        .execute("INSERT INTO t VALUES ($1)", &[num("-1.5E+3").into()])
        .await
        .unwrap();
    let err = store
        .execute("INSERT INTO t VALUES ($1)", &["12 apples".into()])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[tokio::test]
async fn every_value_kind_round_trips_by_declared_type() {
    let dir = TempDir::new("types");
    let store = store(&dir).await;
    store
        .batch_execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, flag BOOLEAN, f REAL, t TEXT, b BLOB, \
             doc JSON, list JSONB, day DATE, at TIMESTAMP, plain)",
        )
        .await
        .unwrap();
    let doc = Document::new()
        .with("price", num("12.50"))
        .with("big", num("123456789012345678901234567890"))
        .with(
            "nested",
            Document::new().with("ok", true).with("none", Value::Null),
        )
        .with("text", "quote \" and \\ and \u{1}");
    let list = Value::List(vec![1.into(), "two".into(), num("3.0").into()]);
    let params = [
        Value::from(1),
        true.into(),
        num("0.1").into(),
        "héllo\0world".into(),
        Value::Bytes(Bytes::from_static(&[0, 0xff, 0])),
        Value::Map(doc.clone()),
        list.clone(),
        "2024-02-29".into(),
        "2024-02-29T23:59:59.123456Z".into(),
        num("1.10").into(),
    ];
    store
        .execute(
            "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &params,
        )
        .await
        .unwrap();
    let row = store.query_one("SELECT * FROM t", &[]).await.unwrap();
    let values: Vec<&Value> = row.iter().map(|(_, v)| v).collect();
    let mut expected: Vec<Value> = params.to_vec();
    // A column without a declared type reads a decimal's text as text.
    expected[9] = "1.10".into();
    assert_eq!(values, expected.iter().collect::<Vec<_>>());
    let price = row
        .get("doc")
        .and_then(Value::as_map)
        .unwrap()
        .get("price")
        .unwrap();
    assert_eq!(price.as_number().unwrap().to_string(), "12.50");
    // SQLite's own JSON functions read what was stored.
    let name = store
        .query_one(
            "SELECT doc->>'$.nested.ok' AS ok, json_array_length(list) AS n FROM t",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(name.get("ok"), Some(&Value::from(1)));
    assert_eq!(name.get("n"), Some(&Value::from(3)));
}

#[tokio::test]
async fn sets_become_json_lists_and_expressions_read_by_storage_class() {
    let store = SqliteStore::memory().await.unwrap();
    store
        .batch_execute("CREATE TABLE t (tags JSON)")
        .await
        .unwrap();
    let set: std::collections::BTreeSet<String> = ["b".into(), "a".into()].into();
    store
        .execute("INSERT INTO t VALUES ($1)", &[Value::StringSet(set)])
        .await
        .unwrap();
    let row = store.query_one("SELECT tags FROM t", &[]).await.unwrap();
    assert_eq!(
        row.get("tags"),
        Some(&Value::List(vec!["a".into(), "b".into()]))
    );
    let exprs = store
        .query_one(
            "SELECT $1 AS decimal, $2 + 1 AS sum, 1.5 AS real, 1e999 AS inf_text, x'00ff' AS blob",
            &[num("2.50").into(), 41.into()],
        )
        .await;
    let err = exprs.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Unsupported,
        "infinity has no number: {err}"
    );
    let row = store
        .query_one(
            "SELECT $1 AS decimal, $2 + 1 AS sum, 1.5 AS real, x'00ff' AS blob, NULL AS none",
            &[num("2.50").into(), 41.into()],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get("decimal"),
        Some(&Value::from("2.50")),
        "no declared type: text"
    );
    assert_eq!(row.get("sum"), Some(&Value::from(42)));
    assert_eq!(row.get("real"), Some(&Value::Number(num("1.5"))));
    assert_eq!(
        row.get("blob"),
        Some(&Value::Bytes(Bytes::from_static(&[0, 0xff])))
    );
    assert_eq!(row.get("none"), Some(&Value::Null));
}

#[tokio::test]
async fn placeholders_are_rewritten_only_in_code() {
    let store = SqliteStore::memory().await.unwrap();
    let row = store
        .query_one(
            "SELECT '$1' AS literal, $1 AS first, \"$2\" AS quoted /* $2 */, $2 AS second \
             FROM (SELECT 'q' AS \"$2\") -- $3",
            &["a".into(), "b".into()],
        )
        .await
        .unwrap();
    assert_eq!(row.get("literal"), Some(&Value::from("$1")));
    assert_eq!(row.get("first"), Some(&Value::from("a")));
    assert_eq!(row.get("quoted"), Some(&Value::from("q")));
    assert_eq!(row.get("second"), Some(&Value::from("b")));
    let reused = store
        .query_one("SELECT $1 || $1 AS twice", &["x".into()])
        .await
        .unwrap();
    assert_eq!(
        reused.get("twice"),
        Some(&Value::from("xx")),
        "a number used twice"
    );
}

#[tokio::test]
async fn duplicate_column_names_keep_the_last_value_in_the_first_place() {
    let store = SqliteStore::memory().await.unwrap();
    let row = store
        .query_one("SELECT 1 AS a, 2 AS b, 3 AS a", &[])
        .await
        .unwrap();
    let fields: Vec<(&str, &Value)> = row.iter().collect();
    assert_eq!(fields, [("a", &Value::from(3)), ("b", &Value::from(2))]);
}
