//! Bulk writes into columns that keep whatever storage class a value is bound in (no
//! declared type, a type naming BLOB, or ANY in a STRICT table): a number that is exactly
//! what a REAL reads back as is stored as REAL there, so a REAL read from such a column and
//! written back stays REAL instead of turning into TEXT (the rule is store-core's
//! [`sqlite_real_like`], which lookups by key share).
//!
//! Elsewhere the column's affinity decides (REAL and NUMERIC columns convert the exact text
//! to REAL themselves; TEXT columns keep it), and a number binds as the crate docs say.

use store_core::sql::{
    BulkWrite, IsolationLevel, SqlStore, SqlTransaction, plain_mark, sqlite_keeps_class,
    sqlite_listed_table, sqlite_real_like, sqlite_table_flag, sqlite_table_list,
};
use store_core::{Document, Result, StoreError, Value};

use crate::SqliteStore;
use crate::exec::query_all;

/// Writes `rows` into `columns` of `table` in one transaction on the writer, the columns'
/// classes looked up in it when a number's storage depends on them.
pub(crate) async fn write(
    store: &SqliteStore,
    table: &str,
    columns: &[String],
    rows: &[Vec<Value>],
    write: BulkWrite<'_>,
) -> Result<u64> {
    write.check(columns, rows)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = store.begin(IsolationLevel::ReadCommitted).await?;
    let keeping = if has_real_like(rows) {
        class_keeping(tx.as_mut(), table, columns).await?
    } else {
        Vec::new()
    };
    let mark = real_where_kept(&keeping);
    let written = write
        .run_in(tx.as_mut(), table, columns, rows, &mark)
        .await?;
    tx.commit().await?;
    Ok(written)
}

/// Whether any value of `rows` is a number a REAL reads back as: only then do the columns'
/// types matter.
fn has_real_like(rows: &[Vec<Value>]) -> bool {
    rows.iter()
        .flatten()
        .any(|value| matches!(value, Value::Number(n) if sqlite_real_like(n)))
}

/// The columns of a table and how they are declared, with their table's STRICT flag.
const DECLARED: &str = "SELECT name, type FROM pragma_table_xinfo($1, $2)";

/// For each of `columns` of `table` (optionally `schema.table`), whether it keeps the
/// storage class of what is written into it. Asked in `tx`, on the writer's connection, which
/// sees TEMP tables and attached databases as the INSERT does, and an unqualified name is
/// resolved as the INSERT resolves it: TEMP first, then main, then attached databases.
async fn class_keeping(
    tx: &mut dyn SqlTransaction,
    table: &str,
    columns: &[String],
) -> Result<Vec<bool>> {
    let (list, name) = sqlite_table_list(table);
    let listed = tx.query(list, std::slice::from_ref(&name)).await?;
    let (schema, strict) = resolved(&listed, table)?;
    let declared = tx.query(DECLARED, &[name, schema]).await?;
    Ok(keeping_of(&declared, strict, columns))
}

/// [`class_keeping`] on the writer's own connection, for a load running there.
pub(crate) fn class_keeping_on(
    conn: &rusqlite::Connection,
    table: &str,
    columns: &[String],
) -> Result<Vec<bool>> {
    let operation = "insert_rows";
    let (list, name) = sqlite_table_list(table);
    let listed = query_all(conn, list, std::slice::from_ref(&name), operation)?;
    let (schema, strict) = resolved(&listed, table)?;
    let declared = query_all(conn, DECLARED, &[name, schema], operation)?;
    Ok(keeping_of(&declared, strict, columns))
}

/// The schema holding `table` as SQLite resolves its name among the `listed` rows of
/// [`sqlite_table_list`], and whether the table is STRICT.
fn resolved(listed: &[Document], table: &str) -> Result<(Value, bool)> {
    let Some(found) = sqlite_listed_table(listed, table) else {
        return Err(StoreError::not_found(format!("no such table: {table}")));
    };
    let schema = found.get("schema").cloned().unwrap_or(Value::Null);
    Ok((schema, sqlite_table_flag(found, "strict")))
}

/// For each of `columns`, whether its `declared` row (of [`DECLARED`]) keeps classes.
fn keeping_of(declared: &[Document], strict: bool, columns: &[String]) -> Vec<bool> {
    columns
        .iter()
        .map(|column| {
            declared.iter().any(|row| {
                let named = row
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|name| name.eq_ignore_ascii_case(column));
                let kind = row.get("type").and_then(Value::as_str).unwrap_or("");
                named && sqlite_keeps_class(kind, strict)
            })
        })
        .collect()
}

/// The placeholders of a bulk write whose columns keep their values' class where `keeping`
/// says so: a number there that reads back the same from a REAL is cast to REAL.
fn real_where_kept(keeping: &[bool]) -> impl Fn(usize, &Value, usize) -> String + Sync {
    move |column, value, n| match value {
        Value::Number(number)
            if keeping.get(column).copied().unwrap_or(false) && sqlite_real_like(number) =>
        {
            format!("CAST(${n} AS REAL)")
        }
        _ => plain_mark(column, value, n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_a_real_reads_back_as_are_cast_where_kept() {
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
        assert!(has_real_like(&[vec![Value::from(1), number("2.5")]]));
        assert!(!has_real_like(&[vec![Value::from(1), number("2.50")]]));
    }
}
