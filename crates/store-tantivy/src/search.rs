//! Running a search or count on a [`View`]: the last commit with the current mapping.
//!
//! Without sort keys, hits come from tantivy's top-k collector by BM25 score (ties in index
//! order, as on OpenSearch). With sort keys, every match is collected with its id (from the
//! `_id` fast field) and sort values (from the `_sort` fast field), sorted exactly as the
//! in-memory index sorts (ties broken by id), cut after `search_after`, then paged; only the
//! hits of the page read their stored source. Sorted by `_id` alone, ascending, a page comes
//! from a bounded heap of `_id` ordinals per segment instead ([`id_page`]).

use std::cmp::Ordering;

use store_core::search::engine::{SortKey, coerce_after, compare, compile_sort};
use store_core::search::{Hit, SearchQuery, SearchRequest, SearchResponse, SortOrder};
use store_core::{Result, StoreError, Value};
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader, TantivyDocument};

use crate::error::OrStore;
use crate::id_page::id_page;
use crate::query::compile;
use crate::schema::{ID_FIELD, SORT_FIELD};
use crate::sort::hit_sort_values;
use crate::writer::{View, entry_of};

/// Runs a search: match, sort, skip to `search_after` and `from`, take `size`.
pub(crate) fn search(view: &View, request: &SearchRequest) -> Result<SearchResponse> {
    request.validate()?;
    if request.search_after.is_some() && request.sort.is_empty() {
        return Err(StoreError::invalid_input(
            "search_after needs an explicit sort; add sort keys ending in a unique field",
        ));
    }
    let query = compile(&request.query, &view.mapping, &view.fields)?;
    let keys = compile_sort(&request.sort, &view.mapping)?;
    let after = request
        .search_after
        .as_deref()
        .map(|values| coerce_after(&keys, values))
        .transpose()?;
    let searcher = &view.searcher;

    if keys.is_empty() {
        let (page, total): (Vec<(Score, DocAddress)>, usize) = if request.size == 0 {
            (Vec::new(), searcher.search(&*query, &Count).or_store()?)
        } else {
            let top = TopDocs::with_limit(request.size)
                .and_offset(request.from)
                .order_by_score();
            searcher.search(&*query, &(top, Count)).or_store()?
        };
        let hits = page
            .into_iter()
            .map(|(score, address)| hit(view, address, Some(f64::from(score)), Vec::new()))
            .collect::<Result<_>>()?;
        return Ok(SearchResponse {
            total: total as u64,
            hits,
            aggregations: None,
        });
    }

    let id_cursor = match after.as_deref() {
        None => Some(None),
        Some([Value::String(id)]) => Some(Some(id.as_str())),
        // Any other cursor (a null) is for the general path, which compares it as such.
        Some(_) => None,
    };
    if let ([SortKey::Id(SortOrder::Asc)], Some(after)) = (keys.as_slice(), id_cursor) {
        // How a copy pages through an index: a bounded heap per segment, not a sort of all.
        let keep = request.from.saturating_add(request.size);
        let (page, total) = id_page(view, &*query, after, keep)?;
        let hits = page
            .into_iter()
            .skip(request.from)
            .map(|(id, address)| hit(view, address, None, hit_sort_values(&keys, &id, 0.0, &[])))
            .collect::<Result<_>>()?;
        return Ok(SearchResponse {
            total,
            hits,
            aggregations: None,
        });
    }

    let scoring = keys.iter().any(|k| matches!(k, SortKey::Score(_)));
    let matches = searcher
        .search(&*query, &AllMatches { scoring })
        .or_store()?;
    let total = matches.len() as u64;
    let mut columns = Vec::with_capacity(searcher.segment_readers().len());
    for segment in searcher.segment_readers() {
        let fast = segment.fast_fields();
        columns.push((
            fast.str(ID_FIELD).or_store()?,
            fast.bytes(SORT_FIELD).or_store()?,
        ));
    }
    let mut buf = Vec::new();
    let mut sorted: Vec<(DocAddress, Score, String, Vec<Value>)> = matches
        .into_iter()
        .map(|(address, score)| {
            let (ids, sorts) = &columns[address.segment_ord as usize];
            let mut id = String::new();
            if let Some(ids) = ids
                && let Some(ord) = ids.term_ords(address.doc_id).next()
            {
                ids.ord_to_str(ord, &mut id)
                    .map_err(|e| StoreError::internal(format!("reading _id: {e}")))?;
            }
            buf.clear();
            if let Some(sorts) = sorts
                && let Some(ord) = sorts.term_ords(address.doc_id).next()
            {
                sorts
                    .ord_to_bytes(ord, &mut buf)
                    .map_err(|e| StoreError::internal(format!("reading _sort: {e}")))?;
            }
            let values = hit_sort_values(&keys, &id, score, &buf);
            Ok((address, score, id, values))
        })
        .collect::<Result<_>>()?;
    sorted.sort_by(|a, b| compare(&keys, &a.3, &b.3).then_with(|| a.2.cmp(&b.2)));
    if let Some(after) = &after {
        sorted.retain(|(_, _, _, values)| compare(&keys, values, after) == Ordering::Greater);
    }
    let hits = sorted
        .into_iter()
        .skip(request.from)
        .take(request.size)
        .map(|(address, score, _, sort)| {
            hit(view, address, scoring.then_some(f64::from(score)), sort)
        })
        .collect::<Result<_>>()?;
    Ok(SearchResponse {
        total,
        hits,
        aggregations: None,
    })
}

/// Counts the documents matching a query.
pub(crate) fn count(view: &View, query: &SearchQuery) -> Result<u64> {
    let query = compile(query, &view.mapping, &view.fields)?;
    Ok(view.searcher.search(&*query, &Count).or_store()? as u64)
}

fn hit(view: &View, address: DocAddress, score: Option<f64>, sort: Vec<Value>) -> Result<Hit> {
    let doc: TantivyDocument = view.searcher.doc(address).or_store()?;
    let (id, entry) = entry_of(&doc, &view.fields)?;
    Ok(Hit {
        id,
        score,
        source: entry.source,
        sort,
    })
}

/// Collects every match with its score.
struct AllMatches {
    scoring: bool,
}

struct SegmentMatches {
    segment: SegmentOrdinal,
    hits: Vec<(DocAddress, Score)>,
}

impl Collector for AllMatches {
    type Fruit = Vec<(DocAddress, Score)>;
    type Child = SegmentMatches;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        _: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(SegmentMatches {
            segment,
            hits: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.scoring
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        Ok(fruits.concat())
    }
}

impl SegmentCollector for SegmentMatches {
    type Fruit = Vec<(DocAddress, Score)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.hits.push((DocAddress::new(self.segment, doc), score));
    }

    fn harvest(self) -> Self::Fruit {
        self.hits
    }
}
