//! Iteration over every match with a point in time and `search_after`.

use std::collections::VecDeque;
use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};
use opensearch::http::Method;
use serde_json::json;
use store_core::search::{Hit, SearchRequest, SortField, SortOrder};
use store_core::{Result, StoreError, Value};

use crate::error::{BACKEND, ConflictMeaning};
use crate::http::{Body, send};
use crate::index::OpenSearchIndex;
use crate::json::{lookup, parse_search};
use crate::query::{query_dsl, sort_dsl};

/// An open point in time, closed by [`close`](Self::close) or, failing that, on drop (in the
/// background, when a Tokio runtime is running).
struct Pit {
    index: OpenSearchIndex,
    id: Option<String>,
}

impl Pit {
    async fn open(index: &OpenSearchIndex, keep_alive: &str) -> Result<Self> {
        let target = index.target("");
        let value = index
            .send(
                Method::Post,
                &index.path("/_search/point_in_time"),
                &[("keep_alive", keep_alive.to_owned())],
                None,
                "open_pit",
                &target,
            )
            .await?
            .check(ConflictMeaning::Auto, "open_pit", &target)?;
        let id = lookup(&value, &["pit_id"])
            .and_then(Value::as_str)
            .ok_or_else(|| StoreError::internal("no pit_id in the response").with_backend(BACKEND))?
            .to_owned();
        Ok(Self {
            index: index.clone(),
            id: Some(id),
        })
    }

    async fn close(mut self) -> Result<()> {
        match self.id.take() {
            Some(id) => close(&self.index, id).await,
            None => Ok(()),
        }
    }
}

async fn close(index: &OpenSearchIndex, id: String) -> Result<()> {
    let target = index.target("");
    send(
        index.client(),
        Method::Delete,
        "/_search/point_in_time",
        &[],
        Some(Body::json(&json!({ "pit_id": [id] }))),
        "close_pit",
        &target,
    )
    .await?
    .check(ConflictMeaning::Auto, "close_pit", &target)
    .map(drop)
}

impl Drop for Pit {
    fn drop(&mut self) {
        if let Some(id) = self.id.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let index = self.index.clone();
            runtime.spawn(async move {
                if let Err(e) = close(&index, id).await {
                    tracing::warn!(error = %e, "closing a point in time failed");
                }
            });
        }
    }
}

struct State {
    index: OpenSearchIndex,
    request: SearchRequest,
    keep_alive: String,
    pit: Option<Pit>,
    after: Option<Vec<Value>>,
    buffer: VecDeque<Hit>,
    finished: bool,
}

/// The tiebreak appended to the sort. OpenSearch 2.19 has no `_shard_doc` (it came to
/// Elasticsearch after the fork), so the unique `_id` breaks ties.
const TIEBREAK: &str = "_id";

impl OpenSearchIndex {
    /// Every hit of `request`, however many, from one consistent point in time: pages of
    /// `request.size` fetched with `search_after`, the sort completed with a unique tiebreak
    /// (`_id`; with no sort, by score then `_id`). The point in time is closed when the stream
    /// ends, and on drop if it is dropped early. Hits' `sort` values are those of the request's
    /// own sort keys. `from` must be 0.
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
        if request.from != 0 || request.search_after.is_some() || request.size == 0 {
            return futures::stream::iter([Err(StoreError::invalid_input(
                "search_pit needs from = 0, no search_after and a page size above 0",
            )
            .with_backend(BACKEND)
            .with_operation("search_pit"))])
            .boxed();
        }
        let state = State {
            index: self.clone(),
            request,
            keep_alive: format!("{}s", keep_alive.as_secs().max(1)),
            pit: None,
            after: None,
            buffer: VecDeque::new(),
            finished: false,
        };
        futures::stream::unfold(state, |mut state| async move {
            loop {
                if let Some(hit) = state.buffer.pop_front() {
                    return Some((Ok(hit), state));
                }
                if state.finished {
                    if let Some(pit) = state.pit.take()
                        && let Err(e) = pit.close().await
                    {
                        return Some((Err(e), state));
                    }
                    return None;
                }
                match next_page(&mut state).await {
                    Ok(()) => {}
                    Err(e) => {
                        state.finished = true;
                        state.buffer.clear();
                        return Some((Err(e), state));
                    }
                }
            }
        })
        .boxed()
    }
}

async fn next_page(state: &mut State) -> Result<()> {
    if state.pit.is_none() {
        state.pit = Some(Pit::open(&state.index, &state.keep_alive).await?);
    }
    let pit_id = state
        .pit
        .as_ref()
        .and_then(|p| p.id.clone())
        .unwrap_or_default();
    let mut sort = state.request.sort.clone();
    let own = sort.len();
    if sort.is_empty() {
        sort.push(SortField::Score(SortOrder::Desc));
    }
    let mut sort_json = sort_dsl(&sort);
    if let Some(list) = sort_json.as_array_mut() {
        list.push(json!({ TIEBREAK: {"order": "asc"} }));
    }
    let mut body = json!({
        "query": query_dsl(&state.request.query),
        "size": state.request.size,
        "sort": sort_json,
        "pit": {"id": pit_id, "keep_alive": state.keep_alive},
        "track_total_hits": false,
    });
    if let Some(after) = &state.after {
        body["search_after"] = json!(after.iter().map(crate::json::to_serde).collect::<Vec<_>>());
    }
    let target = state.index.target("");
    let reply = send(
        state.index.client(),
        Method::Post,
        "/_search",
        &[],
        Some(Body::json(&body)),
        "search_pit",
        &target,
    )
    .await?;
    let value = reply.check(ConflictMeaning::Auto, "search_pit", &target)?;
    if let (Some(Value::String(new_id)), Some(pit)) =
        (lookup(&value, &["pit_id"]), state.pit.as_mut())
    {
        pit.id = Some(new_id.clone());
    }
    let response = parse_search(&value)?;
    if response.hits.len() < state.request.size {
        state.finished = true;
    }
    if let Some(last) = response.hits.last() {
        state.after = Some(last.sort.clone());
    } else {
        state.finished = true;
    }
    for mut hit in response.hits {
        hit.sort.truncate(own);
        state.buffer.push_back(hit);
    }
    Ok(())
}
