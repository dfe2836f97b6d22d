//! [`SearchIndex`]: one full-text search index (OpenSearch and its stand-ins).

pub mod engine;
mod ext;
mod query;
mod types;

use std::fmt::Debug;

use async_trait::async_trait;

use crate::error::Result;
use crate::health::Health;
use crate::keys::IndexName;
use crate::value::Document;

pub use ext::SearchIndexExt;
pub use query::*;
pub use types::*;

/// One search index.
///
/// Dyn-compatible; typed conveniences and whole-result iteration live in [`SearchIndexExt`].
///
/// Semantics every backend follows (the conformance suite checks them):
/// - `get` sees a write at once; `search` and `count` see it after [`refresh`](Self::refresh);
/// - a create of an existing id is `AlreadyExists`; a write with a stale
///   [`DocVersion`] is `PreconditionFailed`;
/// - strings without a mapping are full text (analyzed) and also exact under `<field>.keyword`;
/// - input is checked first: an invalid id ([`validate_id`]) or request is `InvalidInput`
///   whether the index exists or not;
/// - a write (`index`, `update`, a `bulk` with anything but deletes) to a missing index creates
///   it with dynamic mapping, as OpenSearch does; other calls on a missing index are `NotFound`;
/// - bulk never loses an item silently: the report holds every failed item.
#[async_trait]
pub trait SearchIndex: Health + Debug + Send + Sync {
    /// The backend's short name (`"opensearch"`, `"memory"`).
    fn backend(&self) -> &'static str;

    /// The index (or alias) name.
    fn name(&self) -> &IndexName;

    /// What this backend can do beyond the basics.
    fn capabilities(&self) -> SearchCapabilities;

    /// Creates the index with mappings and settings; `AlreadyExists` if it exists.
    async fn create(&self, spec: &IndexSpec) -> Result<()>;

    /// Whether the index exists.
    async fn exists(&self) -> Result<bool>;

    /// Deletes the index and every document in it; `NotFound` if missing.
    async fn drop_index(&self) -> Result<()>;

    /// Indexes a document under `id`.
    async fn index(&self, id: &str, doc: Document, options: IndexOptions) -> Result<DocVersion>;

    /// Reads a document by id (real time, no refresh needed).
    async fn get(&self, id: &str) -> Result<Option<StoredDoc>>;

    /// Merges `partial` into the stored document; `NotFound` if it does not exist.
    async fn update(
        &self,
        id: &str,
        partial: Document,
        options: IndexOptions,
    ) -> Result<DocVersion>;

    /// Deletes a document; returns whether it existed.
    async fn delete(&self, id: &str, options: IndexOptions) -> Result<bool>;

    /// Applies many operations; the report has an outcome for every failed item.
    async fn bulk(&self, ops: Vec<BulkOp>) -> Result<BulkReport>;

    /// Makes every write so far visible to search.
    async fn refresh(&self) -> Result<()>;

    /// Runs a search.
    async fn search(&self, request: &SearchRequest) -> Result<SearchResponse>;

    /// Counts the documents matching a query.
    async fn count(&self, query: &SearchQuery) -> Result<u64>;
}
