//! The bulk helper against the real node: volume, per-item failures, injected throttling.

use std::time::Duration;

use futures::StreamExt;
use integration_tests::fault_proxy::{FaultProxy, HttpFault};
use store_core::search::{BulkOp, FieldType, IndexSpec, SearchQuery as Q};
use store_core::{Document, ErrorKind, RetryPolicy, SearchIndex};
use store_search::{BulkOptions, OpenSearchIndex};

use super::support::{fresh, url};

fn doc(n: usize) -> Document {
    Document::new()
        .with("n", n as i64)
        .with("title", format!("document number {n}"))
        .with("tag", format!("t{}", n % 10))
}

/// 100,000 documents stream in (never all in memory) and all arrive: count and samples.
#[tokio::test]
async fn bulk_of_100k_docs_all_arrive() {
    let index = fresh("bulk100k").await;
    index
        .create(
            &IndexSpec::new()
                .shards(1)
                .replicas(0)
                .field("n", FieldType::Long),
        )
        .await
        .unwrap();
    let ops = futures::stream::iter(0..100_000usize).map(|n| BulkOp::Index {
        id: format!("d{n}"),
        doc: doc(n),
    });
    let options = BulkOptions::default();
    let report = index
        .bulk_load_mode(|| index.bulk_stream(ops, &options))
        .await
        .unwrap();
    assert!(
        report.is_complete(),
        "{:?}",
        &report.failed[..report.failed.len().min(5)]
    );
    assert_eq!(report.succeeded, 100_000);
    assert_eq!(index.count(&Q::MatchAll).await.unwrap(), 100_000);
    for n in [0usize, 1, 999, 1_000, 54_321, 99_999] {
        let stored = index.get(&format!("d{n}")).await.unwrap().expect("sample");
        assert_eq!(stored.source, doc(n));
    }
    assert_eq!(index.count(&Q::range("n").gte(99_990)).await.unwrap(), 10);
    index.drop_index().await.unwrap();
}

/// Documents that break the mapping are reported, exactly those, with position, id, 400 and
/// the server's reason; the rest land.
#[tokio::test]
async fn bulk_reports_exactly_the_mapping_breakers() {
    let index = fresh("bulkbad").await;
    index
        .create(
            &IndexSpec::new()
                .shards(1)
                .replicas(0)
                .field("n", FieldType::Long),
        )
        .await
        .unwrap();
    let bad: Vec<usize> = vec![3, 250, 251, 1_499, 2_999];
    let ops: Vec<BulkOp> = (0..3_000)
        .map(|n| {
            let doc = if bad.contains(&n) {
                Document::new().with("n", "not a number")
            } else {
                doc(n)
            };
            BulkOp::Index {
                id: format!("d{n}"),
                doc,
            }
        })
        .collect();
    let options = BulkOptions::default()
        .with_max_docs(500)
        .with_concurrency(3)
        .with_refresh(true);
    let report = index
        .bulk_stream(futures::stream::iter(ops), &options)
        .await
        .unwrap();
    let failed: Vec<(usize, String, u16)> = report
        .failed
        .iter()
        .map(|f| (f.position, f.id.clone(), f.status))
        .collect();
    let expected: Vec<(usize, String, u16)> =
        bad.iter().map(|&n| (n, format!("d{n}"), 400)).collect();
    assert_eq!(failed, expected);
    for f in &report.failed {
        assert_eq!(f.error.kind(), ErrorKind::InvalidInput);
        assert!(
            f.error.to_string().contains("mapper_parsing_exception"),
            "{}",
            f.error
        );
    }
    assert_eq!(report.succeeded, 3_000 - bad.len());
    assert_eq!(index.count(&Q::MatchAll).await.unwrap(), 2_995);
    index.drop_index().await.unwrap();
}

/// With a third of the requests answered 429 by the fault proxy, every item lands exactly once
/// (create-only operations would fail with 409 on a second landing).
#[tokio::test]
async fn throttled_bulks_are_retried_and_land_once() {
    let direct = fresh("bulk429").await;
    direct
        .create(&IndexSpec::new().shards(1).replicas(0))
        .await
        .unwrap();
    let proxy = FaultProxy::http(&url().await).await.unwrap();
    let index = OpenSearchIndex::builder(direct.name().as_str())
        .url(proxy.url())
        .build()
        .unwrap();
    proxy.set_http_fault(Some(HttpFault::new(429, 0.34).body(
        "application/json",
        r#"{"error":{"type":"es_rejected_execution_exception","reason":"bulk queue full"},"status":429}"#,
    )));
    let ops = futures::stream::iter(0..5_000usize).map(|n| BulkOp::Create {
        id: format!("d{n}"),
        doc: doc(n),
    });
    let options = BulkOptions::default()
        .with_max_docs(250)
        .with_concurrency(4)
        .with_retry(
            RetryPolicy::default()
                .max_attempts(20)
                .base_delay(Duration::from_millis(10))
                .max_delay(Duration::from_millis(200)),
        );
    let report = index.bulk_stream(ops, &options).await.unwrap();
    let stats = proxy.stats();
    assert!(
        stats.injected > 0,
        "the proxy must have throttled something: {stats:?}"
    );
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(report.succeeded, 5_000);
    proxy.clear();
    direct.refresh().await.unwrap();
    assert_eq!(direct.count(&Q::MatchAll).await.unwrap(), 5_000);
    direct.drop_index().await.unwrap();
}

/// When throttling outlasts the retry policy, the items are reported as 429 `Throttled`.
#[tokio::test]
async fn throttling_beyond_the_policy_is_reported() {
    let proxy = FaultProxy::http(&url().await).await.unwrap();
    proxy.set_http_fault(Some(HttpFault::new(503, 1.0)));
    let index = OpenSearchIndex::builder("never-reached")
        .url(proxy.url())
        .build()
        .unwrap();
    let ops = futures::stream::iter(0..10usize).map(|n| BulkOp::Index {
        id: format!("d{n}"),
        doc: doc(n),
    });
    let options = BulkOptions::default().with_retry(
        RetryPolicy::default()
            .max_attempts(3)
            .base_delay(Duration::from_millis(5)),
    );
    let report = index.bulk_stream(ops, &options).await.unwrap();
    assert_eq!(report.succeeded, 0);
    assert_eq!(report.failed.len(), 10);
    assert!(
        report
            .failed
            .iter()
            .enumerate()
            .all(|(i, f)| f.position == i
                && f.status == 503
                && f.error.kind() == ErrorKind::Unavailable)
    );
    assert_eq!(proxy.stats().requests, 3, "three attempts, no more");
}

/// Chunks respect both limits: by count (ceil(n / max_docs) requests) and by bytes (no request
/// body over max_bytes, so more requests), and every document lands.
#[tokio::test]
async fn chunks_by_count_and_by_bytes() {
    let direct = fresh("bulkchunks").await;
    direct
        .create(&IndexSpec::new().shards(1).replicas(0))
        .await
        .unwrap();
    let proxy = FaultProxy::http(&url().await).await.unwrap();
    let index = OpenSearchIndex::builder(direct.name().as_str())
        .url(proxy.url())
        .build()
        .unwrap();
    let ops = || {
        futures::stream::iter(0..200usize).map(|n| BulkOp::Index {
            id: format!("d{n}"),
            doc: doc(n),
        })
    };
    let by_count = BulkOptions::default().with_max_docs(30).with_concurrency(2);
    let report = index.bulk_stream(ops(), &by_count).await.unwrap();
    assert_eq!(report.succeeded, 200);
    assert_eq!(proxy.stats().requests, 7, "ceil(200 / 30) requests");

    // Each operation is 70 to 78 bytes: 2,000-byte bodies hold 25 to 28 of them.
    let before = proxy.stats().requests;
    let by_bytes = BulkOptions::default()
        .with_max_bytes(2_000)
        .with_concurrency(2);
    let report = index.bulk_stream(ops(), &by_bytes).await.unwrap();
    assert_eq!(report.succeeded, 200);
    let requests = proxy.stats().requests - before;
    assert!(
        (8..=9).contains(&requests),
        "{requests} requests for 200 ops of 70 to 78 bytes in 2,000-byte chunks"
    );
    direct.refresh().await.unwrap();
    assert_eq!(direct.count(&Q::MatchAll).await.unwrap(), 200);
    direct.drop_index().await.unwrap();
}
