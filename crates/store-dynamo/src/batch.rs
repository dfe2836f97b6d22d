//! `batch_write`: 25 writes a call, unprocessed items retried with backoff until the
//! deadline, bounded concurrency, and a report of anything left unwritten.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use futures::StreamExt;
use store_core::document::validate::check_batch;
use store_core::document::{BatchWriteOptions, BatchWriteReport, WriteOp};
use store_core::{DocKey, Result, StoreError};

use crate::convert::{from_item, key_item, to_item};
use crate::error::{BACKEND, map_sdk_error};
use crate::store::{DynamoStore, MAX_BATCH_WRITE_ITEMS};

/// One write with its key.
type Keyed = (DocKey, WriteOp);

impl DynamoStore {
    pub(crate) async fn run_batch_write(
        &self,
        ops: Vec<WriteOp>,
        options: BatchWriteOptions,
    ) -> Result<BatchWriteReport> {
        // One call may write a key once: later writes to a key already in the batch are
        // refused as `InvalidInput`, as the memory reference backend does.
        let batch = check_batch(ops, |op| match op {
            WriteOp::Put(item) => self.check_new_item(item),
            WriteOp::Delete(key) => store_core::document::validate::check_key(self.schema(), key)
                .map(|()| key.clone())
                .map_err(|e| e.with_target(key.to_string())),
        });
        let mut report = BatchWriteReport {
            written: 0,
            failed: batch
                .refused
                .into_iter()
                .map(|(op, e)| (op, e.in_context(BACKEND, "batch_write")))
                .collect(),
        };
        let keyed: Vec<Keyed> = batch.valid;
        let started = Instant::now();
        let chunks: Vec<Vec<Keyed>> = keyed
            .chunks(MAX_BATCH_WRITE_ITEMS)
            .map(<[Keyed]>::to_vec)
            .collect();
        let deadline = options.deadline;
        let mut results = futures::stream::iter(chunks)
            .map(|chunk| self.write_chunk(chunk, started, deadline))
            .buffer_unordered(options.concurrency.max(1));
        while let Some((written, failed)) = results.next().await {
            report.written += written;
            report.failed.extend(failed);
        }
        tracing::Span::current().record("items", report.written);
        if !report.failed.is_empty() {
            tracing::warn!(
                table = self.table(),
                unwritten = report.failed.len(),
                "batch_write left writes unwritten"
            );
        }
        Ok(report)
    }

    fn write_request(&self, op: &WriteOp) -> Result<WriteRequest> {
        let request = match op {
            WriteOp::Put(item) => WriteRequest::builder().put_request(
                PutRequest::builder()
                    .set_item(Some(to_item(item)))
                    .build()
                    .map_err(|e| StoreError::internal("bad put request").with_source(e))?,
            ),
            WriteOp::Delete(key) => WriteRequest::builder().delete_request(
                DeleteRequest::builder()
                    .set_key(Some(key_item(self.schema(), key)))
                    .build()
                    .map_err(|e| StoreError::internal("bad delete request").with_source(e))?,
            ),
        };
        Ok(request.build())
    }

    /// The key a write request names (to match unprocessed items with their writes).
    fn request_key(&self, request: &WriteRequest) -> Option<DocKey> {
        let item = match (request.put_request(), request.delete_request()) {
            (Some(put), _) => put.item(),
            (None, Some(delete)) => delete.key(),
            (None, None) => return None,
        };
        let doc = from_item(item).ok()?;
        self.schema().key_of(&doc).ok()
    }

    /// Writes one chunk of at most 25, retrying what is left unprocessed or throttled until
    /// the deadline; returns how many landed and what did not.
    async fn write_chunk(
        &self,
        mut pending: Vec<Keyed>,
        started: Instant,
        deadline: Duration,
    ) -> (usize, Vec<(WriteOp, StoreError)>) {
        let total = pending.len();
        let policy = self
            .inner
            .batch_retry
            .clone()
            .max_attempts(u32::MAX)
            .max_elapsed(Some(deadline));
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let requests: Result<Vec<WriteRequest>> = pending
                .iter()
                .map(|(_, op)| self.write_request(op))
                .collect();
            let requests = match requests {
                Ok(r) => r,
                Err(e) => return fail_all(total, pending, e),
            };
            let result = self
                .inner
                .client
                .batch_write_item()
                .request_items(self.table(), requests)
                .send()
                .await;
            let error = match result {
                Ok(out) => {
                    let unprocessed = out
                        .unprocessed_items
                        .and_then(|mut u| u.remove(self.table()))
                        .unwrap_or_default();
                    if unprocessed.is_empty() {
                        return (total, Vec::new());
                    }
                    let left: Vec<Option<DocKey>> =
                        unprocessed.iter().map(|r| self.request_key(r)).collect();
                    if left.iter().any(Option::is_none) {
                        // Cannot tell which writes they are: retry the whole chunk, which is
                        // idempotent (puts replace, deletes of missing items succeed).
                    } else {
                        pending.retain(|(k, _)| left.iter().flatten().any(|l| l == k));
                    }
                    tracing::debug!(
                        table = self.table(),
                        unprocessed = pending.len(),
                        attempt,
                        "retrying unprocessed items"
                    );
                    StoreError::throttled(format!(
                        "DynamoDB left {} writes unprocessed",
                        pending.len()
                    ))
                }
                Err(err) => {
                    let err = map_sdk_error(err, "batch_write", self.table());
                    if !err.is_retryable() {
                        return fail_all(total, pending, err);
                    }
                    tracing::debug!(table = self.table(), attempt, error = %err, "retrying batch");
                    err
                }
            };
            match policy.next_delay(attempt, started.elapsed(), &error) {
                Some(delay) => tokio::time::sleep(delay).await,
                None => {
                    let err = StoreError::new(
                        error.kind(),
                        format!(
                            "not written before the batch deadline of {deadline:?} \
                             ({attempt} attempts): {}",
                            error.message()
                        ),
                    )
                    .with_target(self.table().to_owned())
                    .in_context(BACKEND, "batch_write");
                    return fail_all(total, pending, err);
                }
            }
        }
    }
}

fn fail_all(
    total: usize,
    pending: Vec<Keyed>,
    err: StoreError,
) -> (usize, Vec<(WriteOp, StoreError)>) {
    let written = total - pending.len();
    let failed = pending
        .into_iter()
        .map(|(key, op)| {
            let e = StoreError::new(err.kind(), err.message().to_owned())
                .with_target(key.to_string())
                .in_context(BACKEND, "batch_write");
            (op, e)
        })
        .collect();
    (written, failed)
}
