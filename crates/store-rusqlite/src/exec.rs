//! Statements run on a connection, off the runtime: prepare (through the statement cache,
//! with `$n` rewritten as `?n`), bind, step.

use std::sync::Arc;

use rusqlite::{CachedStatement, Connection, Statement};
use store_core::{Document, Result, StoreError, Value};
use tokio::sync::mpsc;

use crate::convert::{Param, Shape};
use crate::error::map_sqlite;
use crate::flat::FlatRows;
use crate::sqltext::{manages_transactions, translate_params};

/// Rows sent through a stream's channel at a time, at most.
pub(crate) const CHUNK_ROWS: usize = 64;
/// Bytes of rows sent through a stream's channel at a time, about.
const CHUNK_BYTES: usize = 256 * 1024;

/// What a query's producer sends to its stream.
#[derive(Debug)]
pub(crate) enum Msg {
    /// The result's columns, before any rows.
    Shape(Arc<Shape>),
    /// The next rows, in order, to be read with the shape.
    Rows(FlatRows),
    /// The statement writes, so a reader cannot run it: run it on the writer instead.
    Reroute,
}

/// Refuses SQL text with a NUL character: SQLite would stop reading at it and run the
/// statement cut short (`DELETE FROM t\0 WHERE …` would delete every row).
pub(crate) fn check_sql(sql: &str, operation: &'static str) -> Result<()> {
    if sql.contains('\0') {
        return Err(StoreError::invalid_input(
            "the SQL text contains a NUL character; pass such values as parameters",
        )
        .in_context(crate::error::BACKEND, operation));
    }
    Ok(())
}

/// Prepares `sql` through the connection's statement cache.
pub(crate) fn prepare<'c>(
    conn: &'c Connection,
    sql: &str,
    operation: &'static str,
) -> Result<CachedStatement<'c>> {
    check_sql(sql, operation)?;
    conn.prepare_cached(&translate_params(sql))
        .map_err(|e| map_sqlite(e, operation))
}

/// Runs statements without parameters, after [`check_sql`].
pub(crate) fn run_script(conn: &Connection, sql: &str, operation: &'static str) -> Result<()> {
    check_sql(sql, operation)?;
    conn.execute_batch(sql)
        .map_err(|e| map_sqlite(e, operation))
}

/// Binds `params` to `$1`…`$n`; a different count than the statement takes is
/// `InvalidInput`.
pub(crate) fn bind(
    stmt: &mut Statement<'_>,
    params: &[Value],
    operation: &'static str,
) -> Result<()> {
    let expected = stmt.parameter_count();
    if expected != params.len() {
        return Err(StoreError::invalid_input(format!(
            "the statement takes {expected} parameters but {} were given",
            params.len()
        ))
        .in_context(crate::error::BACKEND, operation));
    }
    for (i, value) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, Param(value))
            .map_err(|e| map_sqlite(e, operation))?;
    }
    Ok(())
}

/// Runs one statement; returns the rows it changed (for a read-only statement: the rows it
/// returned, as PostgreSQL reports for `SELECT`).
pub(crate) fn execute(
    conn: &Connection,
    sql: &str,
    params: &[Value],
    operation: &'static str,
) -> Result<u64> {
    let mut stmt = prepare(conn, sql, operation)?;
    bind(&mut stmt, params, operation)?;
    let read_only = stmt.readonly();
    let before = conn.total_changes();
    let mut rows = stmt.raw_query();
    let mut returned = 0u64;
    while rows.next().map_err(|e| map_sqlite(e, operation))?.is_some() {
        returned += 1;
    }
    drop(rows);
    Ok(if read_only {
        returned
    } else if conn.total_changes() == before {
        0
    } else {
        conn.changes()
    })
}

/// Runs a query and collects its rows.
pub(crate) fn query_all(
    conn: &Connection,
    sql: &str,
    params: &[Value],
    operation: &'static str,
) -> Result<Vec<Document>> {
    let mut stmt = prepare(conn, sql, operation)?;
    bind(&mut stmt, params, operation)?;
    let shape = Shape::of(&stmt);
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| map_sqlite(e, operation))? {
        out.push(shape.document(row)?);
    }
    Ok(out)
}

/// Runs a query and sends its shape, then its rows in flat chunks, through `out`, stopping
/// when the stream is dropped. On a reader (`reader` true), a statement that writes is not
/// run: `Reroute` is sent instead.
pub(crate) fn produce(
    conn: &Connection,
    sql: &str,
    params: &[Value],
    reader: bool,
    out: &mpsc::Sender<Result<Msg>>,
) {
    let outcome = (|| {
        let mut stmt = prepare(conn, sql, "query")?;
        if reader && !stmt.readonly() {
            let _ = out.blocking_send(Ok(Msg::Reroute));
            return Ok(());
        }
        bind(&mut stmt, params, "query")?;
        let width = stmt.column_count();
        if out
            .blocking_send(Ok(Msg::Shape(Arc::new(Shape::of(&stmt)))))
            .is_err()
        {
            return Ok(());
        }
        let mut rows = stmt.raw_query();
        let mut chunk = FlatRows::default();
        while let Some(row) = rows.next().map_err(|e| map_sqlite(e, "query"))? {
            chunk.begin_row(width);
            for i in 0..width {
                chunk.push(row.get_ref(i).map_err(|e| map_sqlite(e, "query"))?);
            }
            if chunk.rows() == CHUNK_ROWS || chunk.len() >= CHUNK_BYTES {
                let full = std::mem::take(&mut chunk);
                if out.blocking_send(Ok(Msg::Rows(full))).is_err() {
                    return Ok(()); // the stream was dropped
                }
            }
        }
        if chunk.rows() > 0 {
            let _ = out.blocking_send(Ok(Msg::Rows(chunk)));
        }
        Ok(())
    })();
    if let Err(e) = outcome {
        let _ = out.blocking_send(Err(e));
    }
}

/// The statement that starts a write transaction.
pub(crate) fn begin_sql(read_only: bool) -> &'static str {
    if read_only {
        "BEGIN"
    } else {
        "BEGIN IMMEDIATE"
    }
}

/// Runs a script of statements without parameters as one transaction, unless it manages
/// transactions itself (see [`manages_transactions`]).
pub(crate) fn batch(conn: &Connection, sql: &str, read_only: bool) -> Result<()> {
    let op = "batch_execute";
    check_sql(sql, op)?;
    if manages_transactions(sql) {
        return conn.execute_batch(sql).map_err(|e| map_sqlite(e, op));
    }
    conn.execute_batch(begin_sql(read_only))
        .map_err(|e| map_sqlite(e, op))?;
    match conn.execute_batch(sql) {
        Ok(()) => conn.execute_batch("COMMIT").map_err(|e| {
            let err = map_sqlite(e, op);
            rollback(conn);
            err
        }),
        Err(e) => {
            rollback(conn);
            Err(map_sqlite(e, op))
        }
    }
}

/// Rolls back the connection's transaction, if one is open.
pub(crate) fn rollback(conn: &Connection) {
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// After a statement outside a transaction: one that left a transaction open (`BEGIN` run
/// through `execute`) is rolled back and refused, as the writer is shared.
pub(crate) fn refuse_open_transaction(conn: &Connection, operation: &'static str) -> Result<()> {
    if conn.is_autocommit() {
        return Ok(());
    }
    rollback(conn);
    Err(StoreError::invalid_input(
        "the statement left a transaction open, so it was rolled back; use begin() or \
         SqlStoreExt::transaction for transactions",
    )
    .in_context(crate::error::BACKEND, operation))
}
