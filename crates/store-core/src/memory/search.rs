//! [`MemorySearchIndex`]: the in-memory reference [`SearchIndex`], mirroring OpenSearch.

mod execute;
mod matcher;
mod score;
mod state;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use async_trait::async_trait;

use self::state::IndexState;
use crate::error::{Result, StoreError};
use crate::health::{Health, HealthReport};
use crate::keys::IndexName;
use crate::search::engine::{BulkWriter, bulk_on_missing, validate_write};
use crate::search::{
    BulkOp, BulkReport, DocVersion, IndexOptions, IndexSpec, SearchCapabilities, SearchIndex,
    SearchQuery, SearchRequest, SearchResponse, StoredDoc, validate_id,
};
use crate::value::Document;

const BACKEND: &str = "memory";

type Shared = Arc<RwLock<IndexState>>;

/// A set of in-memory indices shared by every handle made from it, like one OpenSearch cluster.
///
/// Clones share the same indices.
#[derive(Clone, Default)]
pub struct MemorySearchCluster {
    indices: Arc<Mutex<HashMap<IndexName, Shared>>>,
}

impl MemorySearchCluster {
    /// An empty cluster.
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle on the index `name` of this cluster (which need not exist yet).
    pub fn index(&self, name: &str) -> Result<MemorySearchIndex> {
        MemorySearchIndex::in_cluster(self, name)
    }

    /// The names of the existing indices, sorted.
    pub fn index_names(&self) -> Vec<IndexName> {
        let mut names: Vec<_> = lock(&self.indices).keys().cloned().collect();
        names.sort();
        names
    }
}

impl fmt::Debug for MemorySearchCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySearchCluster")
            .field("indices", &self.index_names())
            .finish()
    }
}

/// An in-memory search index with OpenSearch's semantics, the reference every search backend is
/// held to.
///
/// Thread-safe and cheap to clone; clones (and handles of the same name in one
/// [`MemorySearchCluster`]) share the index.
///
/// # Semantics
///
/// **Lifecycle.** A handle names an index that does not exist until
/// [`create`](SearchIndex::create) or, as on OpenSearch with its default settings, until the
/// first `index`, `update` or `bulk` with a write other than a delete, which create it with
/// dynamic mapping (an update of a missing document still fails, after creating the index).
/// On a missing index `get`, `delete`, `refresh`, `search`, `count` and `drop_index` are
/// `NotFound` naming it, and so is each item of a bulk of deletes alone; a second create is
/// `AlreadyExists`. Input is checked before the index is looked up: an invalid id or request
/// is `InvalidInput` (and creates nothing) whether the index exists or not. Handles made with
/// [`MemorySearchIndex::in_cluster`] on one [`MemorySearchCluster`] see the same indices;
/// clones share everything.
///
/// **Analysis.** Text fields use a simplified standard analyzer: Unicode words (alphanumerics
/// and `_`, with `.`/`'`/`:` inside words and `.`/`,` inside numbers kept, as UAX #29 does),
/// lowercased. Keyword fields are exact.
///
/// **Mapping.** [`IndexSpec::fields`](crate::search::IndexSpec) types fields explicitly
/// (dotted paths such as `address.city` for nested maps). Unmapped fields are mapped from their
/// first value, as OpenSearch's dynamic mapping does: strings become `text` with an exact
/// `<field>.keyword` sub-field (strings over 256 characters are left out of it), unless they
/// read as a date (`yyyy-MM-dd[THH:mm[:ss[.S]]][zone]`), which become `date`; integers become
/// `long`, other numbers `double`, booleans `boolean`, and maps objects whose fields are
/// addressed by dotted paths. Lists index every element. Values are coerced like OpenSearch
/// (numeric strings into numbers, longs truncated, `"true"`/`"false"` into booleans, dates as
/// text or epoch milliseconds); a value that does not fit its field is `InvalidInput`, as is an
/// empty field name, a metadata name such as `_id`, or more than 1,000 mapped fields. Raw
/// mappings (`properties`, `type`, `fields` sub-fields, `ignore_above`, `dynamic`) are read;
/// types and analyzers the backend lacks are `Unsupported`. Raw settings are accepted and ignored.
///
/// **Writes.** Every change takes the next value of a per-index sequence number and returns
/// `DocVersion { seq_no, primary_term: 1 }`. A create-only write of an existing id is
/// `AlreadyExists`; a write whose `if_version` differs from the stored version (or whose
/// document is missing) is `PreconditionFailed`, and create-only with `if_version` is
/// `InvalidInput`. `update` merges the partial document (nested maps deeply, anything else
/// replaced) and is `NotFound` for a missing id; an update that changes nothing keeps the version
/// (OpenSearch's `noop`). `delete` returns whether the document existed. An empty id, or one over
/// 512 bytes, is `InvalidInput`.
///
/// **Visibility.** `get` is real time. `search` and `count` see the snapshot taken by the last
/// `refresh` (or by a write with `IndexOptions::refresh`), as on OpenSearch between refreshes.
///
/// **Queries.** `match` analyzes the text and scores with BM25 (k1 = 1.2, b = 0.75), any term or
/// all terms by operator; `match_phrase` needs the terms at consecutive positions (values of a
/// list are 100 positions apart). `term` is not analyzed: on a text field it matches one token
/// exactly (so `"Hello"` does not match the text "hello world"), on keyword fields the whole
/// value; both are BM25-scored. On numbers, dates and booleans `term`, `match` and `terms`
/// compare exact values with constant score 1. `range` compares numbers numerically, dates in
/// epoch milliseconds and strings (keywords, or tokens of text) lexicographically; `prefix`
/// applies to keywords or tokens and is `InvalidInput` on other types; `exists` is true when the
/// field, or any field under an object, indexed a value (`null` and `[]` do not count).
/// Range, prefix and exists score 1. `bool` sums the scores of `must` and matching `should`
/// clauses; `should` is required (at least one) only without `must` and `filter`; `filter` and
/// `must_not` never score; a bool of filters alone scores 0, an empty bool matches all with 1.
/// Queries on unmapped fields match nothing; a value that cannot be compared with its field is
/// `InvalidInput`.
///
/// **Sort and paging.** Without sort keys hits are ordered by score, descending, then id, and
/// their `sort` is empty. Sort keys may name keyword, number, date and boolean fields (the
/// smallest value of a list ascending, the largest descending) or the score; a text, object or
/// unmapped field is `InvalidInput`. Missing values sort last and appear as `Null` in a hit's
/// `sort`; dates appear as epoch milliseconds. Ties are broken by id. `search_after` keeps hits
/// strictly after the given values and needs a sort; `from + size` over 10,000 is `InvalidInput`
/// ([`SearchRequest::validate`]). `Hit::score` is set when sorting by score (by default or
/// explicitly) and `None` otherwise. `total` is exact.
///
/// **Bulk.** Operations apply in order, each on its own; failures are reported with their
/// position, id and status (400 invalid input, 404 update of a missing id, 409 create of an
/// existing id). Deleting a missing id is a success, as OpenSearch reports it `not_found`
/// without an error.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use store_core::memory::MemorySearchIndex;
/// use store_core::search::{IndexOptions, IndexSpec, SearchQuery, SearchRequest};
/// use store_core::{Document, SearchIndex};
///
/// let index = MemorySearchIndex::new("articles")?;
/// index.create(&IndexSpec::new()).await?;
/// let doc = Document::new().with("title", "Hello, WORLD!");
/// index.index("a1", doc, IndexOptions::new().refresh()).await?;
/// let found = index
///     .search(&SearchRequest::new(SearchQuery::matches("title", "world")))
///     .await?;
/// assert_eq!(found.hits[0].id, "a1");
/// # Ok::<_, store_core::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct MemorySearchIndex {
    name: IndexName,
    cluster: MemorySearchCluster,
}

impl MemorySearchIndex {
    /// A handle on the index `name` in a cluster of its own; the index exists once created.
    pub fn new(name: &str) -> Result<Self> {
        Self::in_cluster(&MemorySearchCluster::new(), name)
    }

    /// A handle on the index `name` in `cluster`, shared with every other handle of that name.
    pub fn in_cluster(cluster: &MemorySearchCluster, name: &str) -> Result<Self> {
        Ok(Self {
            name: IndexName::new(name)?,
            cluster: cluster.clone(),
        })
    }

    /// The cluster this index lives in.
    pub fn cluster(&self) -> &MemorySearchCluster {
        &self.cluster
    }

    fn shared(&self, operation: &'static str) -> Result<Shared> {
        lock(&self.cluster.indices)
            .get(&self.name)
            .cloned()
            .ok_or_else(|| self.missing(operation))
    }

    /// The index, created with dynamic mapping if it does not exist (OpenSearch's
    /// `action.auto_create_index`).
    fn shared_or_create(&self) -> Shared {
        lock(&self.cluster.indices)
            .entry(self.name.clone())
            .or_insert_with(|| Arc::new(RwLock::new(IndexState::dynamic())))
            .clone()
    }

    fn missing(&self, operation: &'static str) -> StoreError {
        StoreError::not_found(format!("no such index `{}`", self.name))
            .with_backend(BACKEND)
            .with_operation(operation)
            .with_target(self.name.as_str())
    }

    /// Runs `f` on the index state under the write lock; `NotFound` if the index is missing.
    fn write<T>(
        &self,
        operation: &'static str,
        target: &str,
        f: impl FnOnce(&mut IndexState) -> Result<T>,
    ) -> Result<T> {
        let shared = self.shared(operation)?;
        self.write_to(&shared, operation, target, f)
    }

    /// Runs `f` on the index state under the write lock, creating the index if it is missing.
    fn write_creating<T>(
        &self,
        operation: &'static str,
        target: &str,
        f: impl FnOnce(&mut IndexState) -> Result<T>,
    ) -> Result<T> {
        self.write_to(&self.shared_or_create(), operation, target, f)
    }

    fn write_to<T>(
        &self,
        shared: &Shared,
        operation: &'static str,
        target: &str,
        f: impl FnOnce(&mut IndexState) -> Result<T>,
    ) -> Result<T> {
        let mut state = shared.write().unwrap_or_else(PoisonError::into_inner);
        f(&mut state).map_err(|e| self.context(e, operation, target))
    }

    /// Checks an id before the index is looked up.
    fn check_id(&self, id: &str, operation: &'static str) -> Result<()> {
        validate_id(id).map_err(|e| self.context(e, operation, id))
    }

    fn context(&self, error: StoreError, operation: &'static str, target: &str) -> StoreError {
        let error = error.in_context(BACKEND, operation);
        match (error.target().is_some(), target.is_empty()) {
            (true, _) => error,
            (false, true) => error.with_target(self.name.as_str()),
            (false, false) => error.with_target(format!("{}/{target}", self.name)),
        }
    }
}

impl fmt::Debug for MemorySearchIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySearchIndex")
            .field("name", &self.name.as_str())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl Health for MemorySearchIndex {
    async fn health(&self) -> Result<HealthReport> {
        let started = Instant::now();
        let count = lock(&self.cluster.indices).len();
        Ok(HealthReport {
            backend: BACKEND,
            latency: started.elapsed(),
            detail: Some(format!("{count} indices in memory")),
        })
    }
}

#[async_trait]
impl SearchIndex for MemorySearchIndex {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn name(&self) -> &IndexName {
        &self.name
    }

    fn capabilities(&self) -> SearchCapabilities {
        // A refresh would make nothing more durable than memory is.
        SearchCapabilities::none()
            .point_in_time(true)
            .durable_writes(true)
            .typed_source(true)
    }

    async fn create(&self, spec: &IndexSpec) -> Result<()> {
        let state = IndexState::new(spec).map_err(|e| self.context(e, "create", ""))?;
        let mut indices = lock(&self.cluster.indices);
        if indices.contains_key(&self.name) {
            return Err(StoreError::already_exists(format!(
                "index `{}` already exists",
                self.name
            ))
            .with_backend(BACKEND)
            .with_operation("create")
            .with_target(self.name.as_str()));
        }
        indices.insert(self.name.clone(), Arc::new(RwLock::new(state)));
        Ok(())
    }

    async fn exists(&self) -> Result<bool> {
        Ok(lock(&self.cluster.indices).contains_key(&self.name))
    }

    async fn drop_index(&self) -> Result<()> {
        self.shared("drop_index")?;
        lock(&self.cluster.indices).remove(&self.name);
        Ok(())
    }

    async fn index(&self, id: &str, doc: Document, options: IndexOptions) -> Result<DocVersion> {
        validate_write(id, options).map_err(|e| self.context(e, "index", id))?;
        self.write_creating("index", id, |state| state.index(id, doc, options))
    }

    async fn get(&self, id: &str) -> Result<Option<StoredDoc>> {
        self.check_id(id, "get")?;
        let shared = self.shared("get")?;
        let state = shared.read().unwrap_or_else(PoisonError::into_inner);
        state.get(id).map_err(|e| self.context(e, "get", id))
    }

    async fn update(
        &self,
        id: &str,
        partial: Document,
        options: IndexOptions,
    ) -> Result<DocVersion> {
        self.check_id(id, "update")?;
        self.write_creating("update", id, |state| state.update(id, partial, options))
    }

    async fn delete(&self, id: &str, options: IndexOptions) -> Result<bool> {
        self.check_id(id, "delete")?;
        self.write("delete", id, |state| state.delete(id, options))
    }

    async fn bulk(&self, ops: Vec<BulkOp>) -> Result<BulkReport> {
        // As on OpenSearch, a bulk creates the missing index when it holds a write to send (an
        // operation with a valid id other than a delete).
        let creates = ops
            .iter()
            .any(|op| !matches!(op, BulkOp::Delete { .. }) && validate_id(op.id()).is_ok());
        let shared = if creates {
            self.shared_or_create()
        } else {
            match self.shared("bulk") {
                Ok(shared) => shared,
                Err(_) => return Ok(bulk_on_missing(ops, BACKEND, || self.missing("bulk"))),
            }
        };
        self.write_to(&shared, "bulk", "", |state| Ok(state.bulk(ops)))
    }

    async fn refresh(&self) -> Result<()> {
        self.write("refresh", "", |state| {
            state.refresh();
            Ok(())
        })
    }

    async fn search(&self, request: &SearchRequest) -> Result<SearchResponse> {
        request
            .validate()
            .map_err(|e| self.context(e, "search", ""))?;
        let (mapping, snapshot) = self.view("search")?;
        execute::search(&mapping, &snapshot, request).map_err(|e| self.context(e, "search", ""))
    }

    async fn count(&self, query: &SearchQuery) -> Result<u64> {
        let (mapping, snapshot) = self.view("count")?;
        execute::count(&mapping, &snapshot, query).map_err(|e| self.context(e, "count", ""))
    }
}

impl MemorySearchIndex {
    /// The mapping and searchable snapshot, taken under a short read lock.
    fn view(
        &self,
        operation: &'static str,
    ) -> Result<(Arc<crate::search::engine::Mapping>, Arc<state::Snapshot>)> {
        let shared = self.shared(operation)?;
        let state = shared.read().unwrap_or_else(PoisonError::into_inner);
        Ok(state.view())
    }
}

#[cfg(test)]
mod tests;
