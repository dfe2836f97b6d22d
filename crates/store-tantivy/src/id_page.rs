//! A page of a search sorted by `_id` alone, ascending (how a copy pages through an index with
//! `search_after`): each segment keeps the smallest `from + size` `_id` term ordinals past
//! the cursor in a bounded heap (ordinals order as the ids do within a segment), and only
//! the winners' ids are read. A page costs one pass over the matches, with no id read and no
//! sort of them all, so paging through an index is linear, not quadratic.

use std::collections::BinaryHeap;

use store_core::{Result, StoreError};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{StrColumn, TermOrdHit};
use tantivy::query::Query;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::error::OrStore;
use crate::schema::ID_FIELD;
use crate::writer::View;

/// The matches of `query` past the id `after`, the first `keep` in `_id` order, with their
/// ids; and how many documents match in all.
pub(crate) fn id_page(
    view: &View,
    query: &dyn Query,
    after: Option<&str>,
    keep: usize,
) -> Result<(Vec<(String, DocAddress)>, u64)> {
    let collector = IdPage {
        after: after.map(str::to_owned),
        keep,
    };
    let mut fruit = view.searcher.search(query, &collector).or_store()?;
    if let Some(e) = fruit.failed {
        return Err(StoreError::internal(format!("reading _id: {e}")));
    }
    fruit.page.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    fruit.page.truncate(keep);
    Ok((fruit.page, fruit.matched))
}

/// What the segments found: the page's candidates with their ids, how many documents
/// matched, and an id the dictionary could not give back.
#[derive(Default)]
struct Fruit {
    page: Vec<(String, DocAddress)>,
    matched: u64,
    failed: Option<String>,
}

struct IdPage {
    after: Option<String>,
    keep: usize,
}

struct SegmentPage {
    segment: SegmentOrdinal,
    ids: Option<StrColumn>,
    /// The smallest ordinal past the cursor in this segment.
    first: u64,
    /// The `keep` smallest ordinals met so far (the largest on top, to be pushed out).
    heap: BinaryHeap<(u64, DocId)>,
    keep: usize,
    matched: u64,
}

impl Collector for IdPage {
    type Fruit = Fruit;
    type Child = SegmentPage;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentPage> {
        let ids = reader.fast_fields().str(ID_FIELD)?;
        let first = match (&ids, &self.after) {
            (Some(ids), Some(after)) => match ids.dictionary().term_ord_or_next(after)? {
                TermOrdHit::Exact(ord) => ord.saturating_add(1),
                TermOrdHit::Next(ord) => ord,
            },
            _ => 0,
        };
        Ok(SegmentPage {
            segment,
            ids,
            first,
            heap: BinaryHeap::with_capacity(self.keep.saturating_add(1).min(1 << 16)),
            keep: self.keep,
            matched: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Fruit>) -> tantivy::Result<Fruit> {
        let mut all = Fruit::default();
        for fruit in fruits {
            all.page.extend(fruit.page);
            all.matched += fruit.matched;
            all.failed = all.failed.or(fruit.failed);
        }
        Ok(all)
    }
}

impl SegmentCollector for SegmentPage {
    type Fruit = Fruit;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.matched += 1;
        let Some(ord) = self.ids.as_ref().and_then(|ids| ids.term_ords(doc).next()) else {
            return;
        };
        if ord < self.first || self.keep == 0 {
            return;
        }
        if self.heap.len() < self.keep {
            self.heap.push((ord, doc));
        } else if self.heap.peek().is_some_and(|top| ord < top.0) {
            self.heap.pop();
            self.heap.push((ord, doc));
        }
    }

    fn harvest(self) -> Fruit {
        let mut fruit = Fruit {
            page: Vec::with_capacity(self.heap.len()),
            matched: self.matched,
            failed: None,
        };
        if let Some(ids) = &self.ids {
            for (ord, doc) in self.heap {
                let mut id = String::new();
                match ids.ord_to_str(ord, &mut id) {
                    Ok(true) => fruit.page.push((id, DocAddress::new(self.segment, doc))),
                    Ok(false) => fruit.failed = Some(format!("no term for ordinal {ord}")),
                    Err(e) => fruit.failed = Some(e.to_string()),
                }
            }
        }
        fruit
    }
}
