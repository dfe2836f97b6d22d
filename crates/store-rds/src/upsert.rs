//! [`SqlStore::upsert_rows`](store_core::SqlStore::upsert_rows) in bulk with binary `COPY`:
//! straight into the table while its keys are new, through a staging table once they meet
//! existing ones.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use deadpool_postgres::Transaction;
use store_core::sql::{check_upsert, upsert_statement};
use store_core::{Result, StoreError, Value};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

use crate::copy::{CopyEncoder, copy_statement, send_chunks};
use crate::error::{BACKEND, map_pg};
use crate::store::PgStore;
use crate::{quote_ident, quote_qualified};

/// The tables whose upserts through one store (and its clones) have met an existing key, so
/// go through staging from then on.
#[derive(Clone, Default)]
pub(crate) struct CollidedTables(Arc<Mutex<HashSet<String>>>);

impl CollidedTables {
    fn contains(&self, table: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(table)
    }

    fn insert(&self, table: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(table.to_owned());
    }
}

impl PgStore {
    /// [`SqlStore::upsert_rows`](store_core::SqlStore::upsert_rows) in bulk, in one
    /// transaction.
    ///
    /// Until a table's upserts through this store meet a key already there, the rows are
    /// copied straight into it with binary `COPY`: a restore, or a first copy into an empty
    /// table, costs what a plain `COPY` does. The first batch that meets one fails on the
    /// unique key, is rolled back, and is written again the general way, as every later batch
    /// into that table is: binary `COPY` into a temporary staging table of the written columns
    /// (same types as the table's), then one `INSERT … SELECT … ON CONFLICT (key) DO UPDATE`.
    /// The staging table lives as long as the pooled connection and is emptied at every commit
    /// (or rollback); its types are those of the table's columns when the connection first
    /// staged rows for it.
    pub(crate) async fn copy_upsert(
        &self,
        table: &str,
        columns: &[String],
        key: &[String],
        rows: Vec<Vec<Value>>,
    ) -> Result<u64> {
        check_upsert(columns, key, &rows)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let fail = |e: StoreError| e.in_context(BACKEND, "upsert_rows").with_target(table);
        let pg = |e| fail(map_pg(e, "upsert_rows"));
        let mut conn = self.conn("upsert_rows").await.map_err(fail)?;
        let target = quote_qualified(table);
        let list = columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        if !self.collided.contains(table) {
            let tx = conn.transaction().await.map_err(pg)?;
            // Not cached: the table may have been altered since the last batch.
            let probe = tx
                .prepare(&format!("SELECT {list} FROM {target} LIMIT 0"))
                .await
                .map_err(pg)?;
            let chunks = encode(&rows, columns, &column_types(&probe)).map_err(fail)?;
            let copy = copy_statement(&target, columns);
            match send_chunks(tx.client(), &copy, chunks).await {
                Ok(written) => {
                    tx.commit().await.map_err(pg)?;
                    return Ok(written);
                }
                Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    tx.rollback().await.map_err(pg)?;
                    self.collided.insert(table);
                }
                Err(e) => return Err(pg(e)),
            }
        }
        let tx = conn.transaction().await.map_err(pg)?;
        let written = staged(&tx, table, &target, &list, columns, key, &rows)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(pg)?;
        Ok(written)
    }
}

/// Upserts `rows` in `tx` through the session's staging table for `columns` of `table`.
async fn staged(
    tx: &Transaction<'_>,
    table: &str,
    target: &str,
    list: &str,
    columns: &[String],
    key: &[String],
    rows: &[Vec<Value>],
) -> Result<u64> {
    let pg = |e| map_pg(e, "upsert_rows");
    let stage = stage_name(table, columns);
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS \
         SELECT {list} FROM {target} WITH NO DATA"
    ))
    .await
    .map_err(pg)?;
    let probe = tx
        .prepare_cached(&format!("SELECT {list} FROM {stage} LIMIT 0"))
        .await
        .map_err(pg)?;
    let chunks = encode(rows, columns, &column_types(&probe))?;
    send_chunks(tx.client(), &copy_statement(&stage, columns), chunks)
        .await
        .map_err(pg)?;
    let from_stage = format!("SELECT {list} FROM {stage}");
    let upsert = tx
        .prepare_cached(&upsert_statement(table, columns, key, &from_stage))
        .await
        .map_err(pg)?;
    tx.execute(&upsert, &[]).await.map_err(pg)
}

/// `rows` in binary `COPY` chunks for `columns` of `types`.
fn encode(rows: &[Vec<Value>], columns: &[String], types: &[Type]) -> Result<Vec<Bytes>> {
    let mut encoder = CopyEncoder::new(columns, types);
    let mut chunks = Vec::new();
    for row in rows {
        chunks.extend(encoder.push(row)?);
    }
    chunks.push(encoder.finish());
    Ok(chunks)
}

/// The types of a prepared statement's result columns.
fn column_types(statement: &tokio_postgres::Statement) -> Vec<Type> {
    statement
        .columns()
        .iter()
        .map(|c| c.type_().clone())
        .collect()
}

/// The staging table of [`PgStore::copy_upsert`] for `columns` of `table`: a temporary table
/// of the session (so private to it), created at its first use and emptied at every commit.
fn stage_name(table: &str, columns: &[String]) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (table, columns).hash(&mut hasher);
    format!("pg_temp.stores_stage_{:016x}", hasher.finish())
}
