//! The portable bulk upsert behind [`SqlStore::upsert_rows`](super::SqlStore::upsert_rows):
//! multi-row `INSERT … ON CONFLICT (key) DO UPDATE` statements in one transaction, which
//! PostgreSQL and SQLite both speak.

use super::{IsolationLevel, SqlStore, quote_ident, quote_qualified};
use crate::error::{Result, StoreError};
use crate::value::Value;

/// The most bind parameters one statement uses (PostgreSQL allows 65,535, SQLite 32,766).
const MAX_PARAMS: usize = 30_000;

/// Checks the shape of an upsert: a key, every key column among the columns, rows as wide as
/// the columns.
pub fn check_upsert(columns: &[String], key: &[String], rows: &[Vec<Value>]) -> Result<()> {
    if key.is_empty() {
        return Err(StoreError::invalid_input(
            "an upsert needs the key columns rows conflict on",
        ));
    }
    if let Some(missing) = key.iter().find(|k| !columns.contains(k)) {
        return Err(StoreError::invalid_input(format!(
            "the key column `{missing}` is not among the columns written"
        )));
    }
    if let Some((i, row)) = rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.len() != columns.len())
    {
        return Err(StoreError::invalid_input(format!(
            "row {} has {} values for {} columns",
            i + 1,
            row.len(),
            columns.len()
        )));
    }
    Ok(())
}

/// `INSERT INTO table (columns) <source> ON CONFLICT (key) DO UPDATE SET …` (or `DO NOTHING`
/// when every column is a key column), for a `source` such as `VALUES …` or `SELECT …`.
pub fn upsert_statement(table: &str, columns: &[String], key: &[String], source: &str) -> String {
    let list = |names: &[String]| {
        names
            .iter()
            .map(|n| quote_ident(n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let updates: Vec<String> = columns
        .iter()
        .filter(|c| !key.contains(c))
        .map(|c| format!("{0} = excluded.{0}", quote_ident(c)))
        .collect();
    let action = if updates.is_empty() {
        "DO NOTHING".to_owned()
    } else {
        format!("DO UPDATE SET {}", updates.join(", "))
    };
    format!(
        "INSERT INTO {} ({}) {source} ON CONFLICT ({}) {action}",
        quote_qualified(table),
        list(columns),
        list(key)
    )
}

/// The default [`SqlStore::upsert_rows`]: statements of as many rows as fit in the parameter
/// limit, all in one transaction.
pub(super) async fn upsert_by_insert<S: SqlStore + ?Sized>(
    store: &S,
    table: &str,
    columns: &[String],
    key: &[String],
    rows: &[Vec<Value>],
) -> Result<u64> {
    check_upsert(columns, key, rows)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let per_statement = (MAX_PARAMS / columns.len().max(1)).max(1);
    let mut tx = store.begin(IsolationLevel::ReadCommitted).await?;
    let mut written = 0;
    for chunk in rows.chunks(per_statement) {
        let mut params = Vec::with_capacity(chunk.len() * columns.len());
        let mut tuples = Vec::with_capacity(chunk.len());
        for row in chunk {
            let first = params.len() + 1;
            params.extend(row.iter().cloned());
            let marks: Vec<String> = (first..=params.len()).map(|i| format!("${i}")).collect();
            tuples.push(format!("({})", marks.join(", ")));
        }
        let values = format!("VALUES {}", tuples.join(", "));
        let sql = upsert_statement(table, columns, key, &values);
        written += tx.execute(&sql, &params).await?;
    }
    tx.commit().await?;
    Ok(written)
}
