//! The binary codecs at PostgreSQL's own limits: NUMERIC's widest values, arrays of the most
//! dimensions, COPY rows of the most columns. Each value is checked both ways: written by the
//! server and read by us, and written by us and read back as text by the server.

use futures::TryStreamExt;
use integration_tests::names::unique_ident;
use store_core::sql::{SqlStore, SqlStoreExt};
use store_core::{ErrorKind, Number, Value};

use super::support::store;

/// `digits` nines, then `scale` fraction digits cycling 1..9 and `zeros` trailing zeros.
fn wide(negative: bool, digits: usize, scale: usize, zeros: usize) -> String {
    let mut s = String::from(if negative { "-" } else { "" });
    s.push_str(&"9".repeat(digits));
    if scale > 0 {
        s.push('.');
        s.extend((0..scale - zeros).map(|i| char::from(b'1' + (i % 9) as u8)));
        s.push_str(&"0".repeat(zeros));
    }
    s
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_plain_string(),
        Value::String(s) => s.clone(),
        other => panic!("expected a number or text, got {other:?}"),
    }
}

#[tokio::test]
async fn numeric_at_its_widest_reads_and_writes_exactly() {
    let store = store().await;
    for (negative, digits, scale, zeros) in [
        (false, 131_072, 0, 0),
        (false, 1, 16_383, 0),
        (false, 131_072, 16_383, 0),
        (true, 131_072, 16_383, 0),
        (true, 131_072, 16_383, 7),
        (false, 131_068, 0, 0),
    ] {
        let text = wide(negative, digits, scale, zeros);
        let what = format!("{digits} digits before the point, {scale} after, negative {negative}");
        // Written by the server (parsed from text), read by our binary decoder.
        let row = store
            .query_one(
                "SELECT $1::text::numeric AS n",
                &[Value::from(text.as_str())],
            )
            .await
            .expect("the server parses the literal");
        assert_eq!(
            text_of(row.get("n").expect("the column")),
            text,
            "server → us: {what}"
        );
        // Written by our binary encoder, read back as text by the server.
        let number: Number = text.parse().expect("a number");
        let row = store
            .query_one("SELECT $1::numeric::text AS t", &[Value::Number(number)])
            .await
            .expect("the server reads our numeric");
        assert_eq!(
            text_of(row.get("t").expect("the column")),
            text,
            "us → server: {what}"
        );
    }
}

#[tokio::test]
async fn numeric_one_digit_past_its_limits_is_invalid_input_before_the_request() {
    let store = store().await;
    for text in [wide(false, 131_073, 0, 0), wide(false, 1, 16_384, 0)] {
        let number: Number = text.parse().expect("a number");
        let err = store
            .query_one("SELECT $1::numeric::text AS t", &[Value::Number(number)])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
}

fn nested(depth: usize, leaf: i64) -> Value {
    (0..depth).fold(Value::from(leaf), |inner, _| {
        Value::List(vec![inner.clone(), inner])
    })
}

#[tokio::test]
async fn arrays_of_six_dimensions_round_trip_and_seven_are_refused() {
    let store = store().await;
    let six = nested(6, 42);
    let row = store
        .query_one(
            "SELECT $1::bigint[] AS a, array_ndims($1::bigint[]) AS d",
            std::slice::from_ref(&six),
        )
        .await
        .expect("six dimensions");
    assert_eq!(row.get("a"), Some(&six));
    assert_eq!(text_of(row.get("d").expect("the column")), "6");
    let err = store
        .query_one("SELECT $1::bigint[] AS a", &[nested(7, 42)])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[tokio::test]
async fn copy_rows_of_the_most_columns_a_table_has_round_trip() {
    let store = store().await;
    let table = unique_ident("wide");
    // PostgreSQL's limit is 1,600 columns per table.
    let columns: Vec<String> = (0..1_600).map(|i| format!("c{i}")).collect();
    let ddl: Vec<String> = columns.iter().map(|c| format!("{c} int")).collect();
    store
        .batch_execute(&format!("CREATE TABLE {table} ({})", ddl.join(", ")))
        .await
        .expect("a table of 1,600 columns");
    let rows: Vec<Vec<Value>> = (0..3i64)
        .map(|r| (0..1_600i64).map(|c| Value::from(r * 10_000 + c)).collect())
        .collect();
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let written = store
        .copy_in(
            &table,
            &names,
            futures::stream::iter(rows.clone().into_iter().map(Ok)),
        )
        .await
        .expect("COPY IN of 1,600 columns");
    assert_eq!(written, 3);
    let back: Vec<_> = store
        .copy_out(&format!("SELECT * FROM {table} ORDER BY c0"))
        .await
        .expect("COPY OUT")
        .try_collect()
        .await
        .expect("rows");
    assert_eq!(back.len(), 3);
    for (doc, row) in back.iter().zip(&rows) {
        assert_eq!(doc.len(), 1_600);
        for (name, value) in names.iter().zip(row) {
            assert_eq!(doc.get(name).expect("the column"), value, "column {name}");
        }
    }
    store
        .batch_execute(&format!("DROP TABLE {table}"))
        .await
        .expect("drop");
}
