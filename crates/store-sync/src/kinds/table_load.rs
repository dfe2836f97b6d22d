//! A PostgreSQL table that a copy or restore creates is loaded without its primary key, which
//! is added once the load finishes, as `pg_restore` does: building the key's index once from
//! all the rows costs far less than keeping it up to date row by row.
//!
//! Until then a comment on the table (set in the transaction that creates it) marks it as
//! loading, so a resumed or a concurrent (partitioned) load goes on loading it, and a sync or
//! a follow refuses it. Rows a resumed load sends again are stored twice while the table has
//! no key; before the key is added, only the newest row of each key is kept, which is what
//! upserts in the same order leave.

use store_core::sql::{IsolationLevel, SqlStore, quote_ident, quote_qualified};
use store_core::{ErrorKind, Result, SqlStoreExt, StoreError, Value};

use crate::kinds::catalog::{create_statement, key_list};
use crate::schema::CollectionSchema;

/// The comment on a table that is being loaded without its primary key.
const MARKER: &str = "stores: loading; its primary key is added when the load finishes";

/// Whether a load into `store` creates its tables without their keys (PostgreSQL does).
pub(crate) fn defers_key(store: &dyn SqlStore) -> bool {
    store.backend() == "postgres"
}

/// Creates `table` from `schema` without its primary key, marked as loading, in one
/// transaction.
pub(crate) async fn create_unkeyed(
    store: &dyn SqlStore,
    table: &str,
    schema: &CollectionSchema,
) -> Result<()> {
    let create = create_statement(store, table, schema, false)?;
    store
        .batch_execute(&format!(
            "{create}; COMMENT ON TABLE {} IS '{MARKER}'",
            quote_qualified(table)
        ))
        .await
}

/// Whether `table` is marked as being loaded without its key.
pub(crate) async fn is_loading(store: &dyn SqlStore, table: &str) -> Result<bool> {
    if !defers_key(store) {
        return Ok(false);
    }
    let row = store
        .query_one(
            "SELECT obj_description(to_regclass($1::text), 'pg_class') AS comment",
            &[Value::String(quote_qualified(table))],
        )
        .await?;
    Ok(matches!(row.get("comment"), Some(Value::String(c)) if c == MARKER))
}

/// Gives the loading `table` its primary key `key` and removes the mark, in one transaction
/// that holds the table alone. When rows share a key, the newest of each is kept first. A
/// table another process of the same load has already keyed is left as it is.
pub(crate) async fn add_key(store: &dyn SqlStore, table: &str, key: &[String]) -> Result<()> {
    let target = quote_qualified(table);
    for dedup in [false, true] {
        let mut tx = store.begin(IsolationLevel::ReadCommitted).await?;
        tx.execute(
            &format!("LOCK TABLE {target} IN ACCESS EXCLUSIVE MODE"),
            &[],
        )
        .await?;
        let keyed = tx
            .query(
                "SELECT 1 AS keyed FROM pg_index \
                 WHERE indrelid = to_regclass($1::text) AND indisprimary",
                &[Value::String(target.clone())],
            )
            .await?;
        if !keyed.is_empty() {
            return tx.commit().await;
        }
        if dedup {
            tx.execute(&newest_only(&target, key), &[]).await?;
        }
        let added = tx
            .execute(
                &format!("ALTER TABLE {target} ADD PRIMARY KEY ({})", key_list(key)),
                &[],
            )
            .await;
        match added {
            Err(e) if e.kind() == ErrorKind::AlreadyExists && !dedup => {
                tx.rollback().await?;
                continue;
            }
            added => added?,
        };
        tx.execute(&format!("COMMENT ON TABLE {target} IS NULL"), &[])
            .await?;
        return tx.commit().await;
    }
    Err(StoreError::internal(format!(
        "table {target} could not be given its primary key"
    )))
}

/// `DELETE` of every row of `target` that a newer row of the same key follows: written by a
/// later transaction, or later by the same one.
fn newest_only(target: &str, key: &[String]) -> String {
    let side = |alias: &str| {
        let columns: Vec<String> = key
            .iter()
            .map(|column| format!("{alias}.{}", quote_ident(column)))
            .collect();
        format!("({})", columns.join(", "))
    };
    format!(
        "DELETE FROM {target} AS older USING {target} AS newer \
         WHERE {} = {} AND (age(older.xmin) > age(newer.xmin) \
         OR (older.xmin = newer.xmin AND older.ctid < newer.ctid))",
        side("older"),
        side("newer")
    )
}
