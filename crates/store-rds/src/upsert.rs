//! [`SqlStore::upsert_rows`](store_core::SqlStore::upsert_rows) in bulk with binary `COPY`:
//! straight into the table while its keys are new, through a staging table once they meet
//! existing ones.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use deadpool_postgres::Transaction;
use store_core::sql::{check_upsert, upsert_statement};
use store_core::{Result, StoreError, Value};
use tokio_postgres::error::SqlState;

use crate::copy::{
    SendError, column_list, copy_statement, fill_copy, result_columns, send_rows, start_copy,
};
use crate::error::{BACKEND, map_pg};
use crate::quote_qualified;
use crate::store::PgStore;

/// How each table's upserts go, decided at the first upsert into it through one store (and
/// its clones).
#[derive(Clone, Default)]
pub(crate) struct UpsertRoutes(Arc<Mutex<HashMap<String, Route>>>);

/// How upserts into one table go.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Route {
    /// Binary `COPY` straight into the table, which a unique index (named here) on exactly
    /// the key guards, until a batch meets a key already there.
    Direct { key_index: String },
    /// Through the staging table and `INSERT … ON CONFLICT`.
    Staged,
}

impl UpsertRoutes {
    fn get(&self, table: &str) -> Option<Route> {
        self.lock().get(table).cloned()
    }

    fn set(&self, table: &str, route: Route) {
        self.lock().insert(table.to_owned(), route);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Route>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The name of a unique, immediate, non-partial index on exactly the `$2` columns of the
/// table `$1` (a quoted name), when a plain `COPY` into the table writes what `INSERT` would:
/// an ordinary or partitioned table without row-level security, none of the written columns
/// `$3` an identity column `GENERATED ALWAYS`. No row otherwise.
const DIRECT_ROUTE: &str = "\
SELECT ix.relname::text
FROM pg_class t
JOIN pg_index i ON i.indrelid = t.oid
JOIN pg_class ix ON ix.oid = i.indexrelid
WHERE t.oid = $1::text::regclass
  AND t.relkind IN ('r', 'p') AND NOT t.relrowsecurity
  AND i.indisunique AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL
  AND i.indnkeyatts = cardinality($2::text[])
  AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text)
       FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
       WHERE k.n <= i.indnkeyatts)
      = (SELECT array_agg(c ORDER BY c) FROM unnest($2::text[]) AS c)
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                  WHERE a.attrelid = t.oid AND a.attidentity = 'a'
                    AND a.attname::text = ANY($3::text[]))
LIMIT 1";

impl PgStore {
    /// [`SqlStore::upsert_rows`](store_core::SqlStore::upsert_rows) in bulk, in one
    /// transaction.
    ///
    /// Where a plain `COPY` writes what `INSERT` would (an ordinary table without row-level
    /// security, a unique index on exactly the key, no `GENERATED ALWAYS` identity column
    /// written), and until a batch meets a key already there, the rows are copied straight
    /// into the table with binary `COPY`: a restore, or a first copy into an empty table,
    /// costs what a plain `COPY` does. A batch that meets an existing key fails on that
    /// index, is rolled back, and is written again the general way, as every later batch into
    /// that table is: binary `COPY` into a temporary staging table of the written columns
    /// (same types as the table's), then one `INSERT … SELECT … ON CONFLICT (key) DO UPDATE`.
    /// The staging table lives as long as the pooled connection and is emptied at every
    /// commit (or rollback); its types are those of the table's columns when the connection
    /// first staged rows for it.
    pub(crate) async fn copy_upsert(
        &self,
        table: &str,
        columns: &[String],
        key: &[String],
        rows: &[Vec<Value>],
    ) -> Result<u64> {
        check_upsert(columns, key, rows)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let fail = |e: StoreError| e.in_context(BACKEND, "upsert_rows").with_target(table);
        let pg = |e| fail(map_pg(e, "upsert_rows"));
        let mut conn = self.conn("upsert_rows").await.map_err(fail)?;
        let target = quote_qualified(table);
        let list = column_list(columns);
        let route = match self.routes.get(table) {
            Some(route) => route,
            None => {
                let found = conn
                    .query_opt(DIRECT_ROUTE, &[&target, &key, &columns])
                    .await
                    .map_err(pg)?;
                let route = match found {
                    Some(row) => Route::Direct {
                        key_index: row.get(0),
                    },
                    None => Route::Staged,
                };
                self.routes.set(table, route.clone());
                route
            }
        };
        if let Route::Direct { key_index } = route {
            let tx = conn.transaction().await.map_err(pg)?;
            let (types, sink) = start_copy(&tx, tx.client(), &target, &list)
                .await
                .map_err(pg)?;
            match fill_copy(sink, rows, columns, &types).await {
                Ok(written) => {
                    tx.commit().await.map_err(pg)?;
                    return Ok(written);
                }
                Err(SendError::Encode(e)) => {
                    tx.rollback().await.map_err(pg)?;
                    return Err(fail(e));
                }
                Err(SendError::Pg(e)) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    tx.rollback().await.map_err(pg)?;
                    // Another unique constraint fails the staged write the same way; only
                    // the key's index sends the table's later batches through staging.
                    let on_key = e
                        .as_db_error()
                        .and_then(|db| db.constraint())
                        .is_some_and(|name| name == key_index);
                    if on_key {
                        self.routes.set(table, Route::Staged);
                    }
                }
                Err(SendError::Pg(e)) => return Err(pg(e)),
            }
        }
        let tx = conn.transaction().await.map_err(pg)?;
        let written = staged(&tx, table, &target, &list, columns, key, rows)
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
    let copy = copy_statement(&stage, list);
    send_rows(tx.client(), &copy, rows, columns, &result_columns(&probe).1)
        .await
        .map_err(|e| e.into_store("upsert_rows"))?;
    let from_stage = format!("SELECT {list} FROM {stage}");
    let upsert = tx
        .prepare_cached(&upsert_statement(table, columns, key, &from_stage))
        .await
        .map_err(pg)?;
    tx.execute(&upsert, &[]).await.map_err(pg)
}

/// The staging table of [`PgStore::copy_upsert`] for `columns` of `table`: a temporary table
/// of the session (so private to it), created at its first use and emptied at every commit.
fn stage_name(table: &str, columns: &[String]) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (table, columns).hash(&mut hasher);
    format!("pg_temp.stores_stage_{:016x}", hasher.finish())
}
