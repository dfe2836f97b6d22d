//! The [`SearchIndex`] and [`Health`] implementations of [`OpenSearchIndex`]: each call one
//! request, its response read exactly and its errors mapped.

use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use opensearch::http::Method;
use serde_json::json;
use store_core::search::{
    BulkOp, BulkReport, DocVersion, IndexOptions, IndexSpec, OpType, SearchCapabilities,
    SearchIndex, SearchQuery, SearchRequest, SearchResponse, StoredDoc,
};
use store_core::{Document, Health, HealthReport, IndexName, Result, StoreError, Value};

use crate::error::{BACKEND, ConflictMeaning};
use crate::http::{Body, segment, send};
use crate::index::OpenSearchIndex;
use crate::json::{
    document_bytes, lookup, lookup_u64, score_sort_values, version_of, write_document,
};
use crate::mapping::create_body;
use crate::query::{query_dsl, search_body};

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

#[async_trait]
impl Health for OpenSearchIndex {
    async fn health(&self) -> Result<HealthReport> {
        let started = Instant::now();
        let reply = send(self.client(), Method::Get, "/", &[], None, "health", "").await?;
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
        self.index_name()
    }

    fn capabilities(&self) -> SearchCapabilities {
        // A source comes back as the JSON it was sent as (bytes as base64 text).
        SearchCapabilities::all().typed_source(false)
    }

    async fn create(&self, spec: &IndexSpec) -> Result<()> {
        let target = self.target("");
        async {
            self.send(
                Method::Put,
                &self.path(""),
                &[],
                Some(Body::json(&create_body(spec))),
                "create",
                &target,
            )
            .await?
            .check(ConflictMeaning::AlreadyExists, "create", &target)
            .map(drop)
        }
        .await
    }

    async fn exists(&self) -> Result<bool> {
        let target = self.target("");
        let reply = self
            .send(Method::Head, &self.path(""), &[], None, "exists", &target)
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
            write_document(&mut body, &partial);
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
        .await
    }

    async fn bulk(&self, ops: Vec<BulkOp>) -> Result<BulkReport> {
        let options = self.bulk_options().clone();
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
        .await
    }
}
