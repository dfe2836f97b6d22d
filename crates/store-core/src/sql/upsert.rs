//! The portable bulk writes behind [`SqlStore::upsert_rows`](super::SqlStore::upsert_rows)
//! and [`SqlStore::insert_rows`](super::SqlStore::insert_rows): multi-row `INSERT` statements
//! (with `ON CONFLICT (key) DO UPDATE` for an upsert) in one transaction, which PostgreSQL and
//! SQLite both speak.

use super::{IsolationLevel, SqlStore, SqlTransaction, quote_ident, quote_qualified};
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
    check_rows(columns, rows)
}

/// Checks the shape of rows written into `columns`: at least one column, every row as wide
/// as the columns.
pub fn check_rows(columns: &[String], rows: &[Vec<Value>]) -> Result<()> {
    if columns.is_empty() {
        return Err(StoreError::invalid_input(
            "rows are written into at least one column",
        ));
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

/// How a multi-row `INSERT` spells the placeholder of one value, given the index of its
/// column, the value and its parameter number: `$n` ([`plain_mark`]), or an expression around
/// it, such as a cast a backend needs to store the value as it should.
pub type ParamMark<'a> = &'a (dyn Fn(usize, &Value, usize) -> String + Sync);

/// The placeholder `$n` of parameter `n`, whatever its column and value.
pub fn plain_mark(_column: usize, _value: &Value, n: usize) -> String {
    format!("${n}")
}

/// Which multi-row write: an upsert by key, or a plain insert.
#[derive(Debug, Clone, Copy)]
pub enum BulkWrite<'a> {
    /// `INSERT … ON CONFLICT (key) DO UPDATE` ([`SqlStore::upsert_rows`]).
    Upsert {
        /// The key columns rows conflict on.
        key: &'a [String],
    },
    /// A plain `INSERT` ([`SqlStore::insert_rows`]).
    Insert,
}

impl BulkWrite<'_> {
    /// Checks the shape of `rows` written into `columns` ([`check_upsert`], [`check_rows`]).
    pub fn check(self, columns: &[String], rows: &[Vec<Value>]) -> Result<()> {
        match self {
            BulkWrite::Upsert { key } => check_upsert(columns, key, rows),
            BulkWrite::Insert => check_rows(columns, rows),
        }
    }

    /// The statements of the default [`SqlStore::upsert_rows`] / [`SqlStore::insert_rows`]
    /// (as many rows each as fit the parameter limit), run in the open transaction `tx`,
    /// which is not committed here, each value's placeholder spelled by `mark`: for a backend
    /// that overrides the write to look at the table in the same transaction, or to spell
    /// some placeholders otherwise. Returns the rows written. The rows are not checked here:
    /// [`check`](Self::check) them first (a row of the wrong width would otherwise fail as the
    /// database refuses the statement).
    pub async fn run_in(
        self,
        tx: &mut dyn SqlTransaction,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
        mark: ParamMark<'_>,
    ) -> Result<u64> {
        match self {
            BulkWrite::Upsert { key } => {
                write_by_values(tx, columns, rows, mark, |values| {
                    upsert_statement(table, columns, key, values)
                })
                .await
            }
            BulkWrite::Insert => {
                let list = columns
                    .iter()
                    .map(|n| quote_ident(n))
                    .collect::<Vec<_>>()
                    .join(", ");
                let target = quote_qualified(table);
                write_by_values(tx, columns, rows, mark, |values| {
                    format!("INSERT INTO {target} ({list}) {values}")
                })
                .await
            }
        }
    }
}

/// The default [`SqlStore::upsert_rows`] and [`SqlStore::insert_rows`]: `write`'s statements
/// in one transaction (none for no rows), placeholders plain.
pub(super) async fn write_in_one_transaction<S: SqlStore + ?Sized>(
    store: &S,
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
    let written = write
        .run_in(tx.as_mut(), table, columns, rows, &plain_mark)
        .await?;
    tx.commit().await?;
    Ok(written)
}

/// Runs `statement(VALUES …)` over `rows` in chunks that fit the parameter limit, in `tx`;
/// returns the rows written.
async fn write_by_values(
    tx: &mut dyn SqlTransaction,
    columns: &[String],
    rows: &[Vec<Value>],
    mark: ParamMark<'_>,
    statement: impl Fn(&str) -> String,
) -> Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let per_statement = (MAX_PARAMS / columns.len().max(1)).max(1);
    let mut written = 0;
    for chunk in rows.chunks(per_statement) {
        let mut params = Vec::with_capacity(chunk.len() * columns.len());
        let mut tuples = Vec::with_capacity(chunk.len());
        for row in chunk {
            let first = params.len() + 1;
            params.extend(row.iter().cloned());
            let marks: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(column, value)| mark(column, value, first + column))
                .collect();
            tuples.push(format!("({})", marks.join(", ")));
        }
        let sql = statement(&format!("VALUES {}", tuples.join(", ")));
        written += tx.execute(&sql, &params).await?;
    }
    Ok(written)
}
