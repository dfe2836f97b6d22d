//! Bulk transfer with binary `COPY`: rows streamed in, rows streamed out.

use std::pin::pin;

use bytes::{BufMut, Bytes, BytesMut};
use deadpool_postgres::GenericClient;
use futures::stream::{BoxStream, Stream, StreamExt};
use futures::{SinkExt, TryStreamExt};
use store_core::sql::check_rows;
use store_core::{Document, Result, StoreError, Value};
use tokio_postgres::CopyInSink;
use tokio_postgres::binary_copy::BinaryCopyOutStream;
use tokio_postgres::types::{IsNull, Type};

use crate::cancel::GuardedRows;
use crate::codec::{self, Raw};
use crate::error::{BACKEND, map_pg};
use crate::store::PgStore;
use crate::{quote_ident, quote_qualified};

/// Rows of a `COPY ... TO STDOUT`, as documents; it holds its pooled connection until it ends
/// or is dropped.
pub type CopyOutStream = BoxStream<'static, Result<Document>>;

const MAGIC: &[u8] = b"PGCOPY\n\xff\r\n\0";
/// Bytes buffered before a chunk is sent to the server: small enough that the server starts
/// on a batch soon after its `COPY` begins and finishes soon after its last row is encoded
/// (a restore of 1,000,000 rows took 4.1–4.6 s with 256 KiB chunks, 3.2–4.0 s with these,
/// interleaved runs).
const CHUNK: usize = 64 * 1024;

impl PgStore {
    /// Loads rows into `table` with binary `COPY ... FROM STDIN`, returning how many were
    /// written.
    ///
    /// `columns` names the columns each row's values fill, in order (empty: all of the
    /// table's columns). Their types are read from the table, and each value is encoded for
    /// its column's type as a parameter would be (exact `numeric`, `jsonb`, arrays, dates...).
    /// Rows are pulled from the stream as the server takes them, in chunks of 64 KiB, so
    /// memory stays bounded however many there are. The load is all or nothing: a row that
    /// does not fit (wrong length, a value its column cannot hold, or an error item from the
    /// stream) aborts the `COPY` and nothing is written.
    ///
    /// `table` may be schema-qualified (`sales.orders`); names are quoted, so they are taken
    /// literally (case-sensitive).
    pub async fn copy_in<S>(&self, table: &str, columns: &[&str], rows: S) -> Result<u64>
    where
        S: Stream<Item = Result<Vec<Value>>> + Send,
    {
        let target = quote_qualified(table);
        async move {
            let fail = |e: StoreError| e.in_context(BACKEND, "copy_in").with_target(table);
            let conn = self.conn("copy_in").await.map_err(fail)?;
            let column_list = if columns.is_empty() {
                "*".to_owned()
            } else {
                column_list(columns)
            };
            let probe = conn
                .prepare(&format!("SELECT {column_list} FROM {target} LIMIT 0"))
                .await
                .map_err(|e| fail(map_pg(e, "copy_in")))?;
            let (names, types) = result_columns(&probe);
            let written = copy_rows(&conn, &target, &names, &types, rows)
                .await
                .map_err(fail)?;
            Ok(written)
        }
        .await
    }

    /// [`SqlStore::insert_rows`](store_core::SqlStore::insert_rows): one binary `COPY` of
    /// `rows` into `columns` of `table`, all or nothing (a `COPY` is one statement). A row
    /// whose key is taken fails it with `AlreadyExists`.
    pub(crate) async fn copy_insert(
        &self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<u64> {
        check_rows(columns, rows)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let fail = |e: StoreError| e.in_context(BACKEND, "insert_rows").with_target(table);
        let pg = |e| fail(map_pg(e, "insert_rows"));
        let conn = self.conn("insert_rows").await.map_err(fail)?;
        let target = quote_qualified(table);
        let list = column_list(columns);
        let (types, sink) = start_copy(&conn, &conn, &target, &list).await.map_err(pg)?;
        fill_copy(sink, rows, columns, &types)
            .await
            .map_err(|e| fail(e.into_store("insert_rows")))
    }

    /// Streams the rows of `query` (a `SELECT` without parameters, or a table name given as
    /// `SELECT * FROM t`) with binary `COPY (...) TO STDOUT`, decoded to documents exactly as
    /// [`query`](store_core::SqlStore::query) decodes rows. Memory stays bounded.
    pub async fn copy_out(&self, query: &str) -> Result<CopyOutStream> {
        async move {
            // Guarded: a stream dropped before its end cancels the COPY on the server.
            let conn = self.guarded("copy_out").await?;
            let started = async {
                let probe = conn
                    .prepare(query)
                    .await
                    .map_err(|e| map_pg(e, "copy_out"))?;
                let (names, types) = result_columns(&probe);
                let stream = conn
                    .copy_out(format!("COPY ({query}) TO STDOUT (FORMAT binary)").as_str())
                    .await
                    .map_err(|e| map_pg(e, "copy_out"))?;
                Ok::<_, StoreError>((names, types, stream))
            }
            .await;
            let (names, types, stream) = match started {
                Ok(started) => started,
                Err(e) => {
                    conn.release();
                    return Err(e);
                }
            };
            let rows = GuardedRows::new(BinaryCopyOutStream::new(stream, &types), conn);
            let docs = rows
                .map_err(|e| map_pg(e, "copy_out"))
                .and_then(move |row| {
                    let decoded = (|| {
                        let mut doc = Document::with_capacity(names.len());
                        for (i, (name, ty)) in names.iter().zip(&types).enumerate() {
                            let raw: Raw<'_> = row.try_get(i).map_err(|e| {
                                StoreError::internal(format!("reading column `{name}`"))
                                    .with_source(e)
                            })?;
                            doc.insert(name.as_str(), codec::decode(ty, raw.0)?);
                        }
                        Ok(doc)
                    })();
                    futures::future::ready(
                        decoded.map_err(|e: StoreError| e.in_context(BACKEND, "copy_out")),
                    )
                });
            Ok(docs.boxed())
        }
        .await
    }
}

/// The quoted column names, comma-separated: `"id", "name"`.
pub(crate) fn column_list<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|c| quote_ident(c.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `COPY target (list) FROM STDIN (FORMAT binary)`, `target` quoted and `list` a
/// [`column_list`].
pub(crate) fn copy_statement(target: &str, list: &str) -> String {
    format!("COPY {target} ({list}) FROM STDIN (FORMAT binary)")
}

/// Rows encoded in PostgreSQL's binary `COPY` format, handed out in chunks of about
/// [`CHUNK`] bytes: the header first, the trailer with the last chunk.
pub(crate) struct CopyEncoder<'a> {
    names: &'a [String],
    types: &'a [Type],
    buf: BytesMut,
    rows: u64,
}

impl<'a> CopyEncoder<'a> {
    /// An encoder of rows whose values fill the columns `names` of `types`, in order.
    pub(crate) fn new(names: &'a [String], types: &'a [Type]) -> Self {
        let mut buf = BytesMut::with_capacity(CHUNK + 4096);
        buf.put_slice(MAGIC);
        buf.put_i32(0);
        buf.put_i32(0);
        Self {
            names,
            types,
            buf,
            rows: 0,
        }
    }

    /// Encodes one row (an error names the row and the column); returns a chunk once enough
    /// bytes have gathered.
    pub(crate) fn push(&mut self, row: &[Value]) -> Result<Option<Bytes>> {
        self.rows += 1;
        encode_row(row, self.names, self.types, &mut self.buf).map_err(|e| {
            StoreError::new(e.kind(), format!("row {}: {}", self.rows, e.message()))
        })?;
        Ok((self.buf.len() >= CHUNK).then(|| self.buf.split().freeze()))
    }

    /// The last chunk, with the trailer.
    pub(crate) fn finish(mut self) -> Bytes {
        self.buf.put_i16(-1);
        self.buf.split().freeze()
    }
}

/// Sends `rows` into `target` (quoted) with binary `COPY … FROM STDIN` on `client`: each row's
/// values fill the columns `names` of `types`, in order. Returns how many rows were written;
/// an error drops the sink unfinished, which aborts the `COPY`.
async fn copy_rows<S>(
    client: &tokio_postgres::Client,
    target: &str,
    names: &[String],
    types: &[Type],
    rows: S,
) -> Result<u64>
where
    S: Stream<Item = Result<Vec<Value>>> + Send,
{
    let pg = |e| map_pg(e, "copy_in");
    let sink = client
        .copy_in::<_, Bytes>(copy_statement(target, &column_list(names)).as_str())
        .await
        .map_err(pg)?;
    let mut sink = pin!(sink);
    let mut encoder = CopyEncoder::new(names, types);
    let mut rows = pin!(rows);
    while let Some(row) = rows.next().await {
        if let Some(chunk) = encoder.push(&row?)? {
            sink.send(chunk).await.map_err(pg)?;
        }
    }
    sink.send(encoder.finish()).await.map_err(pg)?;
    sink.as_mut().finish().await.map_err(pg)
}

/// Why [`send_rows`] failed: a row that does not encode, or the server's refusal.
pub(crate) enum SendError {
    /// A value did not fit its column (the error names the row and the column).
    Encode(StoreError),
    /// The driver's error as it is.
    Pg(tokio_postgres::Error),
}

impl SendError {
    /// The error as the store reports it, the driver's mapped for `operation`.
    pub(crate) fn into_store(self, operation: &'static str) -> StoreError {
        match self {
            Self::Encode(e) => e,
            Self::Pg(e) => map_pg(e, operation),
        }
    }
}

/// Sends `rows` with `copy` (a [`copy_statement`]) on `client`, each encoded as it is sent
/// (the values fill the columns `names` of `types`, in order): the server takes one chunk
/// while the next is encoded. Returns how many rows the server took; an error drops the
/// sink unfinished, which aborts the `COPY`.
pub(crate) async fn send_rows(
    client: &tokio_postgres::Client,
    copy: &str,
    rows: &[Vec<Value>],
    names: &[String],
    types: &[Type],
) -> std::result::Result<u64, SendError> {
    let sink = client.copy_in(copy).await.map_err(SendError::Pg)?;
    fill_copy(sink, rows, names, types).await
}

/// Starts a [`copy_statement`] into `list` of `target` (both quoted) on `client`, returning
/// the columns' types and the sink to [`fill_copy`]. The prepared `COPY` is cached through
/// `cache` (the same connection, or the transaction on it): PostgreSQL looks a `COPY`'s table
/// up afresh at every run. The types are not: they are read for every call, since the table
/// may have been altered since the last, before the `COPY` starts: a column of a type the
/// driver has not met on this connection (an enum, `citext`) makes it look the type up with
/// a query of its own, which would wait forever behind a `COPY` started beside it, and the
/// `COPY` for rows that wait for the types.
pub(crate) async fn start_copy(
    cache: &impl GenericClient,
    client: &tokio_postgres::Client,
    target: &str,
    list: &str,
) -> std::result::Result<(Vec<Type>, CopyInSink<Bytes>), tokio_postgres::Error> {
    let probe = format!("SELECT {list} FROM {target} LIMIT 0");
    let copy = copy_statement(target, list);
    let (copy, probe) = futures::try_join!(cache.prepare_cached(&copy), client.prepare(&probe))?;
    let sink = client.copy_in(&copy).await?;
    Ok((result_columns(&probe).1, sink))
}

/// Sends `rows` into a started `COPY … FROM STDIN (FORMAT binary)`, as [`send_rows`] does.
pub(crate) async fn fill_copy(
    sink: CopyInSink<Bytes>,
    rows: &[Vec<Value>],
    names: &[String],
    types: &[Type],
) -> std::result::Result<u64, SendError> {
    let mut sink = pin!(sink);
    let mut encoder = CopyEncoder::new(names, types);
    for row in rows {
        if let Some(chunk) = encoder.push(row).map_err(SendError::Encode)? {
            sink.send(chunk).await.map_err(SendError::Pg)?;
        }
    }
    sink.send(encoder.finish()).await.map_err(SendError::Pg)?;
    sink.as_mut().finish().await.map_err(SendError::Pg)
}

fn encode_row(row: &[Value], names: &[String], types: &[Type], buf: &mut BytesMut) -> Result<()> {
    if row.len() != types.len() {
        return Err(StoreError::invalid_input(format!(
            "has {} values for {} columns",
            row.len(),
            types.len()
        )));
    }
    // A table has at most 1,600 columns (`MaxHeapAttributeNumber`), so the count fits.
    buf.put_i16(types.len() as i16);
    for ((value, ty), name) in row.iter().zip(types).zip(names) {
        let at = buf.len();
        buf.put_i32(0);
        let written = codec::encode_binary(value, ty, buf)
            .map_err(|e| StoreError::new(e.kind(), format!("column `{name}`: {}", e.message())))?;
        let len = match written {
            IsNull::Yes => -1,
            IsNull::No => codec::field_len(buf.len() - at - 4).map_err(|e| {
                StoreError::new(e.kind(), format!("column `{name}`: {}", e.message()))
            })?,
        };
        buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

/// The names and types of a prepared statement's result columns.
pub(crate) fn result_columns(statement: &tokio_postgres::Statement) -> (Vec<String>, Vec<Type>) {
    statement
        .columns()
        .iter()
        .map(|c| (c.name().to_owned(), c.type_().clone()))
        .unzip()
}
