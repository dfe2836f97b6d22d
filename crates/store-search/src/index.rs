//! [`OpenSearchIndex`]: a [`SearchIndex`] on one OpenSearch index or alias.

use std::fmt;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use opensearch::OpenSearch;
use opensearch::http::Method;
use serde_json::{Map, Value as Json, json};
use store_core::search::{
    BulkOp, BulkReport, DocVersion, FieldType, Hit, IndexOptions, IndexSpec, OpType,
    SearchCapabilities, SearchIndex, SearchQuery, SearchRequest, SearchResponse, StoredDoc,
};
use store_core::{Document, Health, HealthReport, IndexName, Result, StoreError, Value};
use tracing::Instrument;

use crate::bulk::BulkOptions;
use crate::config::OpenSearchConfig;
use crate::error::{BACKEND, ConflictMeaning};
use crate::http::{Body, Reply, lookup, lookup_u64, segment, send};
use crate::json::document_bytes;
use crate::query::{query_dsl, search_body};

/// The longest document id OpenSearch accepts, in bytes.
pub const MAX_ID_BYTES: usize = 512;

/// A [`SearchIndex`] on one OpenSearch index, or an alias that points to one.
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
/// use store_search::{OpenSearchConfig, OpenSearchIndex};
///
/// let config = OpenSearchConfig::from_url("http://localhost:9200")?;
/// let index = OpenSearchIndex::connect(&config, "articles")?;
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
}

impl OpenSearchIndex {
    /// A handle on `name` with a client built from `config`.
    pub fn connect(config: &OpenSearchConfig, name: &str) -> Result<Self> {
        Ok(Self::from_client(
            config.build_client()?,
            IndexName::new(name)?,
        ))
    }

    /// A handle on `name` with a client from the environment ([`OpenSearchConfig::from_env`]).
    pub fn from_env(name: &str) -> Result<Self> {
        Self::connect(&OpenSearchConfig::from_env()?, name)
    }

    /// A handle on `name` using an existing client (for SigV4 or custom transports).
    pub fn from_client(client: OpenSearch, name: IndexName) -> Self {
        Self {
            client,
            name,
            bulk_options: BulkOptions::default(),
        }
    }

    /// A handle on another index of the same cluster, sharing the client.
    pub fn sibling(&self, name: &str) -> Result<Self> {
        Ok(Self {
            client: self.client.clone(),
            name: IndexName::new(name)?,
            bulk_options: self.bulk_options.clone(),
        })
    }

    /// Sets the options [`SearchIndex::bulk`] uses.
    pub fn with_bulk_options(mut self, options: BulkOptions) -> Self {
        self.bulk_options = options;
        self
    }

    /// The options [`SearchIndex::bulk`] uses.
    pub fn bulk_options(&self) -> &BulkOptions {
        &self.bulk_options
    }

    /// The native client, for anything this crate does not wrap.
    pub fn client(&self) -> &OpenSearch {
        &self.client
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

    pub(crate) fn span(&self, operation: &'static str, id: &str) -> tracing::Span {
        tracing::info_span!(
            "store",
            backend = BACKEND,
            operation,
            index = self.name.as_str(),
            id = if id.is_empty() { None } else { Some(id) },
        )
    }

    /// Runs a search written in the query DSL (the escape hatch): `body` is the whole
    /// `_search` body, with `query`, `sort`, `aggs`, `size`... Hits are typed as for
    /// [`SearchIndex::search`]; aggregations come back as raw JSON.
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
            parse_search(&value).map_err(|e| e.in_context(BACKEND, "search"))
        }
        .instrument(self.span("search", ""))
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

    fn invalid(&self, error: StoreError, operation: &'static str) -> StoreError {
        error
            .in_context(BACKEND, operation)
            .with_target(self.name.as_str())
    }

    fn check_id(&self, id: &str, operation: &'static str) -> Result<()> {
        let problem = if id.is_empty() {
            Some("a document id must not be empty".to_owned())
        } else if id.len() > MAX_ID_BYTES {
            Some(format!(
                "a document id must be at most {MAX_ID_BYTES} bytes, this one has {}",
                id.len()
            ))
        } else {
            None
        };
        match problem {
            Some(p) => Err(StoreError::invalid_input(p)
                .with_backend(BACKEND)
                .with_operation(operation)
                .with_target(self.name.as_str())),
            None => Ok(()),
        }
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

fn version_of(value: &Value) -> Result<DocVersion> {
    match (
        lookup_u64(value, &["_seq_no"]),
        lookup_u64(value, &["_primary_term"]),
    ) {
        (Some(seq_no), Some(primary_term)) => Ok(DocVersion {
            seq_no,
            primary_term,
        }),
        _ => Err(StoreError::internal(
            "the response has no _seq_no/_primary_term",
        )),
    }
}

fn write_params(options: &IndexOptions) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if let Some(v) = options.if_version {
        query.push(("if_seq_no", v.seq_no.to_string()));
        query.push(("if_primary_term", v.primary_term.to_string()));
    }
    if options.refresh {
        query.push(("refresh", "true".to_owned()));
    }
    query
}

fn conflict_meaning(options: &IndexOptions) -> ConflictMeaning {
    if options.op_type == OpType::Create {
        ConflictMeaning::AlreadyExists
    } else if options.if_version.is_some() {
        ConflictMeaning::Precondition
    } else {
        ConflictMeaning::Auto
    }
}

/// OpenSearch omits `sort` values when the sort is by score alone; fill them in so that every
/// hit of a sorted search carries the values `search_after` needs.
pub(crate) fn score_sort_values(request: &SearchRequest, response: &mut SearchResponse) {
    let by_score_only = !request.sort.is_empty()
        && request
            .sort
            .iter()
            .all(|s| matches!(s, store_core::search::SortField::Score(_)));
    if !by_score_only {
        return;
    }
    for hit in &mut response.hits {
        if hit.sort.is_empty()
            && let Some(score) = hit.score
            && let Ok(n) = store_core::Number::try_from(score)
        {
            hit.sort = vec![Value::Number(n); request.sort.len()];
        }
    }
}

/// Reads a `_search` response.
pub(crate) fn parse_search(value: &Value) -> Result<SearchResponse> {
    let total = lookup_u64(value, &["hits", "total", "value"])
        .or_else(|| lookup_u64(value, &["hits", "total"]))
        .unwrap_or(0);
    let hits = lookup(value, &["hits", "hits"])
        .and_then(Value::as_list)
        .unwrap_or(&[])
        .iter()
        .map(parse_hit)
        .collect::<Result<Vec<_>>>()?;
    let aggregations = lookup(value, &["aggregations"]).map(crate::json::value_to_serde);
    Ok(SearchResponse {
        total,
        hits,
        aggregations,
    })
}

pub(crate) fn parse_hit(hit: &Value) -> Result<Hit> {
    let id = lookup(hit, &["_id"])
        .and_then(Value::as_str)
        .ok_or_else(|| StoreError::internal("a hit has no _id"))?
        .to_owned();
    let score = lookup(hit, &["_score"])
        .and_then(Value::as_number)
        .map(store_core::Number::to_f64);
    let source = match lookup(hit, &["_source"]) {
        Some(Value::Map(doc)) => doc.clone(),
        _ => Document::new(),
    };
    let sort = lookup(hit, &["sort"])
        .and_then(Value::as_list)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    Ok(Hit {
        id,
        score,
        source,
        sort,
    })
}

fn field_type(t: FieldType) -> &'static str {
    match t {
        FieldType::Text => "text",
        FieldType::Keyword => "keyword",
        FieldType::Long => "long",
        FieldType::Double => "double",
        FieldType::Boolean => "boolean",
        FieldType::Date => "date",
    }
}

/// The `mappings` of a spec: the raw mappings, else the typed fields (dotted paths nested).
pub(crate) fn mappings(spec: &IndexSpec) -> Option<Json> {
    if let Some(raw) = &spec.raw_mappings {
        return Some(raw.clone());
    }
    if spec.fields.is_empty() {
        return None;
    }
    let mut root = Map::new();
    for (name, t) in &spec.fields {
        let mut properties = &mut root;
        let parts: Vec<&str> = name.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            if i + 1 == parts.len() {
                properties.insert((*part).to_owned(), json!({"type": field_type(*t)}));
            } else {
                let entry = properties
                    .entry((*part).to_owned())
                    .or_insert_with(|| json!({"properties": {}}));
                if entry.get("properties").is_none() {
                    *entry = json!({"properties": {}});
                }
                properties = entry
                    .get_mut("properties")
                    .and_then(Json::as_object_mut)
                    .expect("just inserted");
            }
        }
    }
    Some(json!({ "properties": root }))
}

/// The `settings` of a spec: shards and replicas, with the raw settings merged over them.
pub(crate) fn settings(spec: &IndexSpec) -> Json {
    let mut settings = json!({});
    if let Some(n) = spec.shards {
        settings["number_of_shards"] = json!(n);
    }
    if let Some(n) = spec.replicas {
        settings["number_of_replicas"] = json!(n);
    }
    if let Some(raw) = &spec.raw_settings {
        merge(&mut settings, raw);
    }
    settings
}

fn merge(into: &mut Json, from: &Json) {
    match (into, from) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Json::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

#[async_trait]
impl Health for OpenSearchIndex {
    async fn health(&self) -> Result<HealthReport> {
        let started = Instant::now();
        let reply = send(&self.client, Method::Get, "/", &[], None, "health", "")
            .instrument(self.span("health", ""))
            .await?;
        let body = reply.check(ConflictMeaning::Auto, "health", "")?;
        let version = lookup(&body, &["version", "number"])
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        Ok(HealthReport {
            backend: BACKEND,
            latency: started.elapsed(),
            detail: Some(format!("OpenSearch {version}")),
        })
    }
}

#[async_trait]
impl SearchIndex for OpenSearchIndex {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn name(&self) -> &IndexName {
        &self.name
    }

    fn capabilities(&self) -> SearchCapabilities {
        SearchCapabilities::new(true, true)
    }

    async fn create(&self, spec: &IndexSpec) -> Result<()> {
        let target = self.target("");
        async {
            let mut body = json!({ "settings": settings(spec) });
            if let Some(m) = mappings(spec) {
                body["mappings"] = m;
            }
            self.send(
                Method::Put,
                &self.path(""),
                &[],
                Some(Body::json(&body)),
                "create",
                &target,
            )
            .await?
            .check(ConflictMeaning::AlreadyExists, "create", &target)
            .map(drop)
        }
        .instrument(self.span("create", ""))
        .await
    }

    async fn exists(&self) -> Result<bool> {
        let target = self.target("");
        let reply = self
            .send(Method::Head, &self.path(""), &[], None, "exists", &target)
            .instrument(self.span("exists", ""))
            .await?;
        match reply.status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(reply.error(ConflictMeaning::Auto, "exists", &target)),
        }
    }

    async fn drop_index(&self) -> Result<()> {
        let target = self.target("");
        self.send(
            Method::Delete,
            &self.path(""),
            &[],
            None,
            "drop_index",
            &target,
        )
        .instrument(self.span("drop_index", ""))
        .await?
        .check(ConflictMeaning::Auto, "drop_index", &target)
        .map(drop)
    }

    async fn index(&self, id: &str, doc: Document, options: IndexOptions) -> Result<DocVersion> {
        self.check_id(id, "index")?;
        if options.op_type == OpType::Create && options.if_version.is_some() {
            return Err(self.invalid(
                StoreError::invalid_input("a create-only write cannot also require a version"),
                "index",
            ));
        }
        let target = self.target(id);
        async {
            let mut query = write_params(&options);
            if options.op_type == OpType::Create {
                query.push(("op_type", "create".to_owned()));
            }
            let body = Body::Json(Bytes::from(document_bytes(&doc)));
            let path = self.path(&format!("/_doc/{}", segment(id)));
            let value = self
                .send(Method::Put, &path, &query, Some(body), "index", &target)
                .await?
                .check(conflict_meaning(&options), "index", &target)?;
            version_of(&value).map_err(|e| e.in_context(BACKEND, "index"))
        }
        .instrument(self.span("index", id))
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<StoredDoc>> {
        self.check_id(id, "get")?;
        let target = self.target(id);
        async {
            let path = self.path(&format!("/_doc/{}", segment(id)));
            let reply = self
                .send(Method::Get, &path, &[], None, "get", &target)
                .await?;
            if reply.status == 404 && reply.get(&["error"]).is_none() {
                return Ok(None);
            }
            let value = reply.check(ConflictMeaning::Auto, "get", &target)?;
            if lookup(&value, &["found"]).and_then(Value::as_bool) != Some(true) {
                return Ok(None);
            }
            let source = match lookup(&value, &["_source"]) {
                Some(Value::Map(doc)) => doc.clone(),
                _ => Document::new(),
            };
            Ok(Some(StoredDoc {
                id: id.to_owned(),
                source,
                version: version_of(&value).map_err(|e| e.in_context(BACKEND, "get"))?,
            }))
        }
        .instrument(self.span("get", id))
        .await
    }

    async fn update(
        &self,
        id: &str,
        partial: Document,
        options: IndexOptions,
    ) -> Result<DocVersion> {
        self.check_id(id, "update")?;
        if options.op_type == OpType::Create {
            return Err(self.invalid(
                StoreError::invalid_input("an update cannot be create-only"),
                "update",
            ));
        }
        let target = self.target(id);
        async {
            let mut body = Vec::with_capacity(partial.approximate_size() + 16);
            body.extend_from_slice(b"{\"doc\":");
            crate::json::write_document(&mut body, &partial);
            body.push(b'}');
            let path = self.path(&format!("/_update/{}", segment(id)));
            let value = self
                .send(
                    Method::Post,
                    &path,
                    &write_params(&options),
                    Some(Body::Json(Bytes::from(body))),
                    "update",
                    &target,
                )
                .await?
                .check(conflict_meaning(&options), "update", &target)?;
            version_of(&value).map_err(|e| e.in_context(BACKEND, "update"))
        }
        .instrument(self.span("update", id))
        .await
    }

    async fn delete(&self, id: &str, options: IndexOptions) -> Result<bool> {
        self.check_id(id, "delete")?;
        let target = self.target(id);
        async {
            let path = self.path(&format!("/_doc/{}", segment(id)));
            let reply = self
                .send(
                    Method::Delete,
                    &path,
                    &write_params(&options),
                    None,
                    "delete",
                    &target,
                )
                .await?;
            if reply.status == 404 && reply.get(&["error"]).is_none() {
                return Ok(false);
            }
            let value = reply.check(conflict_meaning(&options), "delete", &target)?;
            Ok(lookup(&value, &["result"]).and_then(Value::as_str) == Some("deleted"))
        }
        .instrument(self.span("delete", id))
        .await
    }

    async fn bulk(&self, ops: Vec<BulkOp>) -> Result<BulkReport> {
        let options = self.bulk_options.clone();
        self.bulk_stream(futures::stream::iter(ops), &options).await
    }

    async fn refresh(&self) -> Result<()> {
        let target = self.target("");
        self.send(
            Method::Post,
            &self.path("/_refresh"),
            &[],
            None,
            "refresh",
            &target,
        )
        .instrument(self.span("refresh", ""))
        .await?
        .check(ConflictMeaning::Auto, "refresh", &target)
        .map(drop)
    }

    async fn search(&self, request: &SearchRequest) -> Result<SearchResponse> {
        request.validate().map_err(|e| self.invalid(e, "search"))?;
        let mut response = self.search_dsl(&search_body(request)).await?;
        score_sort_values(request, &mut response);
        Ok(response)
    }

    async fn count(&self, query: &SearchQuery) -> Result<u64> {
        let target = self.target("");
        async {
            let body = json!({ "query": query_dsl(query) });
            let value = self
                .send(
                    Method::Post,
                    &self.path("/_count"),
                    &[],
                    Some(Body::json(&body)),
                    "count",
                    &target,
                )
                .await?
                .check(ConflictMeaning::Auto, "count", &target)?;
            lookup_u64(&value, &["count"])
                .ok_or_else(|| StoreError::internal("the _count response has no count"))
        }
        .instrument(self.span("count", ""))
        .await
    }
}
