//! Batches. `batch_write`: 25 writes a call, unprocessed items retried with backoff until the
//! deadline, bounded concurrency, and a report of anything left unwritten. `batch_get`: 100
//! distinct keys a call, unprocessed keys retried with backoff.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};
use futures::StreamExt;
use store_core::document::validate::{check_batch, check_projection};
use store_core::document::{BatchWriteOptions, BatchWriteReport, GetItemOptions, WriteOp};
use store_core::{DocKey, Document, DocumentStore, Result, StoreError};
use tokio::time::Instant;

use crate::convert::{Item, from_item, key_item, to_item};

/// The SDK's retry turned off for one call: batch calls retry under the store's own
/// `batch_retry` policy (with what is left unprocessed), so the two loops never multiply.
fn one_attempt() -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::config::Builder::default()
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
}
use crate::error::{BACKEND, map_sdk_error};
use crate::expr::ExpressionBuilder;
use crate::store::{DynamoStore, MAX_BATCH_GET_KEYS, MAX_BATCH_WRITE_ITEMS, build_error};

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
        let batch = check_batch(ops, self.schema(), self.index_schemas());
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
        let mut backoff = self
            .inner
            .batch_retry
            .clone()
            .max_attempts(u32::MAX)
            .max_elapsed(Some(deadline))
            .start_at(started);
        loop {
            let attempt = backoff.failures() + 1;
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
                .customize()
                .config_override(one_attempt())
                .send()
                .await;
            // Why this attempt left writes behind, for the report if it was the last.
            let reason = match result {
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
            if !backoff.wait(reason.retry_after()).await {
                let err = StoreError::new(
                    reason.kind(),
                    format!(
                        "not written before the batch deadline of {deadline:?} \
                             ({attempt} attempts): {}",
                        reason.message()
                    ),
                )
                .with_target(self.table().to_owned())
                .in_context(BACKEND, "batch_write");
                return fail_all(total, pending, err);
            }
        }
    }

    /// Reads any number of keys: distinct keys are read 100 per call, `concurrency` calls at
    /// a time; missing keys are absent from the result.
    pub async fn batch_get_all(
        &self,
        keys: &[DocKey],
        options: GetItemOptions,
        concurrency: usize,
    ) -> Result<Vec<Document>> {
        let mut seen = HashSet::with_capacity(keys.len());
        let distinct: Vec<DocKey> = keys.iter().filter(|k| seen.insert(*k)).cloned().collect();
        let chunks: Vec<Vec<DocKey>> = distinct
            .chunks(MAX_BATCH_GET_KEYS)
            .map(<[DocKey]>::to_vec)
            .collect();
        let results: Vec<Result<Vec<Document>>> = futures::stream::iter(chunks)
            .map(|chunk| {
                let options = options.clone();
                async move { self.batch_get(&chunk, options).await }
            })
            .buffered(concurrency.max(1))
            .collect()
            .await;
        let mut out = Vec::with_capacity(distinct.len());
        for r in results {
            out.extend(r?);
        }
        Ok(out)
    }

    pub(crate) async fn run_batch_get(
        &self,
        keys: &[DocKey],
        options: GetItemOptions,
    ) -> Result<Vec<Document>> {
        let mut seen = HashSet::with_capacity(keys.len());
        let distinct: Vec<&DocKey> = keys.iter().filter(|k| seen.insert(*k)).collect();
        if distinct.len() > MAX_BATCH_GET_KEYS {
            return Err(StoreError::invalid_input(format!(
                "a batch get reads at most {MAX_BATCH_GET_KEYS} distinct keys, got {}",
                distinct.len()
            )));
        }
        for key in &distinct {
            self.checked_key(key)?;
        }
        check_projection(options.projection.as_ref())?;
        if distinct.is_empty() {
            return Ok(Vec::new());
        }
        let mut b = ExpressionBuilder::new();
        let projection = options.projection.as_ref().map(|p| b.projection(p));
        let (names, _) = b.finish();
        let mut pending: Vec<Item> = distinct
            .iter()
            .map(|k| key_item(self.schema(), k))
            .collect();
        let mut found: Vec<Document> = Vec::with_capacity(distinct.len());
        let mut backoff = self.inner.batch_retry.start();
        loop {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(options.consistent)
                .set_projection_expression(projection.clone())
                .set_expression_attribute_names(names.clone())
                .build()
                .map_err(build_error)?;
            let result = self
                .inner
                .client
                .batch_get_item()
                .request_items(self.table(), request.clone())
                .customize()
                .config_override(one_attempt())
                .send()
                .await;
            // Why keys are still unread after this attempt, for the report if it was the last.
            let reason = match result {
                Ok(out) => {
                    if let Some(mut responses) = out.responses
                        && let Some(items) = responses.remove(self.table())
                    {
                        for item in &items {
                            found.push(from_item(item)?);
                        }
                    }
                    pending = out
                        .unprocessed_keys
                        .and_then(|mut u| u.remove(self.table()))
                        .map(|k| k.keys)
                        .unwrap_or_default();
                    if pending.is_empty() {
                        break;
                    }
                    StoreError::throttled(format!(
                        "DynamoDB left {} keys unprocessed",
                        pending.len()
                    ))
                }
                Err(err) => {
                    let err = map_sdk_error(err, "batch_get", self.table());
                    if !err.is_retryable() {
                        return Err(err);
                    }
                    pending = request.keys;
                    err
                }
            };
            if !backoff.wait(reason.retry_after()).await {
                return Err(StoreError::throttled(format!(
                    "{} of {} keys were still unread after {} attempts: {}",
                    pending.len(),
                    distinct.len(),
                    backoff.failures(),
                    reason.message()
                ))
                .with_target(self.table().to_owned()));
            }
        }
        // Results in the order the keys were given (when the keys were read).
        let position: HashMap<&DocKey, usize> =
            distinct.iter().enumerate().map(|(i, k)| (*k, i)).collect();
        let schema = self.schema();
        found.sort_by_cached_key(|doc| {
            schema
                .key_of(doc)
                .ok()
                .and_then(|k| position.get(&k).copied())
                .unwrap_or(usize::MAX)
        });
        Ok(found)
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
