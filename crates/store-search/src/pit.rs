//! Iteration over every match with a point in time and `search_after`.

use std::collections::VecDeque;
use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};
use opensearch::http::Method;
use serde_json::json;
use store_core::search::{Hit, SearchRequest, SortField, SortOrder};
use store_core::{Result, StoreError, Value};

use crate::cluster::PointInTimeApi;
use crate::error::{BACKEND, ConflictMeaning};
use crate::http::{Body, RawReply, send, send_raw};
use crate::index::OpenSearchIndex;
use crate::json::{lookup, parse_search_reply, search_response};
use crate::query::{field_sort, query_dsl, sort_dsl};

mod ahead;
mod sliced;
mod slices;

pub use slices::{PitSlices, SliceOf};

use ahead::Ahead;

/// An open consistent view — a point in time, or a scroll where the server has none — closed by
/// [`close`](Self::close) or, failing that, on drop (in the background, when a Tokio runtime is
/// running).
struct View {
    index: OpenSearchIndex,
    api: PointInTimeApi,
    id: Option<String>,
}

impl View {
    /// Opens a point in time on the index. (A scroll is opened by its first page instead.)
    async fn open_pit(
        index: &OpenSearchIndex,
        api: PointInTimeApi,
        keep_alive: &str,
    ) -> Result<Self> {
        let (path, id_field) = match api {
            PointInTimeApi::OpenSearch => ("/_search/point_in_time", "pit_id"),
            PointInTimeApi::Elasticsearch => ("/_pit", "id"),
            PointInTimeApi::Scroll => {
                return Err(StoreError::internal("a scroll is opened by its first page")
                    .with_backend(BACKEND));
            }
        };
        let target = index.target("");
        let value = index
            .send(
                Method::Post,
                &index.path(path),
                &[("keep_alive", keep_alive.to_owned())],
                None,
                "open_pit",
                &target,
            )
            .await?
            .check(ConflictMeaning::Auto, "open_pit", &target)?;
        let id = lookup(&value, &[id_field])
            .and_then(Value::as_str)
            .ok_or_else(|| {
                StoreError::internal(format!("no {id_field} in the response")).with_backend(BACKEND)
            })?
            .to_owned();
        Ok(Self {
            index: index.clone(),
            api,
            id: Some(id),
        })
    }

    async fn close(mut self) -> Result<()> {
        match self.id.take() {
            Some(id) => close(&self.index, self.api, id).await,
            None => Ok(()),
        }
    }
}

/// Closes a point in time or clears a scroll.
async fn close(index: &OpenSearchIndex, api: PointInTimeApi, id: String) -> Result<()> {
    let (path, body, operation) = match api {
        PointInTimeApi::OpenSearch => (
            "/_search/point_in_time",
            json!({ "pit_id": [id] }),
            "close_pit",
        ),
        PointInTimeApi::Elasticsearch => ("/_pit", json!({ "id": id }), "close_pit"),
        PointInTimeApi::Scroll => (
            "/_search/scroll",
            json!({ "scroll_id": [id] }),
            "clear_scroll",
        ),
    };
    let target = index.target("");
    send(
        index.client(),
        Method::Delete,
        path,
        &[],
        Some(Body::json(&body)),
        operation,
        &target,
    )
    .await?
    .check(ConflictMeaning::Auto, operation, &target)
    .map(drop)
}

impl Drop for View {
    fn drop(&mut self) {
        if let Some(id) = self.id.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let index = self.index.clone();
            let api = self.api;
            runtime.spawn(async move {
                if let Err(e) = close(&index, api, id).await {
                    tracing::warn!(error = %e, "closing a point in time or scroll failed");
                }
            });
        }
    }
}

struct State {
    index: OpenSearchIndex,
    request: SearchRequest,
    keep_alive: String,
    /// The view this stream opened and closes (none for a slice of a shared point in time).
    view: Option<View>,
    /// A point in time opened for several slices, which its owner closes.
    shared_pit: Option<String>,
    /// This stream's slice, `(id, max)`, when the search is sliced.
    slice: Option<(usize, usize)>,
    /// The field the server slices by (its default, `_id`, when none).
    slice_field: Option<String>,
    /// About how many bytes of reply a page may hold: pages then start at [`FIRST_PAGE`] hits
    /// and are sized by the replies before them (up to `request.size`). `None`: every page
    /// asks for `request.size`.
    page_bytes: Option<usize>,
    /// The hits the next page asks for.
    page: usize,
    /// The hits the page being read asked for (fewer back: it is the last).
    asked: usize,
    after: Option<Vec<Value>>,
    /// The page after `after`, requested while the last one was parsed.
    ahead: Option<Ahead>,
    buffer: VecDeque<Hit>,
    finished: bool,
}

impl State {
    fn new(index: &OpenSearchIndex, request: SearchRequest, keep_alive: Duration) -> Self {
        let size = request.size;
        Self {
            index: index.clone(),
            request,
            keep_alive: format!("{}s", keep_alive.as_secs().max(1)),
            view: None,
            shared_pit: None,
            slice: None,
            slice_field: None,
            page_bytes: None,
            page: size,
            asked: size,
            after: None,
            ahead: None,
            buffer: VecDeque::new(),
            finished: false,
        }
    }

    /// Adds this stream's `slice` to a search body.
    fn slice_body(&self, body: &mut serde_json::Value) {
        if let Some((id, max)) = self.slice {
            body["slice"] = json!({"id": id, "max": max});
            if let Some(field) = &self.slice_field {
                body["slice"]["field"] = json!(field);
            }
        }
    }
}

/// Refuses an answer some shards did not give (`_shards.failed` above 0 in a successful
/// reply): its hits are not all there, and a short page would end a read early.
pub(crate) fn refuse_partial(value: &Value, operation: &'static str) -> Result<()> {
    let failed = crate::json::lookup_u64(value, &["_shards", "failed"]).unwrap_or(0);
    if failed == 0 {
        return Ok(());
    }
    let reason = lookup(value, &["_shards", "failures"])
        .and_then(|failures| match failures {
            Value::List(list) => list.first(),
            _ => None,
        })
        .and_then(|first| lookup(first, &["reason", "reason"]))
        .and_then(Value::as_str)
        .unwrap_or("no reason given");
    Err(StoreError::unavailable(format!(
        "{failed} shard(s) failed to answer ({reason}); the answer is not whole, so none of it \
         was taken"
    ))
    .with_backend(BACKEND)
    .with_operation(operation))
}

/// The hits a page of about `budget` bytes of reply holds, after a page that asked for
/// `asked` hits came back in `reply_bytes`: at most [`PAGE_GROWTH`] times the last page and at most
/// `max`.
fn next_page_size(budget: usize, asked: usize, reply_bytes: usize, max: usize) -> usize {
    let each = (reply_bytes / asked.max(1)).max(1);
    (budget / each)
        .min(asked.saturating_mul(PAGE_GROWTH))
        .min(max)
        .max(1)
}

/// The hits the first page of a read sized by bytes asks for: the hits' size is not known yet
/// (16 hits of 10 MB are already 160 MB); the pages after it grow [`PAGE_GROWTH`]-fold while
/// the hits are small, so small hits reach pages of 5,000 by the sixth page.
const FIRST_PAGE: usize = 1;

/// How much larger a page sized by bytes may be than the one before it.
const PAGE_GROWTH: usize = 8;

/// `InvalidInput` unless `request` can be read to its end: from 0, no search_after, pages of
/// at least one hit.
fn check_request(request: &SearchRequest, operation: &'static str) -> Result<()> {
    if request.from != 0 || request.search_after.is_some() || request.size == 0 {
        return Err(StoreError::invalid_input(format!(
            "{operation} needs from = 0, no search_after and a page size above 0"
        ))
        .with_backend(BACKEND)
        .with_operation(operation));
    }
    Ok(())
}

/// The hits of one stream's pages, its own view closed at the end.
fn pages(state: State) -> BoxStream<'static, Result<Hit>> {
    futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(hit) = state.buffer.pop_front() {
                return Some((Ok(hit), state));
            }
            if state.finished {
                if let Some(view) = state.view.take()
                    && let Err(e) = view.close().await
                {
                    return Some((Err(e), state));
                }
                return None;
            }
            if let Err(e) = next_page(&mut state).await {
                state.finished = true;
                state.buffer.clear();
                state.ahead = None;
                return Some((Err(e), state));
            }
        }
    })
    .boxed()
}

/// The pages of `states` read at once, each hit with its state's number: under one point in
/// time opened for all of them and closed after the last page (or, dropped early, on drop);
/// under `PointInTimeApi::Scroll`, each state's own scroll.
async fn shared_view_pages(
    index: &OpenSearchIndex,
    api: PointInTimeApi,
    mut states: Vec<State>,
) -> Result<BoxStream<'static, Result<(usize, Hit)>>> {
    let shared = match (api, states.first()) {
        (PointInTimeApi::Scroll, _) | (_, None) => None,
        (api, Some(first)) => {
            let view = View::open_pit(index, api, &first.keep_alive).await?;
            for state in &mut states {
                state.shared_pit = view.id.clone();
            }
            Some(view)
        }
    };
    let close = futures::stream::once(async move {
        match shared {
            Some(view) => view.close().await.err(),
            None => None,
        }
    })
    .filter_map(|error| async move { error.map(Err) });
    let slices = states
        .into_iter()
        .enumerate()
        .map(|(id, state)| pages(state).map(move |hit| hit.map(|hit| (id, hit))));
    Ok(futures::stream::select_all(slices).chain(close).boxed())
}

impl OpenSearchIndex {
    /// Every hit of `request`, however many, from one consistent view of the index: pages of
    /// `request.size`, in the request's order (by score when it has no sort). Hits' `sort`
    /// values are those of the request's own sort keys. `from` must be 0.
    ///
    /// The view is the server's point in time where it has one (its API picked by
    /// [`cluster`](Self::cluster): OpenSearch ≥ 2.4, Elasticsearch ≥ 7.10 with x-pack), paged
    /// with `search_after` on the sort completed by a unique tiebreak (`_shard_doc` where the
    /// server has it, else `_id`); elsewhere (OpenSearch 1.x, Elasticsearch's OSS build or
    /// before 7.10) it is a scroll, which reads the same kind of snapshot
    /// ([`with_point_in_time_api`](Self::with_point_in_time_api) chooses instead). Either is
    /// closed when the stream ends, and on drop (in the background) if the stream is dropped
    /// early.
    ///
    /// ```no_run
    /// # async fn demo(index: store_search::OpenSearchIndex) -> store_core::Result<()> {
    /// use futures::TryStreamExt;
    /// use store_core::search::{SearchQuery, SearchRequest};
    /// let all: Vec<_> = index
    ///     .search_pit(SearchRequest::new(SearchQuery::MatchAll).size(1_000), std::time::Duration::from_secs(60))
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn search_pit(
        &self,
        request: SearchRequest,
        keep_alive: Duration,
    ) -> BoxStream<'static, Result<Hit>> {
        if let Err(e) = check_request(&request, "search_pit") {
            return futures::stream::iter([Err(e)]).boxed();
        }
        pages(State::new(self, request, keep_alive))
    }
}

/// The view API to use on `index` (forced, or the server's) and the tiebreak field with it.
async fn resolve(index: &OpenSearchIndex) -> Result<(PointInTimeApi, &'static str)> {
    Ok(match index.forced_point_in_time_api() {
        Some(PointInTimeApi::Scroll) => (PointInTimeApi::Scroll, "_id"),
        forced => {
            let cluster = index.cluster().await?;
            let api = forced.unwrap_or_else(|| cluster.point_in_time_api());
            (api, cluster.tiebreak_field())
        }
    })
}

async fn next_page(state: &mut State) -> Result<()> {
    let (api, tiebreak) = resolve(&state.index).await?;
    let (value, hits) = match api {
        PointInTimeApi::Scroll => (scroll_page(state).await?, None),
        PointInTimeApi::OpenSearch | PointInTimeApi::Elasticsearch => {
            pit_page(state, api, tiebreak).await?
        }
    };
    refuse_partial(&value, "search_pit")?;
    let response = search_response(value, hits)?;
    // With search_after a short page is the last; a scroll ends on an empty page.
    let last_page = match api {
        PointInTimeApi::Scroll => response.hits.is_empty(),
        _ => response.hits.len() < state.asked,
    };
    if last_page {
        state.finished = true;
        // Whatever was read ahead of the last page is empty: stop it.
        state.ahead = None;
    }
    if let Some(last) = response.hits.last() {
        state.after = Some(last.sort.clone());
    } else {
        state.finished = true;
    }
    let own = state.request.sort.len();
    for mut hit in response.hits {
        hit.sort.truncate(own);
        state.buffer.push_back(hit);
    }
    Ok(())
}

/// The next page under a point in time, after the last hit's sort values; the page after it
/// is requested at once, read ahead while this one is parsed (see [`ahead`]). A successful
/// page comes with its hits read apart from the rest of the reply.
async fn pit_page(
    state: &mut State,
    api: PointInTimeApi,
    tiebreak: &str,
) -> Result<(Value, Option<Vec<Hit>>)> {
    if state.view.is_none() && state.shared_pit.is_none() {
        state.view = Some(View::open_pit(&state.index, api, &state.keep_alive).await?);
    }
    let pit_id = state
        .view
        .as_ref()
        .and_then(|v| v.id.clone())
        .or_else(|| state.shared_pit.clone())
        .unwrap_or_default();
    let target = state.index.target("");
    // A page read ahead that does not follow is dropped (aborted) before the page is asked for.
    let ahead = state
        .ahead
        .take()
        .filter(|a| a.follows(state.after.as_deref(), &pit_id));
    let reply = match ahead {
        Some(ahead) => {
            state.asked = ahead.size();
            ahead.reply().await?
        }
        None => {
            state.asked = state.page;
            let body = pit_body(state, tiebreak, &pit_id, state.after.as_deref());
            search_page(state.index.clone(), body, target.clone()).await?
        }
    };
    if let Some(budget) = state.page_bytes {
        state.page = next_page_size(budget, state.asked, reply.raw.len(), state.request.size);
    }
    if reply.is_success()
        && let Some((next_id, last)) = ahead::peek(&reply.raw)
    {
        let next_id = next_id.unwrap_or_else(|| pit_id.clone());
        let body = pit_body(state, tiebreak, &next_id, Some(&last));
        let task = tokio::spawn(search_page(state.index.clone(), body, target.clone()));
        state.ahead = Some(Ahead::new(last, next_id, task, state.page));
    }
    let (value, hits) = if reply.is_success() {
        let (value, hits) = parse_search_reply(&reply.raw).map_err(|e| {
            e.with_backend(BACKEND)
                .with_operation("search_pit")
                .with_target(target.clone())
        })?;
        (value, Some(hits))
    } else {
        let failed = reply.parse(Method::Post, "search_pit", &target)?;
        (
            failed.check(ConflictMeaning::Auto, "search_pit", &target)?,
            None,
        )
    };
    // The server may hand out a new id with each page; the newest is the one to use and close.
    if let Some(Value::String(new_id)) = lookup(&value, &["pit_id"]) {
        match (state.view.as_mut(), state.shared_pit.as_mut()) {
            (Some(view), _) => view.id = Some(new_id.clone()),
            (None, Some(shared)) => *shared = new_id.clone(),
            (None, None) => {}
        }
    }
    Ok((value, hits))
}

/// Sends one page's search under a point in time, its response left unparsed.
async fn search_page(
    index: OpenSearchIndex,
    body: serde_json::Value,
    target: String,
) -> Result<RawReply> {
    send_raw(
        index.client(),
        Method::Post,
        "/_search",
        &[],
        Some(Body::json(&body)),
        "search_pit",
        &target,
    )
    .await
}

/// The body of a page's search under the point in time `pit_id`, after `after`.
fn pit_body(
    state: &State,
    tiebreak: &str,
    pit_id: &str,
    after: Option<&[Value]>,
) -> serde_json::Value {
    let mut sort = state.request.sort.clone();
    if sort.is_empty() {
        sort.push(SortField::Score(SortOrder::Desc));
    }
    // A sort that already ends with the tiebreak field needs it no second time (sorting by
    // `_id` twice cost OpenSearch 2.19 about 8% more server time on a read by `_seq_no`, `_id`).
    let broken_ties = matches!(sort.last(), Some(SortField::Field(name, _)) if name == tiebreak);
    let mut sort_json = sort_dsl(&sort);
    if let Some(list) = sort_json.as_array_mut()
        && !broken_ties
    {
        list.push(field_sort(tiebreak, SortOrder::Asc));
    }
    let mut body = json!({
        "query": query_dsl(&state.request.query),
        "size": state.page,
        "sort": sort_json,
        "pit": {"id": pit_id, "keep_alive": state.keep_alive},
        "track_total_hits": false,
    });
    if let Some(after) = after {
        body["search_after"] = json!(after.iter().map(crate::json::to_serde).collect::<Vec<_>>());
    }
    state.slice_body(&mut body);
    body
}

/// The next page of a scroll: the search itself first, then `_search/scroll` with its id.
async fn scroll_page(state: &mut State) -> Result<Value> {
    let target = state.index.target("");
    let reply = match state.view.as_ref().and_then(|v| v.id.clone()) {
        None => {
            // No `track_total_hits: false` here: a scroll refuses it.
            let mut body = json!({
                "query": query_dsl(&state.request.query),
                "size": state.request.size,
            });
            if !state.request.sort.is_empty() {
                body["sort"] = sort_dsl(&state.request.sort);
            }
            state.slice_body(&mut body);
            state
                .index
                .send(
                    Method::Post,
                    &state.index.path("/_search"),
                    &[("scroll", state.keep_alive.clone())],
                    Some(Body::json(&body)),
                    "search_pit",
                    &target,
                )
                .await?
        }
        Some(id) => {
            let body = json!({"scroll": state.keep_alive, "scroll_id": id});
            send(
                state.index.client(),
                Method::Post,
                "/_search/scroll",
                &[],
                Some(Body::json(&body)),
                "search_pit",
                &target,
            )
            .await?
        }
    };
    let value = reply.check(ConflictMeaning::Auto, "search_pit", &target)?;
    if let Some(Value::String(id)) = lookup(&value, &["_scroll_id"]) {
        match state.view.as_mut() {
            Some(view) => view.id = Some(id.clone()),
            None => {
                state.view = Some(View {
                    index: state.index.clone(),
                    api: PointInTimeApi::Scroll,
                    id: Some(id.clone()),
                })
            }
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_some_shards_did_not_answer_is_refused() {
        let whole = crate::json::parse(br#"{"_shards":{"total":2,"failed":0},"hits":{}}"#);
        refuse_partial(&whole.unwrap(), "search").unwrap();
        let partial = crate::json::parse(
            br#"{"_shards":{"total":2,"failed":1,"failures":[{"shard":1,
                "reason":{"type":"circuit_breaking_exception","reason":"data too large"}}]},
                "hits":{"hits":[]}}"#,
        )
        .unwrap();
        let err = refuse_partial(&partial, "search").unwrap_err();
        assert_eq!(err.kind(), store_core::ErrorKind::Unavailable);
        assert!(
            err.message().contains("data too large"),
            "{}",
            err.message()
        );
    }
}
