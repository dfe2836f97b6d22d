//! The server side of a feed: its publication and logical replication slot, created when
//! missing, read with `pg_logical_slot_peek_binary_changes`, advanced once changes are applied,
//! and dropped on cleanup.

use std::time::{Duration, Instant};

use store_core::{Document, ErrorKind, Result, StoreError, Value};
use tokio_postgres::types::ToSql;

use super::decode::{Followed, Lsn};
use crate::PgStore;
use crate::quote_ident;

/// SQLSTATE 55006 (object in use): another process is reading the slot.
const SLOT_IN_USE: &str = "55006";
/// How long to wait for a slot another (dying) process still holds.
const IN_USE_WAIT: Duration = Duration::from_secs(30);

/// Runs `call` again while the slot is held by another process: a reader that just died (a
/// killed follower) holds it until its server process notices, which is worth waiting for.
async fn while_in_use<T, F, Fut>(mut call: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let started = Instant::now();
    loop {
        match call().await {
            Err(e) if e.status_code() == Some(SLOT_IN_USE) && started.elapsed() < IN_USE_WAIT => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => return other,
        }
    }
}

/// Text of a column of a one-row answer.
fn text(rows: &[Document], column: &str) -> Option<String> {
    rows.first()
        .and_then(|row| row.get(column))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The followed table's schema, name and primary key columns (in key order); a table without
/// a primary key cannot be followed.
pub(crate) async fn describe(store: &PgStore, table: &str) -> Result<Followed> {
    let qualified = crate::quote_qualified(table);
    let rows = store
        .query_params(
            "SELECT n.nspname AS namespace, c.relname AS name, c.oid::bigint AS oid, \
                    c.relkind::text AS kind, \
                    ARRAY(SELECT a.attname::text FROM pg_index i \
                        JOIN pg_attribute a ON a.attrelid = i.indrelid \
                            AND a.attnum = ANY(i.indkey) \
                        WHERE i.indrelid = c.oid AND i.indisprimary \
                        ORDER BY array_position(i.indkey::int2[], a.attnum)) AS key, \
                    ARRAY(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_index i \
                        JOIN pg_attribute a ON a.attrelid = i.indrelid \
                            AND a.attnum = ANY(i.indkey) \
                        WHERE i.indrelid = c.oid AND i.indisprimary \
                        ORDER BY array_position(i.indkey::int2[], a.attnum)) AS key_types \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.oid = to_regclass($1)",
            &[&qualified],
        )
        .await?;
    let Some(row) = rows.first() else {
        return Err(StoreError::not_found(format!(
            "table `{table}` does not exist"
        )));
    };
    let texts = |column: &str| -> Vec<String> {
        match row.get(column) {
            Some(Value::List(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let (key, key_types) = (texts("key"), texts("key_types"));
    if key.is_empty() {
        return Err(StoreError::invalid_input(format!(
            "table `{table}` has no primary key: its changes cannot be applied by key"
        )));
    }
    if text(&rows, "kind").as_deref() == Some("p") {
        return Err(StoreError::unsupported(format!(
            "table `{table}` is partitioned: its changes arrive under each partition's name; \
             follow the partitions, or copy it with `stores sync`"
        )));
    }
    let oid = row
        .get("oid")
        .and_then(Value::as_i64)
        .and_then(|oid| u32::try_from(oid).ok())
        .ok_or_else(|| StoreError::internal(format!("table `{table}` has no OID")))?;
    Ok(Followed {
        oid,
        namespace: text(&rows, "namespace").unwrap_or_default(),
        name: text(&rows, "name").unwrap_or_default(),
        key,
        key_types,
    })
}

/// Fails unless the server keeps logical decoding information (`wal_level = logical`).
pub(crate) async fn check_wal_level(store: &PgStore) -> Result<()> {
    let rows = store
        .query_params("SELECT current_setting('wal_level') AS level", &[])
        .await?;
    match text(&rows, "level").as_deref() {
        Some("logical") => Ok(()),
        other => Err(StoreError::invalid_input(format!(
            "the server's wal_level is {}: logical replication needs wal_level = logical \
             (set it in postgresql.conf, or rds.logical_replication = 1 in an RDS parameter \
             group, and restart)",
            other.unwrap_or("unknown")
        ))),
    }
}

/// Creates the publication for `table` unless it exists; an existing one must publish it.
pub(crate) async fn ensure_publication(
    store: &PgStore,
    name: &str,
    table: &Followed,
) -> Result<()> {
    let rows = store
        .query_params(
            "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1) AS found, \
                    EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = $1 \
                        AND schemaname = $2 AND tablename = $3) AS publishes",
            &[&name, &table.namespace, &table.name],
        )
        .await?;
    let flag = |column: &str| {
        rows.first()
            .and_then(|r| r.get(column))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    if flag("publishes") {
        return Ok(());
    }
    if flag("found") {
        return Err(StoreError::invalid_input(format!(
            "publication `{name}` exists but does not publish {}.{}; drop it or name another",
            table.namespace, table.name
        )));
    }
    let sql = format!(
        "CREATE PUBLICATION {} FOR TABLE {}.{}",
        quote_ident(name),
        quote_ident(&table.namespace),
        quote_ident(&table.name)
    );
    store.execute_params(&sql, &[]).await.map(drop)
}

/// The slot's confirmed position, creating the slot (plugin `pgoutput`) when it is missing.
pub(crate) async fn ensure_slot(store: &PgStore, name: &str) -> Result<Lsn> {
    if let Some(lsn) = confirmed(store, name).await? {
        return Ok(lsn);
    }
    let rows = store
        .query_params(
            "SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')",
            &[&name],
        )
        .await
        .map_err(|e| needs_rights(e, name))?;
    Lsn::parse(&text(&rows, "lsn").unwrap_or_default())
}

fn needs_rights(e: StoreError, slot: &str) -> StoreError {
    if e.kind() != ErrorKind::Unauthorized {
        return e;
    }
    StoreError::unauthorized(format!(
        "creating replication slot `{slot}` needs the REPLICATION attribute (or rds_replication \
         on RDS): {}",
        e.message()
    ))
}

/// The slot's confirmed position; `None` when the slot does not exist.
pub(crate) async fn confirmed(store: &PgStore, name: &str) -> Result<Option<Lsn>> {
    let rows = store
        .query_params(
            "SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots \
             WHERE slot_name = $1",
            &[&name],
        )
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    text(&rows, "lsn").map(|t| Lsn::parse(&t)).transpose()
}

/// How far the server's WAL is flushed: logical decoding reads no further.
pub(crate) async fn flushed(store: &PgStore) -> Result<Lsn> {
    let rows = store
        .query_params("SELECT pg_current_wal_flush_lsn()::text AS lsn", &[])
        .await?;
    Lsn::parse(&text(&rows, "lsn").unwrap_or_default())
}

/// The server's current WAL position.
pub(crate) async fn current(store: &PgStore) -> Result<Lsn> {
    let rows = store
        .query_params("SELECT pg_current_wal_lsn()::text AS lsn", &[])
        .await?;
    Lsn::parse(&text(&rows, "lsn").unwrap_or_default())
}

/// Up to about `limit` messages of whole transactions after the slot's confirmed position
/// that commit before `upto`, without consuming them.
pub(crate) async fn peek(
    store: &PgStore,
    slot: &str,
    publication: &str,
    limit: i32,
    upto: Lsn,
) -> Result<Vec<Vec<u8>>> {
    let upto = upto.to_string();
    let params: [&(dyn ToSql + Sync); 4] = [&slot, &limit, &publication, &upto];
    let conn = store.client().await?;
    let rows = while_in_use(|| async {
        conn.query(
            "SELECT data FROM pg_logical_slot_peek_binary_changes($1, $4::text::pg_lsn, $2, \
             'proto_version', '1', 'publication_names', $3)",
            &params,
        )
        .await
        .map_err(|e| crate::error::map_pg(e, "peek changes"))
    })
    .await?;
    rows.iter()
        .map(|row| {
            row.try_get::<_, Vec<u8>>(0)
                .map_err(|e| crate::error::map_pg(e, "peek changes"))
        })
        .collect()
}

/// Moves the slot's confirmed position forward to `to` (never back).
pub(crate) async fn advance(store: &PgStore, slot: &str, to: Lsn) -> Result<()> {
    let lsn = to.to_string();
    let params: [&(dyn ToSql + Sync); 2] = [&slot, &lsn];
    while_in_use(|| {
        store.query_params(
            "SELECT end_lsn::text AS lsn FROM pg_replication_slot_advance($1, $2::text::pg_lsn)",
            &params,
        )
    })
    .await
    .map(drop)
}

/// How many bytes of WAL the slot keeps the server from recycling.
pub(crate) async fn retained_bytes(store: &PgStore, slot: &str) -> Result<Option<i64>> {
    let rows = store
        .query_params(
            "SELECT (pg_current_wal_lsn() - restart_lsn)::bigint AS bytes \
             FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await?;
    Ok(rows
        .first()
        .and_then(|r| r.get("bytes"))
        .and_then(Value::as_i64))
}

/// Drops the slot and the publication, whichever exist.
pub(crate) async fn drop_all(store: &PgStore, slot: &str, publication: &str) -> Result<()> {
    let params: [&(dyn ToSql + Sync); 1] = [&slot];
    while_in_use(|| {
        store.query_params(
            "SELECT count(*) AS dropped FROM (SELECT pg_drop_replication_slot(slot_name) \
             FROM pg_replication_slots WHERE slot_name = $1) AS d",
            &params,
        )
    })
    .await?;
    let sql = format!("DROP PUBLICATION IF EXISTS {}", quote_ident(publication));
    store.execute_params(&sql, &[]).await.map(drop)
}
