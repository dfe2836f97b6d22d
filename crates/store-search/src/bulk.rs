//! The bulk helper: a stream of operations in, chunked `_bulk` requests with bounded
//! concurrency, retry of throttled items only, and a report of every failed item.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::stream::{Stream, StreamExt};
use opensearch::http::Method;
use store_core::search::{BulkFailure, BulkOp, BulkReport, SearchIndex};
use store_core::{Document, ErrorKind, Result, RetryPolicy, StoreError, Value};
use tracing::Instrument;

use crate::OpenSearchIndex;
use crate::error::{BACKEND, ConflictMeaning, response_error};
use crate::http::{Body, send};
use crate::index::MAX_ID_BYTES;
use crate::json::{write_document, write_str};

/// How the bulk helper chunks, parallelises and retries.
///
/// ```
/// use store_search::BulkOptions;
/// let options = BulkOptions::default().max_docs(500).concurrency(8);
/// assert_eq!(options.max_bytes_value(), 5 * 1024 * 1024);
/// ```
#[derive(Debug, Clone)]
pub struct BulkOptions {
    max_docs: usize,
    max_bytes: usize,
    concurrency: usize,
    retry: RetryPolicy,
    refresh: bool,
}

impl Default for BulkOptions {
    /// 1,000 operations or 5 MiB per request, 4 requests in flight, the default retry policy
    /// for items answered 429 or 503, no refresh.
    fn default() -> Self {
        Self {
            max_docs: 1_000,
            max_bytes: 5 * 1024 * 1024,
            concurrency: 4,
            retry: RetryPolicy::default()
                .max_attempts(10)
                .max_elapsed(Some(Duration::from_secs(120))),
            refresh: false,
        }
    }
}

impl BulkOptions {
    /// Operations per request (at least 1).
    pub fn max_docs(mut self, n: usize) -> Self {
        self.max_docs = n.max(1);
        self
    }

    /// Request body size limit in bytes; an operation larger than this goes alone.
    pub fn max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = n.max(1);
        self
    }

    /// Requests in flight at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The retry policy for items answered 429 or 503 (nothing else is retried).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Refresh the index once every operation is applied.
    pub fn refresh(mut self, on: bool) -> Self {
        self.refresh = on;
        self
    }

    /// The operation count limit per request.
    pub fn max_docs_value(&self) -> usize {
        self.max_docs
    }

    /// The byte limit per request.
    pub fn max_bytes_value(&self) -> usize {
        self.max_bytes
    }
}

/// One operation of a chunk: where it came from and where its lines sit in the body.
struct Item {
    position: usize,
    id: String,
    start: usize,
    end: usize,
}

#[derive(Default)]
struct Chunk {
    body: Vec<u8>,
    items: Vec<Item>,
    rejected: Vec<BulkFailure>,
}

impl Chunk {
    fn len(&self) -> usize {
        self.items.len() + self.rejected.len()
    }

    fn push(&mut self, position: usize, id: String, lines: &[u8]) {
        let start = self.body.len();
        self.body.extend_from_slice(lines);
        self.items.push(Item {
            position,
            id,
            start,
            end: self.body.len(),
        });
    }
}

fn action(out: &mut Vec<u8>, name: &str, id: &str) {
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":{\"_id\":");
    write_str(out, id);
    out.extend_from_slice(b"}}\n");
}

fn encode(op: &BulkOp, out: &mut Vec<u8>) {
    match op {
        BulkOp::Index { id, doc } | BulkOp::Create { id, doc } => {
            let name = if matches!(op, BulkOp::Index { .. }) {
                "index"
            } else {
                "create"
            };
            action(out, name, id);
            write_document(out, doc);
            out.push(b'\n');
        }
        BulkOp::Update { id, partial } => {
            action(out, "update", id);
            out.extend_from_slice(b"{\"doc\":");
            write_document(out, partial);
            out.extend_from_slice(b"}\n");
        }
        BulkOp::Delete { id } => action(out, "delete", id),
    }
}

fn failure(position: usize, id: String, status: u16, error: StoreError) -> BulkFailure {
    BulkFailure {
        position,
        id,
        status,
        error,
    }
}

fn copy_error(e: &StoreError, target: &str) -> StoreError {
    let mut copy = StoreError::new(e.kind(), e.message().to_owned())
        .with_backend(BACKEND)
        .with_operation("bulk")
        .with_target(target.to_owned());
    if let Some(d) = e.retry_after() {
        copy = copy.with_retry_after(d);
    }
    copy
}

fn retryable_status(status: u16) -> bool {
    status == 429 || status == 503
}

impl OpenSearchIndex {
    /// Applies a stream of operations, however long, in `_bulk` requests.
    ///
    /// Operations are chunked by count and by bytes, up to `concurrency` requests are in
    /// flight, and memory stays bounded by about `concurrency + 1` chunks (plus the report).
    /// Items answered 429 or 503 (or whose whole request was) are retried alone, with the
    /// backoff of the options' [`RetryPolicy`]; nothing else is retried. The report counts the
    /// successes and lists every failed item with its position in the stream, id, status
    /// (0 when no response came back) and error, sorted by position.
    ///
    /// ```no_run
    /// # async fn demo(index: store_search::OpenSearchIndex) -> store_core::Result<()> {
    /// use store_core::search::BulkOp;
    /// use store_core::Document;
    /// let ops = futures::stream::iter((0..100_000).map(|n| BulkOp::Index {
    ///     id: n.to_string(),
    ///     doc: Document::new().with("n", n),
    /// }));
    /// let report = index.bulk_stream(ops, &store_search::BulkOptions::default()).await?;
    /// assert!(report.is_complete(), "{:?}", report.failed);
    /// # Ok(()) }
    /// ```
    pub async fn bulk_stream<S>(&self, ops: S, options: &BulkOptions) -> Result<BulkReport>
    where
        S: Stream<Item = BulkOp> + Send,
    {
        let span = tracing::info_span!(
            "store",
            backend = BACKEND,
            operation = "bulk",
            index = self.name().as_str(),
            items = tracing::field::Empty,
            failed = tracing::field::Empty,
        );
        async {
            let max_docs = options.max_docs;
            let max_bytes = options.max_bytes;
            let ops = Box::pin(ops);
            let chunks = futures::stream::unfold(
                (ops, 0usize, None::<(usize, String, Vec<u8>)>, false),
                move |(mut ops, mut position, mut carry, mut done)| async move {
                    let mut chunk = Chunk::default();
                    if let Some((pos, id, lines)) = carry.take() {
                        chunk.push(pos, id, &lines);
                    }
                    while !done {
                        let Some(op) = ops.next().await else {
                            done = true;
                            break;
                        };
                        let pos = position;
                        position += 1;
                        let id = op.id().to_owned();
                        if id.is_empty() || id.len() > MAX_ID_BYTES {
                            let e = StoreError::invalid_input(format!(
                                "a document id must be 1 to {MAX_ID_BYTES} bytes"
                            ))
                            .with_backend(BACKEND)
                            .with_operation("bulk");
                            chunk.rejected.push(failure(pos, id, 400, e));
                        } else {
                            let mut lines = Vec::new();
                            encode(&op, &mut lines);
                            if !chunk.items.is_empty() && chunk.body.len() + lines.len() > max_bytes
                            {
                                carry = Some((pos, id, lines));
                                break;
                            }
                            chunk.push(pos, id, &lines);
                        }
                        if chunk.len() >= max_docs {
                            break;
                        }
                    }
                    if chunk.len() == 0 {
                        return None;
                    }
                    Some((chunk, (ops, position, carry, done)))
                },
            );
            let mut report = BulkReport::default();
            let results = chunks
                .map(|chunk| self.send_chunk(chunk, options))
                .buffer_unordered(options.concurrency);
            let mut results = std::pin::pin!(results);
            let mut items = 0usize;
            while let Some((succeeded, failed)) = results.next().await {
                items += succeeded + failed.len();
                report.succeeded += succeeded;
                report.failed.extend(failed);
            }
            report.failed.sort_by_key(|f| f.position);
            tracing::Span::current().record("items", items);
            tracing::Span::current().record("failed", report.failed.len());
            if options.refresh {
                self.refresh().await?;
            }
            Ok(report)
        }
        .instrument(span)
        .await
    }

    async fn send_chunk(&self, chunk: Chunk, options: &BulkOptions) -> (usize, Vec<BulkFailure>) {
        let Chunk {
            body,
            items,
            rejected,
        } = chunk;
        let mut failed = rejected;
        let mut succeeded = 0usize;
        let target = self.name().as_str().to_owned();
        let path = self.path("/_bulk");
        let mut pending: Vec<usize> = (0..items.len()).collect();
        let body = Bytes::from(body);
        let mut request = body.clone();
        let started = Instant::now();
        let mut attempt = 1u32;
        while !pending.is_empty() {
            let mut retry: Vec<(usize, u16, StoreError)> = Vec::new();
            let reply = send(
                self.client(),
                Method::Post,
                &path,
                &[],
                Some(Body::NdJson(request.clone())),
                "bulk",
                &target,
            )
            .await;
            match reply {
                Err(e) => {
                    for &i in &pending {
                        let item = &items[i];
                        let t = format!("{target}/{}", item.id);
                        failed.push(failure(
                            item.position,
                            item.id.clone(),
                            0,
                            copy_error(&e, &t),
                        ));
                    }
                    pending.clear();
                }
                Ok(reply) if !reply.is_success() => {
                    let e = reply.error(ConflictMeaning::Auto, "bulk", &target);
                    for &i in &pending {
                        let item = &items[i];
                        let t = format!("{target}/{}", item.id);
                        if retryable_status(reply.status) {
                            retry.push((i, reply.status, copy_error(&e, &t)));
                        } else {
                            failed.push(failure(
                                item.position,
                                item.id.clone(),
                                reply.status,
                                copy_error(&e, &t),
                            ));
                        }
                    }
                }
                Ok(reply) => {
                    let results = reply
                        .get(&["items"])
                        .and_then(Value::as_list)
                        .unwrap_or(&[]);
                    for (k, &i) in pending.iter().enumerate() {
                        let item = &items[i];
                        let t = format!("{target}/{}", item.id);
                        let Some(result) = results
                            .get(k)
                            .and_then(Value::as_map)
                            .and_then(|m| m.iter().next())
                            .map(|(_, v)| v)
                        else {
                            failed.push(failure(
                                item.position,
                                item.id.clone(),
                                0,
                                StoreError::internal(
                                    "the bulk response has no result for this item",
                                )
                                .with_backend(BACKEND)
                                .with_operation("bulk")
                                .with_target(t),
                            ));
                            continue;
                        };
                        let status =
                            crate::http::lookup_u64(result, &["status"]).unwrap_or(0) as u16;
                        let error = crate::http::lookup(result, &["error"]);
                        match error {
                            None if status < 300 || status == 404 => succeeded += 1,
                            _ => {
                                let mut wrapped = Document::new();
                                wrapped.insert("error", error.cloned().unwrap_or(Value::Null));
                                let e = response_error(
                                    status,
                                    Some(&Value::Map(wrapped)),
                                    reply.retry_after,
                                    ConflictMeaning::Auto,
                                    "bulk",
                                    &t,
                                );
                                if retryable_status(status) {
                                    retry.push((i, status, e));
                                } else {
                                    failed.push(failure(item.position, item.id.clone(), status, e));
                                }
                            }
                        }
                    }
                }
            }
            pending.clear();
            if retry.is_empty() {
                break;
            }
            let hint = retry.iter().filter_map(|(_, _, e)| e.retry_after()).max();
            let mut probe = StoreError::new(ErrorKind::Throttled, "throttled");
            if let Some(h) = hint {
                probe = probe.with_retry_after(h);
            }
            match options.retry.next_delay(attempt, started.elapsed(), &probe) {
                Some(delay) => {
                    tracing::debug!(
                        items = retry.len(),
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "retrying throttled bulk items"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                    let mut next = Vec::new();
                    for (i, _, _) in retry {
                        let item = &items[i];
                        next.extend_from_slice(&body[item.start..item.end]);
                        pending.push(i);
                    }
                    request = Bytes::from(next);
                }
                None => {
                    for (i, status, e) in retry {
                        let item = &items[i];
                        failed.push(failure(item.position, item.id.clone(), status, e));
                    }
                }
            }
        }
        (succeeded, failed)
    }
}
