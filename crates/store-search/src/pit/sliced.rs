//! [`OpenSearchIndex::search_pit_sliced`]: every match, read by several slices at once from
//! one consistent view.

use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use store_core::search::{Hit, SearchRequest};
use store_core::{Result, StoreError};

use super::{State, check_request, resolve, shared_view_pages};
use crate::cluster::PointInTimeApi;
use crate::error::BACKEND;
use crate::index::OpenSearchIndex;

impl OpenSearchIndex {
    /// Every hit of `request`, as [`search_pit`](Self::search_pit) reads them, split into
    /// `slices` disjoint slices (the server's `slice` by document) read in parallel: for
    /// exports and copies where the server, not the client, is the bottleneck.
    ///
    /// All slices read one point in time (opened once, closed when the last slice ends or the
    /// stream is dropped); where the server has none, or cannot slice it (Elasticsearch before
    /// 7.15), each slice is its own sliced scroll. Hits
    /// of one slice come in the request's order; slices interleave, so the stream as a whole
    /// has no order. `slices` must be at least 1 (1 is [`search_pit`](Self::search_pit)); the
    /// server limits it to `index.max_slices_per_scroll` (1,024 by default).
    ///
    /// ```no_run
    /// # async fn demo(index: store_search::OpenSearchIndex) -> store_core::Result<()> {
    /// use futures::TryStreamExt;
    /// use store_core::search::{SearchQuery, SearchRequest};
    /// let request = SearchRequest::new(SearchQuery::MatchAll).size(1_000);
    /// let count = index
    ///     .search_pit_sliced(request, std::time::Duration::from_secs(60), 4)
    ///     .try_fold(0u64, |n, _hit| async move { Ok(n + 1) })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn search_pit_sliced(
        &self,
        request: SearchRequest,
        keep_alive: Duration,
        slices: usize,
    ) -> BoxStream<'static, Result<Hit>> {
        if let Err(e) = check_request(&request, "search_pit_sliced") {
            return stream::iter([Err(e)]).boxed();
        }
        match slices {
            0 => {
                return stream::iter([Err(StoreError::invalid_input(
                    "search_pit_sliced needs at least one slice",
                )
                .with_backend(BACKEND)
                .with_operation("search_pit_sliced"))])
                .boxed();
            }
            1 => return self.search_pit(request, keep_alive),
            _ => {}
        }
        let index = self.clone();
        let opened = async move {
            let (mut api, _) = resolve(&index).await?;
            let index = if api != PointInTimeApi::Scroll
                && !index.cluster().await?.slices_point_in_time()
            {
                api = PointInTimeApi::Scroll;
                index.with_point_in_time_api(PointInTimeApi::Scroll)
            } else {
                index
            };
            let states: Vec<State> = (0..slices)
                .map(|id| {
                    let mut state = State::new(&index, request.clone(), keep_alive);
                    state.slice = Some((id, slices));
                    state
                })
                .collect();
            let hits = shared_view_pages(&index, api, states).await?;
            Ok::<_, StoreError>(hits.map(|hit| hit.map(|(_, hit)| hit)))
        };
        stream::once(opened)
            .flat_map(|opened| match opened {
                Err(e) => stream::iter([Err(e)]).boxed(),
                Ok(hits) => hits.boxed(),
            })
            .boxed()
    }
}
