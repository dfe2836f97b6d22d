//! Numbers written by `upsert_rows`/`insert_rows` into columns that keep any storage class
//! (no declared type, BLOB, ANY in a STRICT table): one a REAL reads back as is stored as that
//! REAL, bit for bit, so a REAL column copied from one database to another stays REAL; typed
//! columns and other numbers are stored as before (TEXT keeps every digit).

#[path = "support/temp.rs"]
mod temp;

use store_core::{Document, Number, SqlStore, SqlStoreExt, Value};
use store_rusqlite::SqliteStore;
use temp::TempDir;

const COLUMNS: [&str; 6] = ["id", "a", "b", "c", "d", "e"];

async fn store(dir: &TempDir) -> SqliteStore {
    let store = SqliteStore::open(dir.file("untyped.db")).await.unwrap();
    store
        .batch_execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a, b BLOB, c TEXT, d REAL, e NUMERIC); \
             CREATE TABLE s (id INTEGER PRIMARY KEY, a ANY, c TEXT) STRICT",
        )
        .await
        .unwrap();
    store
}

/// Finite `f64`s from every part of the range (bit patterns of a xorshift), and some that
/// print in 17 digits or sit at the ends.
fn doubles() -> Vec<f64> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut values = vec![
        0.1,
        0.30000000000000004,
        1.5,
        -7.125,
        1e300,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        1_700_000_000.25,
        2f64.powi(70),
        2f64.powi(62),
        -1_700_000_000_123_456_789.0,
    ];
    while values.len() < 3000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let value = f64::from_bits(state);
        if value.is_finite() {
            values.push(value);
        }
        // And ordinary magnitudes, where most data lives.
        values.push((state % 10_000_000) as f64 / 1024.0 - 4096.0);
    }
    values
}

fn columns(names: &[&str]) -> Vec<String> {
    names.iter().map(|c| (*c).to_owned()).collect()
}

/// What SQLite says a column holds: the value read and its class.
fn stored<'a>(row: &'a Document, column: &str) -> (&'a Value, String) {
    let class = row
        .get(&format!("{column}_class"))
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    (row.get(column).unwrap(), class)
}

/// The number a REAL reads as: its shortest decimal, but a whole one beyond 2^53 within `i64`
/// as its exact integer.
fn read_as(f: f64) -> Number {
    if f.fract() == 0.0 && f.abs() > 2f64.powi(53) && f.abs() < 2f64.powi(63) {
        Number::from(f as i64)
    } else {
        Number::try_from(f).unwrap()
    }
}

/// An integer `upsert_rows` binds as INTEGER (written without a fraction, fits `i64`).
fn binds_as_integer(number: &Number) -> bool {
    number.exponent() >= 0 && number.to_i64().is_some()
}

/// Rows of `t` (every column but `id` holding the number) for each of [`doubles`], with the
/// numbers they are.
fn double_rows() -> (Vec<f64>, Vec<Number>, Vec<Vec<Value>>) {
    let doubles = doubles();
    let numbers: Vec<Number> = doubles.iter().map(|f| read_as(*f)).collect();
    let rows = numbers
        .iter()
        .enumerate()
        .map(|(id, n)| {
            let mut row = vec![Value::from(id as i64)];
            row.extend((1..COLUMNS.len()).map(|_| Value::Number(n.clone())));
            row
        })
        .collect();
    (doubles, numbers, rows)
}

/// Checks that `t` holds [`double_rows`]: REALs bit for bit where the column keeps classes,
/// the exact text in the TEXT column.
async fn assert_doubles_stored(store: &SqliteStore, doubles: &[f64], numbers: &[Number]) {
    let read = store
        .query_all(
            "SELECT a, typeof(a) AS a_class, b, typeof(b) AS b_class, c, typeof(c) AS c_class, \
             typeof(d) AS d_class, typeof(e) AS e_class FROM t ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(read.len(), numbers.len());
    for ((row, number), double) in read.iter().zip(numbers).zip(doubles) {
        let class = if binds_as_integer(number) {
            "integer"
        } else {
            "real"
        };
        for column in ["a", "b"] {
            let (value, stored_class) = stored(row, column);
            assert_eq!(stored_class, class, "{column} of {number}");
            assert_eq!(value, &Value::Number(number.clone()), "{column}");
            let back: f64 = value.as_number().unwrap().to_string().parse().unwrap();
            assert_eq!(
                back.to_bits(),
                double.to_bits(),
                "{number} stored as another REAL"
            );
        }
        // A TEXT column keeps the exact text, as before.
        let (value, stored_class) = stored(row, "c");
        assert_eq!(stored_class, "text");
        assert_eq!(value, &Value::String(number.to_string()), "c");
        assert_eq!(row.get("d_class").and_then(Value::as_str), Some("real"));
    }
}

#[tokio::test]
async fn reals_in_columns_that_keep_any_class_stay_real_bit_for_bit() {
    let dir = TempDir::new("untyped");
    let store = store(&dir).await;
    let (doubles, numbers, rows) = double_rows();
    let written = store
        .upsert_rows("t", &columns(&COLUMNS), &columns(&["id"]), &rows)
        .await
        .unwrap();
    assert_eq!(written, rows.len() as u64);
    assert_doubles_stored(&store, &doubles, &numbers).await;
}

#[tokio::test]
async fn a_streamed_load_stores_reals_as_the_other_bulk_writes_do() {
    let dir = TempDir::new("untyped-stream");
    let store = store(&dir).await;
    let (doubles, numbers, rows) = double_rows();
    // No columns named: the table's own, in order.
    let stream = futures::stream::iter(rows.into_iter().map(Ok));
    let written = store.insert_rows("t", &[], stream).await.unwrap();
    assert_eq!(written, numbers.len() as u64);
    assert_doubles_stored(&store, &doubles, &numbers).await;

    // Named columns, in another order, into a STRICT table's ANY column and a TEXT one.
    let long = Value::Number("0.30000000000000004".parse().unwrap());
    let row = vec![long.clone(), long.clone(), Value::from(1)];
    let stream = futures::stream::iter([Ok(row)]);
    store
        .insert_rows("main.s", &["c", "a", "id"], stream)
        .await
        .unwrap();
    let read = store
        .query_all(
            "SELECT a, typeof(a) AS a_class, c, typeof(c) AS c_class FROM s",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(stored(&read[0], "a"), (&long, "real".to_owned()));
    let text = Value::from("0.30000000000000004");
    assert_eq!(stored(&read[0], "c"), (&text, "text".to_owned()));
}

#[tokio::test]
async fn other_numbers_keep_their_text_and_a_strict_any_column_keeps_reals() {
    let dir = TempDir::new("untyped-other");
    let store = store(&dir).await;
    let texts = [
        "1.50",
        "123456789012345678901234567890.5",
        "1E-400",
        "42",
        "0.1",
    ];
    let rows: Vec<Vec<Value>> = (1..)
        .zip(texts)
        .map(|(id, text)| {
            let n = Value::Number(text.parse().unwrap());
            vec![Value::from(id), n.clone(), n]
        })
        .collect();
    // The trait's method (the store's own `insert_rows` loads a stream), on the qualified name.
    SqlStore::insert_rows(&store, "main.s", &columns(&["id", "a", "c"]), &rows)
        .await
        .unwrap();
    let read = store
        .query_all(
            "SELECT a, typeof(a) AS a_class, c, typeof(c) AS c_class FROM s ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let classes: Vec<(String, String)> = read
        .iter()
        .map(|row| (stored(row, "a").1, stored(row, "c").1))
        .collect();
    let expected = [
        ("text", "text"),
        ("text", "text"),
        ("text", "text"),
        ("integer", "text"),
        ("real", "text"),
    ];
    assert_eq!(
        classes,
        expected.map(|(a, c)| (a.to_owned(), c.to_owned())).to_vec()
    );
    for (row, text) in read.iter().zip(texts) {
        assert_eq!(stored(row, "c").0, &Value::String(text.to_owned()));
    }
}

#[tokio::test]
async fn temp_tables_and_attached_databases_are_written_by_their_own_columns() {
    let dir = TempDir::new("untyped-schemas");
    let store = store(&dir).await;
    let aux = dir.file("aux.db");
    store
        .batch_execute(&format!(
            "ATTACH DATABASE '{}' AS aux; CREATE TABLE aux.u (k PRIMARY KEY, v); \
             CREATE TABLE w (k PRIMARY KEY, v); CREATE TEMP TABLE w (k PRIMARY KEY, v TEXT)",
            aux.display()
        ))
        .await
        .unwrap();
    let long = Value::Number("0.30000000000000004".parse().unwrap());
    let row = |k: i64| vec![vec![Value::from(k), long.clone()]];
    let key = columns(&["k"]);
    let kv = columns(&["k", "v"]);
    store
        .upsert_rows("aux.u", &kv, &key, &row(1))
        .await
        .unwrap();
    // Unqualified, `w` is the TEMP table (TEXT), which shadows main's untyped one.
    store.upsert_rows("w", &kv, &key, &row(2)).await.unwrap();
    store
        .upsert_rows("main.w", &kv, &key, &row(3))
        .await
        .unwrap();
    for (table, class, value) in [
        ("aux.u", "real", long.clone()),
        ("temp.w", "text", Value::from("0.30000000000000004")),
        ("main.w", "real", long.clone()),
    ] {
        let mut tx = store
            .begin(store_core::sql::IsolationLevel::ReadCommitted)
            .await
            .unwrap();
        let rows = tx
            .query(&format!("SELECT v, typeof(v) AS v_class FROM {table}"), &[])
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(rows.len(), 1, "{table}");
        assert_eq!(stored(&rows[0], "v"), (&value, class.to_owned()), "{table}");
    }
}

#[tokio::test]
async fn a_missing_table_is_not_found() {
    let dir = TempDir::new("untyped-missing");
    let store = store(&dir).await;
    let err = store
        .upsert_rows(
            "nope",
            &columns(&["id", "a"]),
            &columns(&["id"]),
            &[vec![Value::from(1), Value::Number("1.5".parse().unwrap())]],
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), store_core::ErrorKind::NotFound, "{err}");
}
