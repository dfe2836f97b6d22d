//! [`DocumentStore`]: one table of keyed documents (DynamoDB and its stand-ins).

pub mod eval;
mod expr;
mod ext;
mod table;
mod types;
pub mod validate;

use std::fmt::Debug;
use std::future::Future;

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::error::Result;
use crate::health::Health;
use crate::keys::{DocKey, KeySchema};
use crate::page::{Cursor, Page, paginate};
use crate::value::Document;

pub use expr::*;
pub use ext::DocumentStoreExt;
pub use table::Table;
pub use types::*;

/// One table of documents with a partition key and an optional sort key.
///
/// Dyn-compatible; serde-typed conveniences live in [`DocumentStoreExt`].
///
/// Semantics every backend follows (the conformance suite checks them):
/// - every key is validated against [`key_schema`](Self::key_schema): a wrong type, a missing
///   or superfluous sort value is `InvalidInput` before anything is sent;
/// - a failed condition is `PreconditionFailed` and changes nothing;
/// - query results come in sort-key order (reversed on request); scans in no promised order;
/// - batch writes never drop an item silently: what could not be written is in the report.
#[async_trait]
pub trait DocumentStore: Health + Debug + Send + Sync {
    /// The backend's short name (`"dynamodb"`, `"memory"`).
    fn backend(&self) -> &'static str;

    /// The table's name.
    fn table_name(&self) -> &str;

    /// The table's primary key.
    fn key_schema(&self) -> &KeySchema;

    /// What this backend can do beyond the basics.
    fn capabilities(&self) -> DocumentCapabilities;

    /// Writes a whole item (replacing any item with the same key), optionally under a
    /// condition; returns the old item when asked.
    async fn put(&self, item: Document, options: PutItemOptions) -> Result<Option<Document>>;

    /// Reads an item by key.
    async fn get(&self, key: &DocKey, options: GetItemOptions) -> Result<Option<Document>>;

    /// [`get`](Self::get) as the store's own future instead of a boxed one, for a wrapper that
    /// holds the store by its type (a layered store): the wrapper's future then holds the
    /// read, and one allocation serves the whole call. The default is `get`'s boxed future; a
    /// store whose read is cheap next to an allocation (the in-memory one) overrides it.
    fn get_unboxed<'a>(
        &'a self,
        key: &'a DocKey,
        options: GetItemOptions,
    ) -> impl Future<Output = Result<Option<Document>>> + Send + 'a
    where
        Self: Sized,
    {
        self.get(key, options)
    }

    /// Applies an update (creating the item if it does not exist, as DynamoDB does), optionally
    /// under a condition; returns what [`UpdateOptions::returns`] asks for.
    async fn update(
        &self,
        key: &DocKey,
        update: &Update,
        options: UpdateOptions,
    ) -> Result<Option<Document>>;

    /// Deletes an item, optionally under a condition; returns the old item when asked.
    /// Deleting a missing item without a condition succeeds.
    async fn delete(&self, key: &DocKey, options: DeleteItemOptions) -> Result<Option<Document>>;

    /// One page of a query, resumable from `cursor`.
    async fn query_page(&self, query: &Query, cursor: Option<Cursor>) -> Result<Page<Document>>;

    /// One page of a scan (or of one segment of a parallel scan), resumable from `cursor`.
    async fn scan_page(&self, scan: &Scan, cursor: Option<Cursor>) -> Result<Page<Document>>;

    /// Reads many items by key; missing keys are simply absent from the result, and duplicate
    /// keys are read once.
    async fn batch_get(&self, keys: &[DocKey], options: GetItemOptions) -> Result<Vec<Document>>;

    /// Writes many puts and deletes, retrying what the backend leaves unprocessed until the
    /// options' deadline; anything still unwritten is in the report. Each key is written once
    /// per call: a later op on a key the batch already writes is reported as `InvalidInput`,
    /// as are invalid ops; the valid ones are written.
    async fn batch_write(
        &self,
        ops: Vec<WriteOp>,
        options: BatchWriteOptions,
    ) -> Result<BatchWriteReport>;

    /// Applies up to 100 actions atomically: all or none. A cancelled transaction is
    /// `Conflict` (or `PreconditionFailed` when only conditions failed) with one
    /// [`CancellationReason`] per action in [`StoreError::cancellation_reasons`](crate::StoreError::cancellation_reasons).
    async fn transact_write(&self, actions: Vec<TransactAction>) -> Result<()>;

    /// Reads up to 100 items in one consistent snapshot, in the order of `keys`.
    async fn transact_get(&self, keys: &[DocKey]) -> Result<Vec<Option<Document>>>;

    /// Every item matching a query, paging by itself (use `StreamExt::take` to stop early).
    fn query(&self, query: Query) -> BoxStream<'_, Result<Document>> {
        paginate(move |cursor| {
            let query = query.clone();
            async move { self.query_page(&query, cursor).await }
        })
    }

    /// Every item of a scan (or of one segment), paging by itself.
    fn scan(&self, scan: Scan) -> BoxStream<'_, Result<Document>> {
        paginate(move |cursor| {
            let scan = scan.clone();
            async move { self.scan_page(&scan, cursor).await }
        })
    }
}
