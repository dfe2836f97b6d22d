//! Helpers shared by the search behaviours.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::SearchFactory;
use crate::error::{ErrorKind, Result};
use crate::keys::IndexName;
use crate::search::{IndexOptions, IndexSpec, SearchIndex, SearchQuery, SearchRequest};
use crate::value::{Document, Value, from_json};

/// A lowercase index name unique to this process, behaviour and call, so suites can run in
/// parallel against one real cluster.
pub(super) fn unique_name(behaviour: &str) -> IndexName {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let name = format!(
        "conformance-{}-{}-{nanos}-{n}",
        behaviour.replace('_', "-"),
        std::process::id()
    );
    IndexName::new(name).expect("generated index names are valid")
}

/// One shard and no replicas: stable BM25 statistics and a green index on a one-node cluster.
pub(super) fn spec() -> IndexSpec {
    IndexSpec::new().shards(1).replicas(0)
}

/// Opens a handle for a fresh index and creates it with `spec`.
pub(super) async fn create(
    factory: &dyn SearchFactory,
    behaviour: &str,
    spec: &IndexSpec,
) -> Arc<dyn SearchIndex> {
    let index = factory.open(unique_name(behaviour)).await;
    index
        .create(spec)
        .await
        .unwrap_or_else(|e| panic!("{behaviour}: creating index `{}` failed: {e}", index.name()));
    index
}

/// Creates a fresh index, indexes `docs` and refreshes.
pub(super) async fn loaded(
    factory: &dyn SearchFactory,
    behaviour: &str,
    spec: &IndexSpec,
    docs: &[(&str, serde_json::Value)],
) -> Arc<dyn SearchIndex> {
    let index = create(factory, behaviour, spec).await;
    for (id, json) in docs {
        index
            .index(id, doc(json.clone()), IndexOptions::new())
            .await
            .unwrap_or_else(|e| panic!("{behaviour}: indexing `{id}` failed: {e}"));
    }
    index
        .refresh()
        .await
        .unwrap_or_else(|e| panic!("{behaviour}: refresh failed: {e}"));
    index
}

/// Drops the index at the end of a behaviour.
pub(super) async fn finish(index: Arc<dyn SearchIndex>) {
    index
        .drop_index()
        .await
        .unwrap_or_else(|e| panic!("dropping index `{}` failed: {e}", index.name()));
}

/// A document from JSON.
pub(super) fn doc(json: serde_json::Value) -> Document {
    match from_json(json) {
        Ok(Value::Map(doc)) => doc,
        other => panic!("test document must be a JSON object, got {other:?}"),
    }
}

/// The ids of the hits of a request, in order.
pub(super) async fn ids(index: &Arc<dyn SearchIndex>, request: &SearchRequest) -> Vec<String> {
    index
        .search(request)
        .await
        .unwrap_or_else(|e| panic!("search {request:?} failed: {e}"))
        .hits
        .into_iter()
        .map(|hit| hit.id)
        .collect()
}

/// The set of ids matching a query (up to 100).
pub(super) async fn id_set(index: &Arc<dyn SearchIndex>, query: SearchQuery) -> BTreeSet<String> {
    ids(index, &SearchRequest::new(query).size(100))
        .await
        .into_iter()
        .collect()
}

/// A set of ids, to compare with [`id_set`].
pub(super) fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// Asserts that `result` failed with `kind`.
#[track_caller]
pub(super) fn assert_kind<T: Debug>(result: Result<T>, kind: ErrorKind, what: &str) {
    match result {
        Ok(value) => panic!("{what}: expected a {kind} error, got Ok({value:?})"),
        Err(e) => assert_eq!(e.kind(), kind, "{what}: expected a {kind} error, got {e}"),
    }
}
