//! Bulk loads: rows from a stream inserted in one transaction through one prepared
//! statement on the writer.

use std::pin::pin;

use futures::stream::{Stream, StreamExt};
use rusqlite::Connection;
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use store_core::{Result, StoreError, Value};
use tokio::sync::{mpsc, oneshot};

use crate::convert::Param;
use crate::error::{BACKEND, map_sqlite};
use crate::exec;
use crate::flat::{FlatReader, FlatRows};
use crate::store::SqliteStore;
use store_core::sql::{quote_ident, quote_qualified};

/// Rows handed to the writer thread at a time, at most.
const CHUNK_ROWS: usize = 1024;
/// Bytes of encoded rows handed to the writer thread at a time, about.
const CHUNK_BYTES: usize = 1 << 20;

/// What the async side sends the load running on the writer.
enum Load {
    Rows(FlatRows),
    /// Every row was sent: commit.
    Commit,
}

impl SqliteStore {
    /// Inserts rows into `table` in one transaction with one prepared statement, returning
    /// how many were written.
    ///
    /// `columns` names the columns each row's values fill, in order (empty: all of the
    /// table's columns, in their declared order). Values are bound as parameters are (see
    /// the crate docs' type mapping). Rows are pulled from the stream as the writer takes
    /// them, encoded in chunks of up to 1,024 rows or about 1 MiB while the writer inserts the
    /// previous chunk, so memory stays bounded however many there are. The load is all or
    /// nothing: a row of the wrong length, a value a constraint refuses, an error item from
    /// the stream, or dropping the returned future rolls everything back.
    ///
    /// `table` may be schema-qualified (`main.orders`); names are quoted, so they are taken
    /// literally.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use futures::stream;
    /// use store_core::{SqlStore, SqlStoreExt, Value};
    ///
    /// let store = store_rusqlite::SqliteStore::memory().await?;
    /// store.batch_execute("CREATE TABLE points (id INTEGER PRIMARY KEY, label TEXT)").await?;
    /// let rows = (0..1000).map(|i| Ok(vec![Value::from(i), Value::from(format!("p{i}"))]));
    /// let n = store.insert_rows("points", &["id", "label"], stream::iter(rows)).await?;
    /// assert_eq!(n, 1000);
    /// # Ok::<_, store_core::StoreError>(())
    /// # }).unwrap();
    /// ```
    pub async fn insert_rows<S>(&self, table: &str, columns: &[&str], rows: S) -> Result<u64>
    where
        S: Stream<Item = Result<Vec<Value>>> + Send,
    {
        async move {
            let fail = |e: StoreError| e.in_context(BACKEND, "insert_rows").with_target(table);
            let guard = self.writer("insert_rows").await.map_err(fail)?;
            let target = quote_qualified(table);
            let columns: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
            let read_only = self.config().is_read_only();
            let (tx, rx) = mpsc::channel::<Load>(2);
            let (spent_tx, mut spent) = mpsc::unbounded_channel();
            let (done, outcome) = oneshot::channel();
            guard
                .spawn(move |conn| {
                    let result = load(conn, &target, &columns, rx, &spent_tx, read_only);
                    let _ = done.send(result);
                })
                .map_err(fail)?;
            let sent = send_all(rows, &tx, &mut spent).await;
            if sent.is_ok() {
                let _ = tx.send(Load::Commit).await;
            }
            drop(tx);
            let loaded = outcome
                .await
                .map_err(|_| StoreError::internal("the bulk load on the writer panicked"))
                .and_then(|r| r);
            match (sent, loaded) {
                (Err(e), _) => Err(fail(e)),
                (Ok(()), loaded) => loaded.map_err(fail),
            }
        }
        .await
    }
}

/// Feeds the stream's rows to the load, encoded in chunks; stops early when the load has
/// ended (its own error then tells why). Buffers the load has written come back through
/// `spent` to be filled again.
async fn send_all<S>(
    rows: S,
    tx: &mpsc::Sender<Load>,
    spent: &mut mpsc::UnboundedReceiver<Vec<u8>>,
) -> Result<()>
where
    S: Stream<Item = Result<Vec<Value>>> + Send,
{
    let mut rows = pin!(rows);
    let mut chunk = FlatRows::default();
    while let Some(row) = rows.next().await {
        let row = row?;
        chunk.begin_row(row.len());
        for value in &row {
            encode(&mut chunk, value)?;
        }
        if chunk.rows() == CHUNK_ROWS || chunk.len() >= CHUNK_BYTES {
            let next = FlatRows::reuse(spent.try_recv().unwrap_or_default());
            let full = std::mem::replace(&mut chunk, next);
            if tx.send(Load::Rows(full)).await.is_err() {
                return Ok(());
            }
        }
    }
    if chunk.rows() > 0 {
        let _ = tx.send(Load::Rows(chunk)).await;
    }
    Ok(())
}

/// Appends a value as it binds as a parameter (one mapping for both).
fn encode(chunk: &mut FlatRows, value: &Value) -> Result<()> {
    match Param(value)
        .to_sql()
        .map_err(|e| map_sqlite(e, "insert_rows"))?
    {
        ToSqlOutput::Borrowed(v) => chunk.push(v),
        ToSqlOutput::Owned(v) => chunk.push(ValueRef::from(&v)),
        _ => {
            return Err(StoreError::internal(
                "a parameter bound as something unexpected",
            ));
        }
    }
    Ok(())
}

/// The load, on the writer thread: begins, inserts every row received, commits on `Commit`
/// and rolls back on anything else.
fn load(
    conn: &mut Connection,
    target: &str,
    columns: &[String],
    mut rx: mpsc::Receiver<Load>,
    spent: &mpsc::UnboundedSender<Vec<u8>>,
    read_only: bool,
) -> Result<u64> {
    let op = "insert_rows";
    let names = if columns.is_empty() {
        let probe_sql = format!("SELECT * FROM {target} LIMIT 0");
        exec::check_sql(&probe_sql, op)?;
        let probe = conn.prepare(&probe_sql).map_err(|e| map_sqlite(e, op))?;
        probe.column_names().map(str::to_owned).collect()
    } else {
        columns.to_vec()
    };
    let width = names.len();
    let quoted: Vec<String> = names.iter().map(|c| quote_ident(c)).collect();
    let marks: Vec<String> = (1..=width).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO {target} ({}) VALUES ({})",
        quoted.join(", "),
        marks.join(", ")
    );
    exec::check_sql(&sql, op)?;
    conn.execute_batch(exec::begin_sql(read_only))
        .map_err(|e| map_sqlite(e, op))?;
    let inserted = (|| {
        let mut stmt = conn.prepare(&sql).map_err(|e| map_sqlite(e, op))?;
        let mut count = 0u64;
        while let Some(message) = rx.blocking_recv() {
            let rows = match message {
                Load::Rows(rows) => rows,
                Load::Commit => return Ok(Some(count)),
            };
            let mut reader = FlatReader::new(&rows);
            for _ in 0..rows.rows() {
                let values = reader.row_width()?;
                if values != width {
                    return Err(StoreError::invalid_input(format!(
                        "row {} has {values} values for {width} columns",
                        count + 1
                    )));
                }
                for index in 1..=width {
                    stmt.raw_bind_parameter(index, ToSqlOutput::Borrowed(reader.value()?))
                        .map_err(|e| map_sqlite(e, op))?;
                }
                stmt.raw_execute().map_err(|e| {
                    let err = map_sqlite(e, op);
                    StoreError::new(err.kind(), format!("row {}: {}", count + 1, err.message()))
                        .with_source(err)
                })?;
                count += 1;
            }
            let _ = spent.send(rows.into_bytes());
        }
        Ok(None)
    })();
    drop(rx);
    match inserted {
        Ok(Some(count)) => match conn.execute_batch("COMMIT") {
            Ok(()) => Ok(count),
            Err(e) => {
                exec::rollback(conn);
                Err(map_sqlite(e, op))
            }
        },
        // The caller stopped sending without asking to commit: its own error explains.
        Ok(None) => {
            exec::rollback(conn);
            Err(StoreError::invalid_input(
                "the load was abandoned before its last row",
            ))
        }
        Err(e) => {
            exec::rollback(conn);
            Err(e)
        }
    }
}
