//! [`DynamoStore`]: a [`DocumentStore`] on one DynamoDB table.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, Get, KeysAndAttributes, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactGetItem, TransactWriteItem, Update as SdkUpdate,
};
use futures::StreamExt;
use store_core::document::validate::{
    check_condition, check_item, check_key, check_key_value, check_page_size, check_projection,
    check_query, check_update,
};
use store_core::document::{
    BatchWriteOptions, BatchWriteReport, DeleteItemOptions, DocumentCapabilities, DocumentStore,
    GetItemOptions, MAX_TRANSACTION_ACTIONS, PutItemOptions, Query, ReturnValues, Scan,
    TransactAction, Update, UpdateOptions, WriteOp,
};
use store_core::{
    Cursor, DocKey, Document, Health, HealthReport, KeySchema, Page, Result, RetryPolicy,
    StoreError, TableName,
};
use tracing::Instrument;

use crate::convert::{Item, from_item, key_item, to_item};
use crate::cursor;
use crate::error::{
    BACKEND, cancellation_reasons, condition_failed, map_sdk_error, map_sdk_error_on,
    transaction_cancelled,
};
use crate::expr::ExpressionBuilder;

/// The most keys one `BatchGetItem` call reads.
pub const MAX_BATCH_GET_KEYS: usize = 100;
/// The most writes one `BatchWriteItem` call holds (enforced here: some emulators take more).
pub const MAX_BATCH_WRITE_ITEMS: usize = 25;

/// A secondary index the store can query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// The index's key.
    pub schema: KeySchema,
    /// Global (`true`) or local (`false`); only local indexes allow consistent reads.
    pub global: bool,
}

pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) table: TableName,
    pub(crate) schema: KeySchema,
    pub(crate) indexes: BTreeMap<String, IndexInfo>,
    pub(crate) batch_retry: RetryPolicy,
}

/// A [`DocumentStore`] on one DynamoDB table, knowing its key schema and secondary indexes.
///
/// Cheap to clone (clones share the client). Build one with [`DynamoStore::builder`] (the
/// default AWS credential chain, or an endpoint, region, static credentials and retry
/// settings), [`DynamoStore::new`] from a client you configured, or
/// [`TableAdmin::open`](crate::TableAdmin::open), which reads the schema from `DescribeTable`.
///
/// Every expression goes through placeholders, every input is checked as DynamoDB checks it
/// before anything is sent, and every SDK error becomes a typed [`StoreError`].
///
/// ```no_run
/// # async fn demo() -> store_core::Result<()> {
/// use store_core::document::{attr, PutItemOptions};
/// use store_core::{Document, DocumentStore, KeySchema, KeyType};
/// use store_dynamo::DynamoStore;
///
/// let schema = KeySchema::partition("user", KeyType::String).with_sort("n", KeyType::Number);
/// let store = DynamoStore::builder("orders", schema)
///     .endpoint("http://127.0.0.1:5000")
///     .region("us-east-1")
///     .static_credentials("test", "test")
///     .build()
///     .await?;
/// let item = Document::new().with("user", "u1").with("n", 1).with("status", "open");
/// store.put(item, PutItemOptions::new().condition(attr("user").not_exists())).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DynamoStore {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.inner.table.as_str())
            .field("schema", &self.inner.schema)
            .field("indexes", &self.inner.indexes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn span(operation: &'static str, table: &str) -> tracing::Span {
    tracing::debug_span!(
        "store",
        backend = BACKEND,
        operation,
        table,
        key = tracing::field::Empty,
        items = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

/// Runs `fut` in a span for `operation`, recording its latency.
async fn traced<T>(
    operation: &'static str,
    table: &str,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    let span = span(operation, table);
    let start = Instant::now();
    let out = fut.instrument(span.clone()).await;
    span.record("latency_ms", start.elapsed().as_millis() as u64);
    if let Err(e) = &out {
        tracing::debug!(parent: &span, error = %e, "failed");
    }
    out.map_err(|e| e.in_context(BACKEND, operation))
}

fn page_limit(requested: Option<usize>) -> Result<Option<i32>> {
    check_page_size(requested)?;
    Ok(requested.map(|n| i32::try_from(n).unwrap_or(i32::MAX)))
}

fn build_error(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::internal("a DynamoDB request could not be built").with_source(e)
}

fn non_empty(item: Option<Item>) -> Option<Item> {
    item.filter(|i| !i.is_empty())
}

impl DynamoStore {
    /// A store on `table` through `client`, with the table's primary key. Add secondary
    /// indexes with [`with_index`](Self::with_index).
    pub fn new(client: Client, table: &str, schema: KeySchema) -> Result<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                table: TableName::new(table)?,
                schema,
                indexes: BTreeMap::new(),
                batch_retry: RetryPolicy::default(),
            }),
        })
    }

    /// Starts a builder for `table` with its primary key.
    pub fn builder(table: impl Into<String>, schema: KeySchema) -> crate::DynamoStoreBuilder {
        crate::DynamoStoreBuilder::new(table, schema)
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    fn inner_mut(&mut self) -> &mut Inner {
        if Arc::get_mut(&mut self.inner).is_none() {
            self.inner = Arc::new(Inner {
                client: self.inner.client.clone(),
                table: self.inner.table.clone(),
                schema: self.inner.schema.clone(),
                indexes: self.inner.indexes.clone(),
                batch_retry: self.inner.batch_retry.clone(),
            });
        }
        Arc::get_mut(&mut self.inner).expect("unique after clone")
    }

    /// Declares a global secondary index the table has (name and key).
    pub fn with_index(mut self, name: &str, schema: KeySchema) -> Self {
        self.inner_mut().indexes.insert(
            name.to_owned(),
            IndexInfo {
                schema,
                global: true,
            },
        );
        self
    }

    /// Declares a secondary index with its kind.
    pub fn with_index_info(mut self, name: &str, info: IndexInfo) -> Self {
        self.inner_mut().indexes.insert(name.to_owned(), info);
        self
    }

    /// Sets the backoff of batch retries (unprocessed items and keys, throttled batch calls).
    pub fn with_batch_retry(mut self, policy: RetryPolicy) -> Self {
        self.inner_mut().batch_retry = policy;
        self
    }

    /// The native client, for anything this library does not cover.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The secondary indexes the store knows.
    pub fn indexes(&self) -> &BTreeMap<String, IndexInfo> {
        &self.inner.indexes
    }

    pub(crate) fn table(&self) -> &str {
        self.inner.table.as_str()
    }

    pub(crate) fn schema(&self) -> &KeySchema {
        &self.inner.schema
    }

    /// Checks an item about to be stored and returns its key (as the memory backend does).
    pub(crate) fn check_new_item(&self, item: &Document) -> Result<DocKey> {
        let key = self.inner.schema.key_of(item)?;
        check_key(&self.inner.schema, &key)?;
        check_item(item, &key).map_err(|e| e.with_target(key.to_string()))?;
        for index in self.inner.indexes.values() {
            for attr in std::iter::once(&index.schema.partition).chain(&index.schema.sort) {
                if let Some(value) = item.get(&attr.name) {
                    check_key_value(attr, value).map_err(|e| e.with_target(key.to_string()))?;
                }
            }
        }
        Ok(key)
    }

    fn checked_key(&self, key: &DocKey) -> Result<()> {
        check_key(&self.inner.schema, key).map_err(|e| e.with_target(key.to_string()))
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

    async fn run_put(&self, item: Document, options: PutItemOptions) -> Result<Option<Document>> {
        let key = self.check_new_item(&item)?;
        let target = key.to_string();
        tracing::Span::current().record("key", target.as_str());
        if let Some(c) = &options.condition {
            check_condition(c).map_err(|e| e.with_target(target.clone()))?;
        }
        let mut b = ExpressionBuilder::new();
        let condition = options.condition.as_ref().map(|c| b.condition(c));
        let (names, values) = b.finish();
        let mut request = self
            .inner
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(to_item(&item)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values);
        if options.return_old {
            request = request
                .return_values(ReturnValue::AllOld)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
        }
        match request.send().await {
            Ok(out) => match non_empty(out.attributes).filter(|_| options.return_old) {
                Some(old) => Ok(Some(from_item(&old)?)),
                None => Ok(None),
            },
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(e)) => {
                    Err(condition_failed(e.item(), &target, "put"))
                }
                _ => Err(map_sdk_error_on(err, "put", self.table(), &target)),
            },
        }
    }

    async fn run_get(&self, key: &DocKey, options: GetItemOptions) -> Result<Option<Document>> {
        self.checked_key(key)?;
        check_projection(options.projection.as_ref())?;
        let target = key.to_string();
        tracing::Span::current().record("key", target.as_str());
        let mut b = ExpressionBuilder::new();
        let projection = options.projection.as_ref().map(|p| b.projection(p));
        let (names, _) = b.finish();
        let out = self
            .inner
            .client
            .get_item()
            .table_name(self.table())
            .set_key(Some(key_item(self.schema(), key)))
            .consistent_read(options.consistent)
            .set_projection_expression(projection)
            .set_expression_attribute_names(names)
            .send()
            .await
            .map_err(|e| map_sdk_error_on(e, "get", self.table(), &target))?;
        out.item.map(|i| from_item(&i)).transpose()
    }

    async fn run_update(
        &self,
        key: &DocKey,
        update: &Update,
        options: UpdateOptions,
    ) -> Result<Option<Document>> {
        let target = key.to_string();
        tracing::Span::current().record("key", target.as_str());
        self.checked_key(key)?;
        check_update(update, self.schema()).map_err(|e| e.with_target(target.clone()))?;
        if let Some(c) = &options.condition {
            check_condition(c).map_err(|e| e.with_target(target.clone()))?;
        }
        let mut b = ExpressionBuilder::new();
        let expression = Some(b.update(update)).filter(|e| !e.is_empty());
        let condition = options.condition.as_ref().map(|c| b.condition(c));
        let (names, values) = b.finish();
        let returns = match options.returns {
            ReturnValues::None => ReturnValue::None,
            ReturnValues::AllOld => ReturnValue::AllOld,
            ReturnValues::AllNew => ReturnValue::AllNew,
        };
        let mut request = self
            .inner
            .client
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_item(self.schema(), key)))
            .set_update_expression(expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(returns);
        if options.returns == ReturnValues::AllOld {
            request = request.return_values_on_condition_check_failure(
                ReturnValuesOnConditionCheckFailure::AllOld,
            );
        }
        match request.send().await {
            Ok(out) => match (options.returns, non_empty(out.attributes)) {
                (ReturnValues::None, _) | (_, None) => Ok(None),
                (_, Some(item)) => Ok(Some(from_item(&item)?)),
            },
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(e)) => {
                    Err(condition_failed(e.item(), &target, "update"))
                }
                _ => Err(map_sdk_error_on(err, "update", self.table(), &target)),
            },
        }
    }

    async fn run_delete(
        &self,
        key: &DocKey,
        options: DeleteItemOptions,
    ) -> Result<Option<Document>> {
        let target = key.to_string();
        tracing::Span::current().record("key", target.as_str());
        self.checked_key(key)?;
        if let Some(c) = &options.condition {
            check_condition(c).map_err(|e| e.with_target(target.clone()))?;
        }
        let mut b = ExpressionBuilder::new();
        let condition = options.condition.as_ref().map(|c| b.condition(c));
        let (names, values) = b.finish();
        let mut request = self
            .inner
            .client
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key_item(self.schema(), key)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values);
        if options.return_old {
            request = request
                .return_values(ReturnValue::AllOld)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
        }
        match request.send().await {
            Ok(out) => match non_empty(out.attributes).filter(|_| options.return_old) {
                Some(old) => Ok(Some(from_item(&old)?)),
                None => Ok(None),
            },
            Err(err) => match err.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(e)) => {
                    Err(condition_failed(e.item(), &target, "delete"))
                }
                _ => Err(map_sdk_error_on(err, "delete", self.table(), &target)),
            },
        }
    }

    async fn run_query(&self, query: &Query, cursor: Option<Cursor>) -> Result<Page<Document>> {
        let schema = match &query.index {
            None => self.schema(),
            Some(name) => {
                let info = self.inner.indexes.get(name).ok_or_else(|| {
                    StoreError::invalid_input(format!("the table has no index named `{name}`"))
                })?;
                if info.global && query.consistent {
                    return Err(StoreError::invalid_input(
                        "strongly consistent reads are not supported on a global secondary index",
                    ));
                }
                &info.schema
            }
        };
        let partition = check_query(query, schema)?;
        let limit = page_limit(query.page_size)?;
        let start = cursor
            .map(|c| cursor::decode(&c, self.table(), "query", query.index.as_deref()))
            .transpose()?;

        let mut b = ExpressionBuilder::new();
        let key_condition = b.key_condition(schema, partition, query.sort.as_ref());
        let filter = query.filter.as_ref().map(|f| b.condition(f));
        let projection = query.projection.as_ref().map(|p| b.projection(p));
        let (names, values) = b.finish();
        let out = self
            .inner
            .client
            .query()
            .table_name(self.table())
            .set_index_name(query.index.clone())
            .key_condition_expression(key_condition)
            .set_filter_expression(filter)
            .set_projection_expression(projection)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .set_limit(limit)
            .scan_index_forward(!query.reverse)
            .consistent_read(query.consistent)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| map_sdk_error(e, "query", self.table()))?;
        let items = out
            .items
            .unwrap_or_default()
            .iter()
            .map(from_item)
            .collect::<Result<Vec<_>>>()?;
        tracing::Span::current().record("items", items.len());
        let next = non_empty(out.last_evaluated_key)
            .map(|k| cursor::encode(self.table(), "query", query.index.as_deref(), &k))
            .transpose()?;
        Ok(Page::new(items, next))
    }

    async fn run_scan(&self, scan: &Scan, cursor: Option<Cursor>) -> Result<Page<Document>> {
        if let Some(segment) = scan.segment
            && segment.index >= segment.total
        {
            return Err(StoreError::invalid_input(format!(
                "scan segment {} of {} does not exist: segments are numbered from 0 to total - 1, \
                 and total must be at least 1",
                segment.index, segment.total
            )));
        }
        let (segment, total) = match scan.segment {
            Some(s) => {
                let total = i32::try_from(s.total)
                    .ok()
                    .filter(|t| *t <= 1_000_000)
                    .ok_or_else(|| {
                        StoreError::invalid_input("a scan has at most 1,000,000 segments")
                    })?;
                (Some(s.index as i32), Some(total))
            }
            None => (None, None),
        };
        if let Some(filter) = &scan.filter {
            check_condition(filter)?;
        }
        check_projection(scan.projection.as_ref())?;
        let limit = page_limit(scan.page_size)?;
        let start = cursor
            .map(|c| cursor::decode(&c, self.table(), "scan", None))
            .transpose()?;
        let mut b = ExpressionBuilder::new();
        let filter = scan.filter.as_ref().map(|f| b.condition(f));
        let projection = scan.projection.as_ref().map(|p| b.projection(p));
        let (names, values) = b.finish();
        let out = self
            .inner
            .client
            .scan()
            .table_name(self.table())
            .set_filter_expression(filter)
            .set_projection_expression(projection)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .set_limit(limit)
            .consistent_read(scan.consistent)
            .set_segment(segment)
            .set_total_segments(total)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| map_sdk_error(e, "scan", self.table()))?;
        let items = out
            .items
            .unwrap_or_default()
            .iter()
            .map(from_item)
            .collect::<Result<Vec<_>>>()?;
        tracing::Span::current().record("items", items.len());
        let next = non_empty(out.last_evaluated_key)
            .map(|k| cursor::encode(self.table(), "scan", None, &k))
            .transpose()?;
        Ok(Page::new(items, next))
    }

    async fn run_batch_get(
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
        let started = Instant::now();
        let mut attempt = 0u32;
        let policy = self.inner.batch_retry.clone();
        loop {
            attempt += 1;
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
                .send()
                .await;
            let error = match result {
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
            match policy.next_delay(attempt, started.elapsed(), &error) {
                Some(delay) => tokio::time::sleep(delay).await,
                None => {
                    return Err(StoreError::throttled(format!(
                        "{} of {} keys were still unread after {attempt} attempts: {}",
                        pending.len(),
                        distinct.len(),
                        error.message()
                    ))
                    .with_target(self.table().to_owned()));
                }
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
        tracing::Span::current().record("items", found.len());
        Ok(found)
    }

    fn transact_item(&self, action: &TransactAction) -> Result<TransactWriteItem> {
        let mut b = ExpressionBuilder::new();
        let condition = match action {
            TransactAction::Put { condition, .. }
            | TransactAction::Update { condition, .. }
            | TransactAction::Delete { condition, .. } => {
                condition.as_ref().map(|c| b.condition(c))
            }
            TransactAction::ConditionCheck { condition, .. } => Some(b.condition(condition)),
        };
        let item = match action {
            TransactAction::Put { item, .. } => {
                let (names, values) = b.finish();
                TransactWriteItem::builder().put(
                    Put::builder()
                        .table_name(self.table())
                        .set_item(Some(to_item(item)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build_error)?,
                )
            }
            TransactAction::Update { key, update, .. } => {
                if update.is_empty() {
                    return Err(StoreError::invalid_input(
                        "an update in a transaction needs at least one action",
                    )
                    .with_target(key.to_string()));
                }
                let expression = Some(b.update(update));
                let (names, values) = b.finish();
                TransactWriteItem::builder().update(
                    SdkUpdate::builder()
                        .table_name(self.table())
                        .set_key(Some(key_item(self.schema(), key)))
                        .set_update_expression(expression)
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build_error)?,
                )
            }
            TransactAction::Delete { key, .. } => {
                let (names, values) = b.finish();
                TransactWriteItem::builder().delete(
                    Delete::builder()
                        .table_name(self.table())
                        .set_key(Some(key_item(self.schema(), key)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build_error)?,
                )
            }
            TransactAction::ConditionCheck { key, .. } => {
                let (names, values) = b.finish();
                TransactWriteItem::builder().condition_check(
                    ConditionCheck::builder()
                        .table_name(self.table())
                        .set_key(Some(key_item(self.schema(), key)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build_error)?,
                )
            }
        };
        Ok(item.build())
    }

    async fn run_transact_write(&self, actions: Vec<TransactAction>) -> Result<()> {
        store_core::document::validate::check_transaction(&actions, self.schema(), |item| {
            self.check_new_item(item)
        })?;
        if actions.is_empty() {
            return Ok(());
        }
        let items = actions
            .iter()
            .map(|a| self.transact_item(a))
            .collect::<Result<Vec<_>>>()?;
        tracing::Span::current().record("items", items.len());
        match self
            .inner
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                    let mut reasons = cancellation_reasons(e.cancellation_reasons());
                    if reasons.len() != actions.len() {
                        reasons = fill_reasons(reasons, actions.len());
                    }
                    Err(transaction_cancelled(reasons)
                        .with_target(self.table().to_owned())
                        .with_source(err))
                }
                _ => Err(map_sdk_error(err, "transact_write", self.table())),
            },
        }
    }

    async fn run_transact_get(&self, keys: &[DocKey]) -> Result<Vec<Option<Document>>> {
        if keys.len() > MAX_TRANSACTION_ACTIONS {
            return Err(StoreError::invalid_input(format!(
                "a transaction reads at most {MAX_TRANSACTION_ACTIONS} items, got {}",
                keys.len()
            )));
        }
        for key in keys {
            self.checked_key(key)?;
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let items = keys
            .iter()
            .map(|key| {
                Get::builder()
                    .table_name(self.table())
                    .set_key(Some(key_item(self.schema(), key)))
                    .build()
                    .map(|get| TransactGetItem::builder().get(get).build())
                    .map_err(build_error)
            })
            .collect::<Result<Vec<_>>>()?;
        let out = self
            .inner
            .client
            .transact_get_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| map_sdk_error(e, "transact_get", self.table()))?;
        let responses = out.responses.unwrap_or_default();
        if responses.len() != keys.len() {
            return Err(StoreError::internal(format!(
                "DynamoDB answered {} of {} transactional reads",
                responses.len(),
                keys.len()
            )));
        }
        responses
            .into_iter()
            .map(|r| non_empty(r.item).map(|i| from_item(&i)).transpose())
            .collect()
    }
}

/// Pads (or trims) the server's reasons to one per action, as the trait promises.
fn fill_reasons(
    mut reasons: Vec<store_core::document::CancellationReason>,
    n: usize,
) -> Vec<store_core::document::CancellationReason> {
    reasons.truncate(n);
    while reasons.len() < n {
        reasons.push(store_core::document::CancellationReason {
            index: reasons.len(),
            code: "None".to_owned(),
            message: None,
        });
    }
    reasons
}

#[async_trait]
impl Health for DynamoStore {
    async fn health(&self) -> Result<HealthReport> {
        traced("health", self.table(), async {
            let start = Instant::now();
            let out = self
                .inner
                .client
                .describe_table()
                .table_name(self.table())
                .send()
                .await
                .map_err(|e| map_sdk_error(e, "health", self.table()))?;
            let status = out
                .table()
                .and_then(|t| t.table_status())
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|| "unknown".to_owned());
            Ok(HealthReport {
                backend: BACKEND,
                latency: start.elapsed(),
                detail: Some(format!("table `{}` is {status}", self.table())),
            })
        })
        .await
    }
}

#[async_trait]
impl DocumentStore for DynamoStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn table_name(&self) -> &str {
        self.table()
    }

    fn key_schema(&self) -> &KeySchema {
        self.schema()
    }

    fn capabilities(&self) -> DocumentCapabilities {
        DocumentCapabilities::new(true, true, true)
    }

    async fn put(&self, item: Document, options: PutItemOptions) -> Result<Option<Document>> {
        traced("put", self.table(), self.run_put(item, options)).await
    }

    async fn get(&self, key: &DocKey, options: GetItemOptions) -> Result<Option<Document>> {
        traced("get", self.table(), self.run_get(key, options))
            .await
            .map_err(|e| e.with_target(key.to_string()))
    }

    async fn update(
        &self,
        key: &DocKey,
        update: &Update,
        options: UpdateOptions,
    ) -> Result<Option<Document>> {
        traced(
            "update",
            self.table(),
            self.run_update(key, update, options),
        )
        .await
    }

    async fn delete(&self, key: &DocKey, options: DeleteItemOptions) -> Result<Option<Document>> {
        traced("delete", self.table(), self.run_delete(key, options)).await
    }

    async fn query_page(&self, query: &Query, cursor: Option<Cursor>) -> Result<Page<Document>> {
        traced("query", self.table(), self.run_query(query, cursor))
            .await
            .map_err(|e| e.with_target(self.table().to_owned()))
    }

    async fn scan_page(&self, scan: &Scan, cursor: Option<Cursor>) -> Result<Page<Document>> {
        traced("scan", self.table(), self.run_scan(scan, cursor))
            .await
            .map_err(|e| e.with_target(self.table().to_owned()))
    }

    async fn batch_get(&self, keys: &[DocKey], options: GetItemOptions) -> Result<Vec<Document>> {
        traced("batch_get", self.table(), self.run_batch_get(keys, options)).await
    }

    async fn batch_write(
        &self,
        ops: Vec<WriteOp>,
        options: BatchWriteOptions,
    ) -> Result<BatchWriteReport> {
        traced(
            "batch_write",
            self.table(),
            self.run_batch_write(ops, options),
        )
        .await
    }

    async fn transact_write(&self, actions: Vec<TransactAction>) -> Result<()> {
        traced(
            "transact_write",
            self.table(),
            self.run_transact_write(actions),
        )
        .await
    }

    async fn transact_get(&self, keys: &[DocKey]) -> Result<Vec<Option<Document>>> {
        traced("transact_get", self.table(), self.run_transact_get(keys)).await
    }
}
