//! [`OpenSearchIndex::search_pit_slices`]: a sliced read from one point in time whose slices
//! each start where the caller says and whose hits name their slice, so a copy can save where
//! every slice stands and resume each one from there.

use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use store_core::search::{Hit, SearchRequest, SortField};
use store_core::{Number, Result, SearchIndex as _, StoreError, Value};

use super::{State, check_request, resolve, shared_view_pages};
use crate::cluster::PointInTimeApi;
use crate::error::BACKEND;
use crate::index::OpenSearchIndex;

/// The slice a hit of [`OpenSearchIndex::search_pit_slices`] came from, and how many slices
/// the read was split into (one when the server could not slice it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceOf {
    /// The slice, from 0.
    pub slice: usize,
    /// How many slices the read has.
    pub slices: usize,
}

/// How [`OpenSearchIndex::search_pit_slices`] splits a read: the number of slices, the field
/// the server slices by, and where each slice starts.
///
/// ```
/// use store_core::Value;
/// use store_search::PitSlices;
/// let slices = PitSlices::new(2)
///     .by_field("_seq_no")
///     .start_after(1, vec![Value::from(41), Value::from("doc-7")]);
/// assert_eq!(slices.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PitSlices {
    field: Option<String>,
    starts: Vec<Option<Vec<Value>>>,
    page_bytes: Option<usize>,
}

impl PitSlices {
    /// `slices` slices (at least one), each from the start, split by the server's default
    /// (`_id`).
    pub fn new(slices: usize) -> Self {
        Self {
            field: None,
            starts: vec![None; slices.max(1)],
            page_bytes: None,
        }
    }

    /// Sizes each slice's pages by bytes: the first asks for one hit, each next one for
    /// about `bytes` of reply by the size of the hits before it (at most eight times the page
    /// before, and at most the request's size), so a read of large documents holds a few
    /// pages of a few megabytes, not pages of `request.size` of them.
    pub fn page_bytes(mut self, bytes: usize) -> Self {
        self.page_bytes = Some(bytes.max(1));
        self
    }

    /// One slice per entry of `starts`, each from its start (`None`: from the beginning), as
    /// a read that stopped left them (the sort values of each slice's last hit).
    pub fn from_starts(starts: Vec<Option<Vec<Value>>>) -> Self {
        let mut slices = Self::new(starts.len());
        for (slice, start) in starts.into_iter().enumerate() {
            if let Some(after) = start {
                slices = slices.start_after(slice, after);
            }
        }
        slices
    }

    /// Splits by a numeric field's doc values (such as `_seq_no`) rather than by `_id`, which
    /// the server must hash term by term for every page of every slice.
    pub fn by_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Starts slice `slice` after the hit whose sort values (of the request's own sort keys)
    /// are `after`; a slice past the last one is ignored.
    pub fn start_after(mut self, slice: usize, after: Vec<Value>) -> Self {
        if let Some(start) = self.starts.get_mut(slice) {
            *start = Some(after);
        }
        self
    }

    /// How many slices.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether there is no slice (never: there is at least one).
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }
}

/// The `search_after` values of a start `after` under the full sort. A start is a hit's
/// values of the request's own keys, so they must tell it from every other hit: the sort
/// must end with `_id` (or with the tiebreak itself). Past `_id`, a `_shard_doc` tiebreak the
/// read appends gets its highest value, so the start is after every hit with those values.
fn complete(after: Vec<Value>, sort: &[SortField], tiebreak: &str) -> Result<Vec<Value>> {
    let last = match sort.last() {
        Some(SortField::Field(name, _)) => name.as_str(),
        _ => "",
    };
    if last == tiebreak {
        return Ok(after);
    }
    if last == "_id" && tiebreak == "_shard_doc" {
        let mut after = after;
        after.push(Value::Number(Number::from(i64::MAX)));
        return Ok(after);
    }
    Err(StoreError::invalid_input(format!(
        "a slice that starts after a hit needs a sort that ends with `_id` (or `{tiebreak}`), \
         so that the hit's sort values are its own"
    ))
    .with_backend(BACKEND)
    .with_operation("search_pit_slices"))
}

impl OpenSearchIndex {
    /// Every hit of `request` from one point in time, split into `slices` read in parallel,
    /// each hit with its slice ([`SliceOf`]). Hits of one slice come in the
    /// request's order; slices interleave. A slice given a start reads only the hits after
    /// it, so a read stopped anywhere resumes where each slice stood: the hit's sort values
    /// make a start for another point in time as long as the sort's keys are unique (such as
    /// `_seq_no`, `_id`) and still order the same documents the same way.
    ///
    /// The slices are the server's (`slice` under a point in time: OpenSearch ≥ 2.4,
    /// Elasticsearch ≥ 7.15). A server that cannot slice a point in time reads a fresh read of
    /// several slices as one (each hit says so: slice 0 of 1), and refuses to resume one
    /// (`Unsupported`); one slice resumes anywhere: from a point in time, or, where the server
    /// has none (a scroll takes no start), from the index as it is, page by page with
    /// `search_after`. `from` must be 0 and `request.search_after` unset (starts are per
    /// slice).
    ///
    /// ```no_run
    /// # async fn demo(index: store_search::OpenSearchIndex) -> store_core::Result<()> {
    /// use futures::TryStreamExt;
    /// use store_core::search::{SearchQuery, SearchRequest, SortField};
    /// use store_search::PitSlices;
    /// let mut request = SearchRequest::new(SearchQuery::MatchAll).size(1_000);
    /// request.sort = vec![SortField::asc("_seq_no"), SortField::asc("_id")];
    /// let slices = PitSlices::new(2).by_field("_seq_no");
    /// let hits: Vec<(store_search::SliceOf, _)> = index
    ///     .search_pit_slices(request, std::time::Duration::from_secs(60), slices)
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn search_pit_slices(
        &self,
        request: SearchRequest,
        keep_alive: Duration,
        slices: PitSlices,
    ) -> BoxStream<'static, Result<(SliceOf, Hit)>> {
        if let Err(e) = check_request(&request, "search_pit_slices") {
            return stream::iter([Err(e)]).boxed();
        }
        let index = self.clone();
        let keep = keep_alive;
        let opened = async move {
            let (api, tiebreak) = resolve(&index).await?;
            let mut starts = slices.starts;
            let can_slice = match api {
                PointInTimeApi::Scroll => false,
                _ => index.cluster().await?.slices_point_in_time(),
            };
            if !can_slice && starts.len() > 1 {
                if starts.iter().any(Option::is_some) {
                    return Err(unsupported(
                        "this server cannot slice a point in time, and the read stood in \
                         several slices: restart it",
                    ));
                }
                // One slice, numbered 0 (of 1), reads everything.
                starts.truncate(1);
            }
            if api == PointInTimeApi::Scroll {
                let hits = match starts.swap_remove(0) {
                    // A scroll takes no start: the rest is read live, page by page.
                    Some(after) => live_pages(index, request, after),
                    None => index.search_pit(request, keep),
                };
                let only = SliceOf {
                    slice: 0,
                    slices: 1,
                };
                return Ok(hits.map(move |hit| hit.map(|hit| (only, hit))).boxed());
            }
            let count = starts.len();
            let mut states = Vec::with_capacity(count);
            for (id, start) in starts.into_iter().enumerate() {
                let mut state = State::new(&index, request.clone(), keep);
                if count > 1 {
                    state.slice = Some((id, count));
                    state.slice_field = slices.field.clone();
                }
                state.after = start
                    .map(|after| complete(after, &request.sort, tiebreak))
                    .transpose()?;
                if let Some(bytes) = slices.page_bytes {
                    state.page_bytes = Some(bytes);
                    state.page = request.size.min(super::FIRST_PAGE);
                }
                states.push(state);
            }
            let hits = shared_view_pages(&index, api, states).await?;
            let of = move |slice| SliceOf {
                slice,
                slices: count,
            };
            Ok(hits
                .map(move |hit| hit.map(|(slice, hit)| (of(slice), hit)))
                .boxed())
        };
        stream::once(opened)
            .flat_map(|opened| match opened {
                Err(e) => stream::iter([Err(e)]).boxed(),
                Ok(hits) => hits,
            })
            .boxed()
    }
}

/// The hits of `request` after `after`, read with `search_after` from the index as it is
/// (no consistent view), page after page until a short one.
fn live_pages(
    index: OpenSearchIndex,
    request: SearchRequest,
    after: Vec<Value>,
) -> BoxStream<'static, Result<Hit>> {
    stream::unfold(Some(after), move |after| {
        let (index, mut request) = (index.clone(), request.clone());
        async move {
            request.search_after = Some(after?);
            let page = match index.search(&request).await {
                Ok(page) => page,
                Err(e) => return Some((vec![Err(e)], None)),
            };
            let next = (page.hits.len() >= request.size)
                .then(|| page.hits.last().map(|hit| hit.sort.clone()))
                .flatten();
            Some((page.hits.into_iter().map(Ok).collect::<Vec<_>>(), next))
        }
    })
    .flat_map(stream::iter)
    .boxed()
}

/// The refusal of a sliced read this server cannot do.
fn unsupported(why: &'static str) -> StoreError {
    StoreError::unsupported(why)
        .with_backend(BACKEND)
        .with_operation("search_pit_slices")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_is_completed_with_the_highest_shard_doc_or_refused_without_one() {
        let by_seq = [SortField::asc("_seq_no"), SortField::asc("_id")];
        let after = vec![Value::from(41), Value::from("a")];
        assert_eq!(complete(after.clone(), &by_seq, "_id").unwrap(), after);
        let completed = complete(after.clone(), &by_seq, "_shard_doc").unwrap();
        assert_eq!(completed.len(), 3);
        assert_eq!(completed[2], Value::Number(Number::from(i64::MAX)));
        let by_title = [SortField::asc("title")];
        for tiebreak in ["_id", "_shard_doc"] {
            let err = complete(vec![Value::from("t")], &by_title, tiebreak).unwrap_err();
            assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
            assert!(
                err.message().contains("ends with `_id`"),
                "{}",
                err.message()
            );
        }
        let by_shard_doc = [SortField::asc("title"), SortField::asc("_shard_doc")];
        let start = vec![Value::from("t"), Value::from(3)];
        assert_eq!(
            complete(start.clone(), &by_shard_doc, "_shard_doc").unwrap(),
            start
        );
    }

    #[test]
    fn pages_grow_eightfold_while_small_and_shrink_to_the_bytes_of_large_hits() {
        use super::super::next_page_size;
        const MIB: usize = 1 << 20;
        // Hits of 500 bytes: 1, 8, 64, ... up to the request's size.
        assert_eq!(next_page_size(8 * MIB, 1, 500, 5_000), 8);
        assert_eq!(next_page_size(8 * MIB, 64, 64 * 500, 5_000), 512);
        assert_eq!(next_page_size(8 * MIB, 4_096, 4_096 * 500, 5_000), 5_000);
        // Hits of a megabyte: eight a page, never none.
        assert_eq!(next_page_size(8 * MIB, 16, 16 * MIB, 5_000), 8);
        assert_eq!(next_page_size(8 * MIB, 8, 8 * 100 * MIB, 5_000), 1);
        assert_eq!(next_page_size(8 * MIB, 0, 0, 5_000), 1);
    }

    #[test]
    fn slices_are_at_least_one_and_starts_past_the_last_are_ignored() {
        assert_eq!(PitSlices::new(0).len(), 1);
        let slices = PitSlices::new(2).start_after(5, vec![Value::from(1)]);
        assert_eq!(slices, PitSlices::new(2));
        let resumed = PitSlices::from_starts(vec![None, Some(vec![Value::from(4)])]);
        assert_eq!(
            resumed,
            PitSlices::new(2).start_after(1, vec![Value::from(4)])
        );
        assert_eq!(PitSlices::from_starts(Vec::new()).len(), 1);
    }
}
