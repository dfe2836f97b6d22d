//! Bulk writes into columns that keep whatever storage class a value is bound in (no
//! declared type, a type naming BLOB, or ANY in a STRICT table): a number that is exactly
//! what a REAL reads back as is stored as REAL there, so a REAL read from such a column and
//! written back stays REAL instead of turning into TEXT.
//!
//! Elsewhere the column's affinity decides (REAL and NUMERIC columns convert the exact text
//! to REAL themselves; TEXT columns keep it), and a number binds as the crate docs say.

use store_core::sql::plain_mark;
use store_core::{Number, Result, SqlStoreExt, StoreError, Value};

use crate::SqliteStore;
use crate::convert::integer_of;

/// For each of `columns` of `table` (optionally `schema.table`), whether it keeps the
/// storage class of what is written into it.
pub(crate) async fn class_keeping(
    store: &SqliteStore,
    table: &str,
    columns: &[String],
) -> Result<Vec<bool>> {
    let (filter, params): (&str, Vec<Value>) = match table.split_once('.') {
        Some((schema, name)) => ("$1, $2", vec![name.into(), schema.into()]),
        None => ("$1", vec![table.into()]),
    };
    let listed = store
        .query_all(
            &format!("SELECT strict FROM pragma_table_list({filter})"),
            &params,
        )
        .await?;
    let strict = match listed.first().and_then(|row| row.get("strict")) {
        Some(Value::Number(n)) => n.to_i64() == Some(1),
        Some(_) => false,
        None => {
            return Err(StoreError::not_found(format!("no such table: {table}")));
        }
    };
    let declared = store
        .query_all(
            &format!("SELECT name, type FROM pragma_table_xinfo({filter})"),
            &params,
        )
        .await?;
    Ok(columns
        .iter()
        .map(|column| {
            declared.iter().any(|row| {
                let named = row
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|name| name.eq_ignore_ascii_case(column));
                let kind = row.get("type").and_then(Value::as_str).unwrap_or("");
                named && keeps_class(kind, strict)
            })
        })
        .collect())
}

/// Whether any value of `rows` is a number a REAL reads back as: only then do the columns'
/// types matter.
pub(crate) fn has_real_like(rows: &[Vec<Value>]) -> bool {
    rows.iter()
        .flatten()
        .any(|value| matches!(value, Value::Number(n) if reads_back_from_real(n)))
}

/// Whether a column declared `declared` keeps the storage class of what is written into it:
/// BLOB affinity (SQLite's rules: no INT, CHAR, CLOB or TEXT in the type, and BLOB or
/// nothing), or ANY in a STRICT table.
fn keeps_class(declared: &str, strict: bool) -> bool {
    let declared = declared.to_ascii_uppercase();
    if strict {
        return declared == "ANY";
    }
    let has = |part: &str| declared.contains(part);
    !has("INT")
        && !has("CHAR")
        && !has("CLOB")
        && !has("TEXT")
        && (has("BLOB") || declared.trim().is_empty())
}

/// The placeholders of a bulk write whose columns keep their values' class where `keeping`
/// says so: a number there that reads back the same from a REAL is cast to REAL.
pub(crate) fn real_where_kept(keeping: &[bool]) -> impl Fn(usize, &Value, usize) -> String + Sync {
    move |column, value, n| match value {
        Value::Number(number)
            if keeping.get(column).copied().unwrap_or(false) && reads_back_from_real(number) =>
        {
            format!("CAST(${n} AS REAL)")
        }
        _ => plain_mark(column, value, n),
    }
}

/// Whether `number` is not an INTEGER's and is the text a REAL reads back as: the shortest
/// decimal of the `f64` nearest it, digit for digit (`1.5`, `0.1`, `1E+300`; not `1.50`,
/// whose trailing zero a REAL would lose, nor a 30-digit decimal).
fn reads_back_from_real(number: &Number) -> bool {
    if integer_of(number).is_some() {
        return false;
    }
    let text = number.to_string();
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .and_then(|f| Number::try_from(f).ok())
        .is_some_and(|nearest| nearest.to_string() == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_columns_of_blob_affinity_or_strict_any_keep_the_class() {
        for kept in ["", "BLOB", "blob", "MYBLOB"] {
            assert!(keeps_class(kept, false), "{kept}");
        }
        for converted in [
            "REAL", "NUMERIC", "TEXT", "INTEGER", "BLOBINT", "ANY", "DECIMAL",
        ] {
            assert!(!keeps_class(converted, false), "{converted}");
        }
        assert!(keeps_class("ANY", true));
        assert!(!keeps_class("BLOB", true));
    }

    #[test]
    fn numbers_a_real_reads_back_as_are_cast() {
        let number = |text: &str| Value::Number(text.parse().unwrap());
        let mark = real_where_kept(&[true, false]);
        for real in ["1.5", "0.1", "1E+300", "-7.125", "0.30000000000000004"] {
            assert_eq!(mark(0, &number(real), 3), "CAST($3 AS REAL)", "{real}");
            assert_eq!(mark(1, &number(real), 3), "$3", "{real}");
        }
        for other in ["1", "1.50", "123456789012345678901234567890.5", "1E-400"] {
            assert_eq!(mark(0, &number(other), 3), "$3", "{other}");
        }
        assert_eq!(mark(0, &Value::from("1.5"), 3), "$3");
    }
}
