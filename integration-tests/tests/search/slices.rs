//! Reads in slices that resume: every match once, sliced by `_seq_no` where the server can
//! slice a point in time (else one slice), and a read stopped anywhere resumed from where each
//! slice stood — through the server's point in time and through a scroll.

use std::collections::HashSet;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use store_core::search::{BulkOp, Hit, IndexSpec, SearchQuery as Q, SearchRequest, SortField};
use store_core::{Document, SearchIndex, Value};
use store_search::{BulkOptions, OpenSearchIndex, PitSlices, PointInTimeApi, SliceOf};

use super::support::fresh;

const DOCS: usize = 3_000;
const SLICES: usize = 3;

/// By `_seq_no`, then `_id` (unique on an index of several shards), as `stores` reads.
fn by_seq_no() -> SearchRequest {
    let mut request = SearchRequest::new(Q::MatchAll).size(500);
    request.sort = vec![SortField::asc("_seq_no"), SortField::asc("_id")];
    request
}

/// Pages sized to about 20 kB of reply: 16 hits first, then more as the hits turn out small.
fn slices() -> PitSlices {
    PitSlices::new(SLICES)
        .by_field("_seq_no")
        .page_bytes(20_000)
}

#[tokio::test]
async fn slices_by_seq_no_read_each_match_once_and_resume_each_from_its_last_hit() {
    let index = fresh("slices").await;
    index
        .create(&IndexSpec::new().shards(2).replicas(0))
        .await
        .unwrap();
    let ops = futures::stream::iter(0..DOCS).map(|n| BulkOp::Index {
        id: format!("d{n}"),
        doc: Document::new().with("n", n as i64),
    });
    let report = index
        .bulk_stream(ops, &BulkOptions::default().with_refresh(true))
        .await
        .unwrap();
    assert!(report.is_complete());
    let cluster = index.cluster().await.unwrap();
    let sliced = cluster.slices_point_in_time();
    reads_and_resumes(&index, cluster.point_in_time_api(), sliced).await;
    let scrolling = index.clone().with_point_in_time_api(PointInTimeApi::Scroll);
    reads_and_resumes(&scrolling, PointInTimeApi::Scroll, false).await;
    index.drop_index().await.unwrap();
}

async fn reads_and_resumes(index: &OpenSearchIndex, api: PointInTimeApi, sliced: bool) {
    let all: Vec<(SliceOf, Hit)> = index
        .search_pit_slices(by_seq_no(), Duration::from_secs(60), slices())
        .try_collect()
        .await
        .unwrap();
    let ids: HashSet<&str> = all.iter().map(|(_, hit)| hit.id.as_str()).collect();
    assert_eq!((all.len(), ids.len()), (DOCS, DOCS), "{api:?}: each once");
    let count = if sliced { SLICES } else { 1 };
    assert!(
        all.iter().all(|(of, _)| of.slices == count),
        "{api:?}: slices said"
    );
    let used: HashSet<usize> = all.iter().map(|(of, _)| of.slice).collect();
    let expected: HashSet<usize> = if sliced {
        (0..SLICES).collect()
    } else {
        [0].into()
    };
    assert_eq!(used, expected, "{api:?}: the slices read");
    for slice in &used {
        let sorts: Vec<(i64, &str)> = all
            .iter()
            .filter(|(of, _)| of.slice == *slice)
            .map(|(_, hit)| (hit.sort[0].as_i64().unwrap(), hit.id.as_str()))
            .collect();
        assert!(
            sorts.windows(2).all(|w| w[0] < w[1]),
            "{api:?}: slice {slice} in order"
        );
    }

    // Stopped after a third, then resumed from each slice's last hit: the rest, once each.
    let mut first = index.search_pit_slices(by_seq_no(), Duration::from_secs(60), slices());
    let mut read: Vec<String> = Vec::new();
    let mut last: Vec<Option<Vec<Value>>> = vec![None; SLICES];
    while read.len() < DOCS / 3 {
        let (of, hit) = first.next().await.unwrap().unwrap();
        last[of.slice] = Some(hit.sort.clone());
        read.push(hit.id);
    }
    drop(first);
    if !sliced {
        // Slices the server did not make cannot be resumed as slices…
        let err = index
            .search_pit_slices(
                by_seq_no(),
                Duration::from_secs(60),
                PitSlices::from_starts(last.clone()),
            )
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            store_core::ErrorKind::Unsupported,
            "{api:?}: {err}"
        );
        // …but the one slice the read was resumes anywhere.
        last.truncate(1);
    }
    let resumed = PitSlices::from_starts(last)
        .by_field("_seq_no")
        .page_bytes(20_000);
    let rest: Vec<(SliceOf, Hit)> = index
        .search_pit_slices(by_seq_no(), Duration::from_secs(60), resumed)
        .try_collect()
        .await
        .unwrap();
    read.extend(rest.into_iter().map(|(_, hit)| hit.id));
    let once: HashSet<&str> = read.iter().map(String::as_str).collect();
    assert_eq!(
        (read.len(), once),
        (DOCS, ids),
        "{api:?}: resumed, each once"
    );
}
