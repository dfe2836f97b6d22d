//! [`OpenSearchIndex`]: the handle on one OpenSearch index or alias, its helpers, the raw DSL
//! search and the bulk helper's entry point. The trait implementations are in the module
//! `search_index`, construction in `config`.

use std::fmt;
use std::sync::Arc;

use futures::stream::Stream;
use opensearch::OpenSearch;
use opensearch::http::Method;
use serde_json::Value as Json;
use store_core::search::{
    BulkOp, BulkReport, SearchIndex, SearchRequest, SearchResponse, validate_id,
};
use store_core::{IndexName, Result, StoreError};
use tokio::sync::OnceCell;

use crate::bulk::{self, BulkOptions};
use crate::cluster::{ClusterInfo, PointInTimeApi};
use crate::error::{BACKEND, ConflictMeaning};
use crate::http::{Body, Reply, segment, send};
use crate::json::parse_search;
use crate::query::search_body;

/// A [`SearchIndex`] on one OpenSearch or Elasticsearch index, or an alias that points to one.
///
/// Cheap to clone (the client is shared). Every operation runs in a `tracing` span naming the
/// backend, the operation, the index and the document id, and logs its status, bytes and latency
/// at debug level.
///
/// # Semantics
///
/// Those of the reference [`MemorySearchIndex`](store_core::memory::MemorySearchIndex), as
/// OpenSearch itself implements them, with these notes:
/// - a write to a missing index creates it with dynamic mapping, as OpenSearch does by default
///   (reads, search, count, refresh and drop of a missing index are `NotFound` naming it);
/// - `_source` is read back with every digit of every number (see the module `json`): numbers
///   are written as exact decimal text and parsed from the response text, never through `f64`;
///   a number stored in a `long` or `double` field is still indexed at that field's precision;
/// - a missing sort value appears in a hit's `sort` as OpenSearch reports it (the largest or
///   smallest `long`), not as `Null`;
/// - errors: `index_not_found` is `NotFound` naming the index, a version conflict is
///   `PreconditionFailed` (`AlreadyExists` for a create-only write), 429 is `Throttled` with the
///   `Retry-After` hint, 400 (mapping, parsing, illegal argument) is `InvalidInput` with the
///   server's reason, 401/403 `Unauthorized`, no response or 502/503/504 `Unavailable`.
///
/// ```no_run
/// # async fn demo() -> store_core::Result<()> {
/// use store_core::search::{IndexOptions, IndexSpec, SearchQuery, SearchRequest};
/// use store_core::{Document, SearchIndex};
/// use store_search::OpenSearchIndex;
///
/// let index = OpenSearchIndex::builder("articles")
///     .url("http://localhost:9200")
///     .build()?;
/// index.create(&IndexSpec::new().replicas(0)).await?;
/// index
///     .index("a1", Document::new().with("title", "Hello"), IndexOptions::new().refresh())
///     .await?;
/// let found = index.search(&SearchRequest::new(SearchQuery::matches("title", "hello"))).await?;
/// assert_eq!(found.hits[0].id, "a1");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OpenSearchIndex {
    client: OpenSearch,
    name: IndexName,
    bulk_options: BulkOptions,
    /// The server, read once by [`cluster`](Self::cluster), shared with clones and siblings.
    cluster: Arc<OnceCell<ClusterInfo>>,
    /// The API [`search_pit`](Self::search_pit) uses instead of the one the server implies.
    point_in_time_api: Option<PointInTimeApi>,
}

// Made by `builder` and `from_env` (in the module `config`) or `from_client`.
impl OpenSearchIndex {
    /// A handle on `name` using a client you configured (for SigV4 or custom transports), with
    /// the default [`BulkOptions`].
    pub fn from_client(client: OpenSearch, name: IndexName) -> Self {
        Self {
            client,
            name,
            bulk_options: BulkOptions::default(),
            cluster: Arc::default(),
            point_in_time_api: None,
        }
    }

    /// A handle on another index of the same cluster, sharing the client.
    pub fn sibling(&self, name: &str) -> Result<Self> {
        Ok(Self {
            client: self.client.clone(),
            name: IndexName::new(name)?,
            bulk_options: self.bulk_options.clone(),
            cluster: Arc::clone(&self.cluster),
            point_in_time_api: self.point_in_time_api,
        })
    }

    /// Sets the options [`SearchIndex::bulk`] uses.
    pub fn with_bulk_options(mut self, options: BulkOptions) -> Self {
        self.bulk_options = options;
        self
    }

    /// Makes [`search_pit`](Self::search_pit) use `api` whatever the server reports — for
    /// example [`PointInTimeApi::Scroll`] where open points in time are limited or behind a
    /// proxy that does not pass `_pit`. A point-in-time API the server lacks fails at the
    /// first page with the server's error.
    pub fn with_point_in_time_api(mut self, api: PointInTimeApi) -> Self {
        self.point_in_time_api = Some(api);
        self
    }

    /// The point-in-time API set by [`with_point_in_time_api`](Self::with_point_in_time_api).
    pub(crate) fn forced_point_in_time_api(&self) -> Option<PointInTimeApi> {
        self.point_in_time_api
    }

    /// The options [`SearchIndex::bulk`] uses.
    pub fn bulk_options(&self) -> &BulkOptions {
        &self.bulk_options
    }

    /// The native client, for anything this crate does not wrap.
    pub fn client(&self) -> &OpenSearch {
        &self.client
    }

    pub(crate) fn cluster_cell(&self) -> &OnceCell<ClusterInfo> {
        &self.cluster
    }

    /// The index name (also [`SearchIndex::name`]).
    pub(crate) fn index_name(&self) -> &IndexName {
        &self.name
    }

    pub(crate) fn path(&self, rest: &str) -> String {
        format!("/{}{rest}", segment(self.name.as_str()))
    }

    pub(crate) fn target(&self, id: &str) -> String {
        if id.is_empty() {
            self.name.as_str().to_owned()
        } else {
            format!("{}/{id}", self.name)
        }
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Body>,
        operation: &'static str,
        target: &str,
    ) -> Result<Reply> {
        send(&self.client, method, path, query, body, operation, target).await
    }

    /// Runs a search written in the query DSL (the escape hatch): `body` is the whole
    /// `_search` body, with `query`, `sort`, `aggs`, `size`... Hits are typed as for
    /// [`SearchIndex::search`]; aggregations come back as raw JSON. A reply some shards could
    /// not give (`_shards.failed` above 0) is `Unavailable`, never a silently partial answer.
    pub async fn search_dsl(&self, body: &Json) -> Result<SearchResponse> {
        let target = self.target("");
        async {
            let reply = self
                .send(
                    Method::Post,
                    &self.path("/_search"),
                    &[],
                    Some(Body::json(body)),
                    "search",
                    &target,
                )
                .await?;
            let value = reply.check(ConflictMeaning::Auto, "search", &target)?;
            crate::pit::refuse_partial(&value, "search")?;
            parse_search(value).map_err(|e| e.in_context(BACKEND, "search"))
        }
        .await
    }

    /// Runs a portable search with aggregations in the query DSL (`{"by_tag": {"terms": ...}}`).
    pub async fn search_with_aggregations(
        &self,
        request: &SearchRequest,
        aggregations: &Json,
    ) -> Result<SearchResponse> {
        request.validate().map_err(|e| self.invalid(e, "search"))?;
        let mut body = search_body(request);
        body["aggs"] = aggregations.clone();
        self.search_dsl(&body).await
    }

    pub(crate) fn invalid(&self, error: StoreError, operation: &'static str) -> StoreError {
        error
            .in_context(BACKEND, operation)
            .with_target(self.name.as_str())
    }

    /// `InvalidInput` for an id OpenSearch would refuse, before anything is sent.
    pub(crate) fn check_id(&self, id: &str, operation: &'static str) -> Result<()> {
        validate_id(id).map_err(|e| self.invalid(e, operation))
    }

    /// Applies a stream of operations, however long, in `_bulk` requests.
    ///
    /// Operations are chunked by count and by bytes, up to `concurrency` requests are in
    /// flight, and memory stays bounded by about `concurrency + 1` chunks (plus the report).
    /// Items answered 429 or 503 (or whose whole request was) are retried alone, with the
    /// backoff of the options' [`RetryPolicy`](store_core::RetryPolicy); nothing else is
    /// retried. The report counts the successes and lists every failed item with its position
    /// in the stream, id, status (0 when no response came back) and error, sorted by position.
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
        async {
            let report = bulk::run(&self.client, &self.name, ops, options).await;
            if options.refresh() {
                self.refresh().await?;
            }
            Ok(report)
        }
        .await
    }
}

impl fmt::Debug for OpenSearchIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The transport holds credentials: never print it.
        f.debug_struct("OpenSearchIndex")
            .field("name", &self.name.as_str())
            .finish_non_exhaustive()
    }
}
