//! Iteration over every match past the 10,000 window: through the server's point in time and
//! through a scroll, on the same data.

use std::collections::HashSet;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use store_core::search::{
    BulkOp, FieldType, IndexOptions, IndexSpec, SearchQuery as Q, SearchRequest, SortField,
};
use store_core::{Document, SearchIndex};
use store_search::{BulkOptions, OpenSearchIndex, PointInTimeApi};

use super::support::{client, fresh};

/// 25,000 matches (of 30,000 documents, on 2 shards, with duplicate sort values) come back
/// each exactly once, in order, through the API the server implies (its point in time) and
/// through a scroll, whole and in three slices; every view is closed afterwards, and when a
/// stream is dropped.
#[tokio::test]
async fn pit_iterates_25000_matches_once() {
    let index = fresh("pit").await;
    index
        .create(
            &IndexSpec::new()
                .shards(2)
                .replicas(0)
                .field("n", FieldType::Long)
                .field("bucket", FieldType::Long),
        )
        .await
        .unwrap();
    let ops = futures::stream::iter(0..30_000usize).map(|n| BulkOp::Index {
        id: format!("d{n}"),
        doc: Document::new()
            .with("n", n as i64)
            .with("bucket", (n % 7) as i64),
    });
    let report = index
        .bulk_stream(ops, &BulkOptions::default().with_refresh(true))
        .await
        .unwrap();
    assert!(report.is_complete());
    let detected = index.cluster().await.unwrap().point_in_time_api();
    assert_ne!(
        detected,
        PointInTimeApi::Scroll,
        "both harness servers have a point in time"
    );
    iterates_every_match_once(&index, detected).await;
    let scrolling = index.clone().with_point_in_time_api(PointInTimeApi::Scroll);
    iterates_every_match_once(&scrolling, PointInTimeApi::Scroll).await;
    index.drop_index().await.unwrap();
}

/// Pages are requested ahead of their reader, after the sort values read from the previous
/// page's text. Documents that hold `sort` fields of their own, and strings that look like a
/// hit's sort values, must not mislead it: 203 documents in pages of 10, sorted by `_seq_no`
/// as a backup reads them, come back once each, in order, equal to what was written.
#[tokio::test]
async fn pit_pages_read_ahead_come_back_exact_and_in_order() {
    let index = fresh("pit-ahead").await;
    index
        .create(&IndexSpec::new().shards(1).replicas(0))
        .await
        .unwrap();
    let doc = |n: usize| {
        Document::new()
            .with("n", n as i64)
            .with("sort", vec![store_core::Value::from(1_000 - n as i64)])
            .with("text", format!("\"sort\":[{n},\"d{n}\"]"))
            .with(
                "nested",
                Document::new().with("sort", vec![store_core::Value::from("zzz")]),
            )
    };
    for n in 0..203usize {
        // One at a time, so that `_seq_no` follows `n`.
        index
            .index(&format!("d{n}"), doc(n), IndexOptions::default())
            .await
            .unwrap();
    }
    index.refresh().await.unwrap();
    let request = SearchRequest::new(Q::MatchAll)
        .sort(SortField::asc("_seq_no"))
        .size(10);
    let hits: Vec<_> = index
        .search_pit(request, Duration::from_secs(60))
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = hits.iter().map(|h| h.id.clone()).collect();
    let expected: Vec<_> = (0..203).map(|n| format!("d{n}")).collect();
    assert_eq!(ids, expected, "every page once, in `_seq_no` order");
    for (n, hit) in hits.iter().enumerate() {
        assert_eq!(hit.source, doc(n), "{}", hit.id);
    }
    index.drop_index().await.unwrap();
}

/// A new index with no mapping yet (nothing was ever written) reads as empty, not as an error:
/// the metadata fields a read sorts by are declared for the sort.
#[tokio::test]
async fn pit_reads_an_index_with_no_mapping_as_empty() {
    let index = fresh("pit-unmapped").await;
    let created = client()
        .await
        .indices()
        .create(store_search::sdk::indices::IndicesCreateParts::Index(
            index.name().as_str(),
        ))
        .send()
        .await
        .unwrap();
    assert!(created.status_code().is_success());
    for request in [
        SearchRequest::new(Q::MatchAll).sort(SortField::asc("_seq_no")),
        SearchRequest::new(Q::MatchAll),
    ] {
        let hits: Vec<_> = index
            .search_pit(request.size(100), Duration::from_secs(60))
            .try_collect()
            .await
            .unwrap();
        assert!(hits.is_empty());
    }
    index.drop_index().await.unwrap();
}

async fn iterates_every_match_once(index: &OpenSearchIndex, api: PointInTimeApi) {
    let request = SearchRequest::new(Q::range("n").lt(25_000))
        .sort(SortField::asc("bucket"))
        .size(1_000);
    let hits: Vec<_> = index
        .search_pit(request, Duration::from_secs(60))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(hits.len(), 25_000, "{api:?}");
    let ids: HashSet<_> = hits.iter().map(|h| h.id.clone()).collect();
    assert_eq!(ids.len(), 25_000, "{api:?}: every id exactly once");
    assert!(
        hits.windows(2)
            .all(|w| w[0].sort[0].as_i64() <= w[1].sort[0].as_i64()),
        "{api:?}: sorted by bucket"
    );
    assert!(hits.iter().all(|h| h.sort.len() == 1));

    // The same matches read by three slices at once: each exactly once, all of them.
    let sliced: Vec<_> = index
        .search_pit_sliced(
            SearchRequest::new(Q::range("n").lt(25_000)).size(1_000),
            Duration::from_secs(60),
            3,
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(sliced.len(), 25_000, "{api:?}: sliced");
    let sliced_ids: HashSet<_> = sliced.iter().map(|h| h.id.clone()).collect();
    assert_eq!(
        sliced_ids, ids,
        "{api:?}: the slices cover every match once"
    );

    // Without a sort: by score, still each once.
    let all: Vec<_> = index
        .search_pit(
            SearchRequest::new(Q::MatchAll).size(5_000),
            Duration::from_secs(60),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|h| &h.id).collect::<HashSet<_>>().len(),
        30_000,
        "{api:?}"
    );

    // Dropped early: the view is closed in the background.
    let mut partial = index.search_pit(
        SearchRequest::new(Q::MatchAll).size(10),
        Duration::from_secs(60),
    );
    assert!(partial.next().await.unwrap().is_ok());
    drop(partial);
    let open_views = match api {
        PointInTimeApi::Scroll => "scroll_current",
        _ => "point_in_time_current",
    };
    let mut open = u64::MAX;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stats = index
            .client()
            .transport()
            .send(
                store_search::sdk::http::Method::Get,
                &format!("/{}/_stats/search", index.name()),
                Default::default(),
                None::<&()>,
                None::<&str>,
                None,
            )
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        open = stats["_all"]["total"]["search"][open_views]
            .as_u64()
            .unwrap_or(json!(0).as_u64().unwrap());
        if open == 0 {
            break;
        }
    }
    assert_eq!(open, 0, "every {open_views} is closed");
}
