//! Query streams: rows read on a reader (or, for statements that write, on the writer),
//! copied into flat chunks and sent through a bounded channel, so memory stays bounded
//! however many rows there are; the documents are built on the consumer's side. Dropping the
//! stream stops the producer at its next chunk.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};
use store_core::{Document, Result, StoreError, Value};
use tokio::sync::mpsc;

use crate::convert::Shape;
use crate::exec::{self, Msg};
use crate::flat::{FlatReader, FlatRows};
use crate::store::SqliteStore;
use crate::writer::WriterGuard;

/// Opens a query's stream: on a reader when the statement only reads, else on the writer.
pub(crate) async fn open(
    store: &SqliteStore,
    sql: Arc<str>,
    params: Arc<[Value]>,
) -> Result<BoxStream<'static, Result<Document>>> {
    if let Some(readers) = store.readers() {
        let mut lease = readers.lease("query").await?;
        let (tx, mut rx) = mpsc::channel(2);
        let (s, p) = (sql.clone(), params.clone());
        tokio::task::spawn_blocking(move || match lease.conn() {
            Ok(conn) => exec::produce(conn, &s, &p, true, &tx),
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
            }
        });
        match rx.recv().await {
            Some(Ok(Msg::Reroute)) => {}
            first => return Ok(RowStream::new(first, rx, None).into_stream()),
        }
    }
    let guard = store.writer("query").await?;
    let (tx, mut rx) = mpsc::channel(2);
    guard.spawn(move |conn| exec::produce(conn, &sql, &params, false, &tx))?;
    let first = rx.recv().await;
    Ok(RowStream::new(first, rx, Some(guard)).into_stream())
}

/// The rows of a query as its producer sends them, holding the writer when it runs there.
/// Documents are built here, on the consumer's side, while the producer reads on.
struct RowStream {
    shape: Option<Arc<Shape>>,
    buffered: VecDeque<Document>,
    rx: mpsc::Receiver<Result<Msg>>,
    failed: Option<StoreError>,
    _writer: Option<WriterGuard>,
}

impl RowStream {
    fn new(
        first: Option<Result<Msg>>,
        rx: mpsc::Receiver<Result<Msg>>,
        writer: Option<WriterGuard>,
    ) -> Self {
        let mut stream = Self {
            shape: None,
            buffered: VecDeque::new(),
            rx,
            failed: None,
            _writer: writer,
        };
        stream.take(first);
        stream
    }

    fn take(&mut self, msg: Option<Result<Msg>>) -> bool {
        match msg {
            Some(Ok(Msg::Shape(shape))) => self.shape = Some(shape),
            Some(Ok(Msg::Rows(rows))) => {
                if let Err(e) = self.decode(&rows) {
                    self.failed = Some(e);
                }
            }
            Some(Ok(Msg::Reroute)) => {
                self.failed = Some(StoreError::internal("a query was rerouted twice"));
            }
            Some(Err(e)) => self.failed = Some(e),
            None => return false,
        }
        true
    }

    fn decode(&mut self, rows: &FlatRows) -> Result<()> {
        let shape = self
            .shape
            .clone()
            .ok_or_else(|| StoreError::internal("rows arrived before their columns"))?;
        let mut reader = FlatReader::new(rows);
        for _ in 0..rows.rows() {
            reader.row_width()?;
            let doc = shape.document_from(|_| reader.value())?;
            self.buffered.push_back(doc);
        }
        Ok(())
    }

    fn into_stream(self) -> BoxStream<'static, Result<Document>> {
        stream::unfold(self, |mut s| async move {
            loop {
                if let Some(row) = s.buffered.pop_front() {
                    return Some((Ok(row), s));
                }
                if let Some(e) = s.failed.take() {
                    s.rx.close();
                    return Some((Err(e), s));
                }
                let next = s.rx.recv().await;
                if !s.take(next) {
                    return None;
                }
            }
        })
        .boxed()
    }
}
