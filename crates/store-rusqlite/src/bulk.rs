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
use crate::untyped::class_keeping_on;
use store_core::sql::{quote_ident, quote_qualified, sqlite_real_like};

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
    /// the crate docs' type mapping), except that a number a REAL reads back as exactly
    /// (`1.5`, `0.1`; not `1.50`) is stored as that REAL in a column that keeps any class (no
    /// declared type, BLOB, ANY in a STRICT table), as `upsert_rows` stores it. Rows are pulled from the stream as the writer takes
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
            let (keeping_tx, keeping) = oneshot::channel();
            let name = table.to_owned();
            guard
                .spawn(move |conn| {
                    let target = Target {
                        name: &name,
                        quoted: &target,
                        columns: &columns,
                    };
                    let result = load(conn, &target, keeping_tx, rx, &spent_tx, read_only);
                    let _ = done.send(result);
                })
                .map_err(fail)?;
            let sent = match keeping.await {
                Ok(keeping) => send_all(rows, &keeping, &tx, &mut spent).await,
                // The load ended before its first row: its own error tells why.
                Err(_) => Ok(()),
            };
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
    keeping: &[bool],
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
        for (column, value) in row.iter().enumerate() {
            let keeps = keeping.get(column).copied().unwrap_or(false);
            encode(&mut chunk, value, keeps)?;
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

/// Appends a value as it binds as a parameter (one mapping for both), except that a number a
/// REAL reads back as goes into a column that `keeps` its values' class as that REAL (as
/// store-core's [`sqlite_real_like`] says, as the other bulk writes do).
fn encode(chunk: &mut FlatRows, value: &Value, keeps: bool) -> Result<()> {
    if let Value::Number(number) = value
        && keeps
        && sqlite_real_like(number)
    {
        chunk.push(ValueRef::Real(number.to_f64()));
        return Ok(());
    }
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

/// The table a load fills.
struct Target<'a> {
    /// As the caller named it (`orders`, `main.orders`).
    name: &'a str,
    /// Quoted for SQL.
    quoted: &'a str,
    /// The columns each row fills (empty: all, in order).
    columns: &'a [String],
}

/// The load, on the writer thread: begins, tells the sending side which columns keep their
/// values' class, inserts every row received, commits on `Commit` and rolls back on anything
/// else.
fn load(
    conn: &mut Connection,
    target: &Target<'_>,
    keeping: oneshot::Sender<Vec<bool>>,
    mut rx: mpsc::Receiver<Load>,
    spent: &mpsc::UnboundedSender<Vec<u8>>,
    read_only: bool,
) -> Result<u64> {
    let op = "insert_rows";
    let (name, target, columns) = (target.name, target.quoted, target.columns);
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
        let _ = keeping.send(class_keeping_on(conn, name, &names)?);
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
