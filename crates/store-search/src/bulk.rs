//! The bulk helper: a stream of operations in, chunked `_bulk` requests with bounded
//! concurrency, retry of throttled items only, and a report of every failed item.
//! [`OpenSearchIndex::bulk_stream`](crate::OpenSearchIndex::bulk_stream) runs it.

use std::time::Duration;

use bytes::Bytes;
use futures::stream::{Stream, StreamExt};
use opensearch::OpenSearch;
use opensearch::http::Method;
use store_core::search::{BulkFailure, BulkOp, BulkReport, validate_id};
use store_core::{Document, IndexName, RetryPolicy, StoreError, Value};

use crate::error::{BACKEND, ConflictMeaning, response_error};
use crate::http::{Body, segment, send};
use crate::json::{lookup, lookup_u64, write_document, write_str};

/// How the bulk helper chunks, parallelises and retries.
///
/// ```
/// use store_search::BulkOptions;
/// let options = BulkOptions::default().with_max_docs(500).with_concurrency(8);
/// assert_eq!(options.max_docs(), 500);
/// assert_eq!(options.max_bytes(), 5 * 1024 * 1024);
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
    /// Sets the operations per request (at least 1).
    pub fn with_max_docs(mut self, n: usize) -> Self {
        self.max_docs = n.max(1);
        self
    }

    /// Sets the request body size limit in bytes; an operation larger than this goes alone.
    pub fn with_max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = n.max(1);
        self
    }

    /// Sets the requests in flight at once (at least 1).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Sets the retry policy for items answered 429 or 503 (nothing else is retried).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Refresh the index once every operation is applied.
    pub fn with_refresh(mut self, on: bool) -> Self {
        self.refresh = on;
        self
    }

    /// The operation count limit per request.
    pub fn max_docs(&self) -> usize {
        self.max_docs
    }

    /// The byte limit per request.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The requests in flight at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// The retry policy for items answered 429 or 503.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Whether the index is refreshed once every operation is applied.
    pub fn refresh(&self) -> bool {
        self.refresh
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

/// Applies a stream of operations to `index` in `_bulk` requests (see
/// [`OpenSearchIndex::bulk_stream`](crate::OpenSearchIndex::bulk_stream)); the report lists
/// every failed item, sorted by position.
pub(crate) async fn run<S>(
    client: &OpenSearch,
    index: &IndexName,
    ops: S,
    options: &BulkOptions,
) -> BulkReport
where
    S: Stream<Item = BulkOp> + Send,
{
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
                if let Err(e) = validate_id(&id) {
                    chunk
                        .rejected
                        .push(failure(pos, id, 400, e.in_context(BACKEND, "bulk")));
                } else {
                    let mut lines = Vec::new();
                    encode(&op, &mut lines);
                    if !chunk.items.is_empty() && chunk.body.len() + lines.len() > max_bytes {
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
        .map(|chunk| send_chunk(client, index, chunk, options))
        .buffer_unordered(options.concurrency);
    let mut results = std::pin::pin!(results);
    while let Some((succeeded, failed)) = results.next().await {
        report.succeeded += succeeded;
        report.failed.extend(failed);
    }
    report.failed.sort_by_key(|f| f.position);
    report
}

/// Sends one chunk, then again only its items answered 429 or 503, on the options' backoff.
async fn send_chunk(
    client: &OpenSearch,
    index: &IndexName,
    chunk: Chunk,
    options: &BulkOptions,
) -> (usize, Vec<BulkFailure>) {
    let Chunk {
        body,
        items,
        rejected,
    } = chunk;
    let mut failed = rejected;
    let mut succeeded = 0usize;
    let target = index.as_str().to_owned();
    let path = format!("/{}/_bulk", segment(index.as_str()));
    let mut pending: Vec<usize> = (0..items.len()).collect();
    let body = Bytes::from(body);
    let mut request = body.clone();
    let mut backoff = options.retry.start();
    while !pending.is_empty() {
        let mut retry: Vec<(usize, u16, StoreError)> = Vec::new();
        let reply = send(
            client,
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
                            StoreError::internal("the bulk response has no result for this item")
                                .with_backend(BACKEND)
                                .with_operation("bulk")
                                .with_target(t),
                        ));
                        continue;
                    };
                    let status = lookup_u64(result, &["status"]).unwrap_or(0) as u16;
                    let error = lookup(result, &["error"]);
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
        match backoff.next(hint) {
            Some(delay) => {
                tracing::debug!(
                    items = retry.len(),
                    attempt = backoff.failures(),
                    delay_ms = delay.as_millis() as u64,
                    "retrying throttled bulk items"
                );
                tokio::time::sleep(delay).await;
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
