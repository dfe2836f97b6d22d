//! Running a search or count over a snapshot.

use std::cmp::Ordering;

use super::matcher::compile;
use super::state::{DocEntry, Snapshot};
use crate::error::{Result, StoreError};
use crate::search::SortOrder;
use crate::search::engine::{Mapping, SortKey, coerce_after, compare, compile_sort, sort_values};
use crate::search::{Hit, SearchQuery, SearchRequest, SearchResponse};

/// Runs a search: match, sort, skip to `search_after` and `from`, take `size`.
pub(super) fn search(
    mapping: &Mapping,
    snapshot: &Snapshot,
    request: &SearchRequest,
) -> Result<SearchResponse> {
    request.validate()?;
    if request.search_after.is_some() && request.sort.is_empty() {
        return Err(StoreError::invalid_input(
            "search_after needs an explicit sort; add sort keys ending in a unique field",
        ));
    }
    let query = compile(&request.query, mapping, snapshot)?;
    let keys = compile_sort(&request.sort, mapping)?;
    let after = request
        .search_after
        .as_deref()
        .map(|values| coerce_after(&keys, values))
        .transpose()?;

    let mut matches: Vec<_> = snapshot
        .docs
        .values()
        .filter_map(|doc| {
            let score = query.eval(doc)?;
            Some((doc, score, doc_sort_values(&keys, doc, score)))
        })
        .collect();
    let total = matches.len() as u64;
    if keys.is_empty() {
        matches.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.id.cmp(&b.0.id)));
    } else {
        matches.sort_by(|a, b| compare(&keys, &a.2, &b.2).then_with(|| a.0.id.cmp(&b.0.id)));
    }
    if let Some(after) = &after {
        matches.retain(|(_, _, values)| compare(&keys, values, after) == Ordering::Greater);
    }
    let scored = keys.is_empty() || keys.iter().any(|k| matches!(k, SortKey::Score(_)));
    let hits = matches
        .into_iter()
        .skip(request.from)
        .take(request.size)
        .map(|(doc, score, sort)| Hit {
            id: doc.id.clone(),
            score: scored.then_some(score),
            source: doc.source.clone(),
            sort,
        })
        .collect();
    Ok(SearchResponse {
        total,
        hits,
        aggregations: None,
    })
}

/// The sort values of a hit: a field sorts by its smallest value ascending, its largest
/// descending.
fn doc_sort_values(keys: &[SortKey], doc: &DocEntry, score: f64) -> Vec<crate::value::Value> {
    sort_values(keys, &doc.id, score, |name, order| {
        let values = doc.fields.get(name).map(|d| d.values.iter());
        let picked = match order {
            SortOrder::Asc => values.and_then(Iterator::min),
            SortOrder::Desc => values.and_then(Iterator::max),
        };
        picked.cloned()
    })
}

/// Counts the documents matching a query.
pub(super) fn count(mapping: &Mapping, snapshot: &Snapshot, query: &SearchQuery) -> Result<u64> {
    let query = compile(query, mapping, snapshot)?;
    Ok(snapshot
        .docs
        .values()
        .filter(|doc| query.eval(doc).is_some())
        .count() as u64)
}
