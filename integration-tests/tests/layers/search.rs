//! OpenSearch: 100,000 documents indexed in bulk through the layers (`index` operations by id,
//! so a bulk repeated after it landed overwrites, never duplicates).

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint};
use store_core::search::{
    BulkOp, FieldType, IndexOptions, IndexSpec, OpType, SearchQuery, SearchRequest,
};
use store_core::{Document, ErrorKind, SearchIndex};
use store_layers::{FaultLayer, LayerExt, RetryLayer};
use store_search::OpenSearchIndex;

use super::support::{assert_exact, canonical, faults, layers, policy, report};

const DOCS: usize = 100_000;
/// Documents per `bulk` call (the adapter sends each call as one `_bulk` request of 1,000).
const PER_CALL: usize = 1_000;
const SEED: u64 = 0x005E_0011;

fn doc(n: usize) -> Document {
    Document::new()
        .with("n", n as i64)
        .with("title", format!("document number {n}"))
        .with("tag", format!("t{}", n % 10))
}

fn id(n: usize) -> String {
    format!("d{n:06}")
}

#[tokio::test]
async fn bulk_of_100k_docs_under_faults_is_exact() {
    let url = endpoint(Service::OpenSearch).await;
    let name = unique_name("layers");
    let direct = OpenSearchIndex::builder(&name)
        .url(&url)
        .build()
        .expect("index handle");
    direct
        .create(
            &IndexSpec::new()
                .shards(1)
                .replicas(0)
                .field("n", FieldType::Long),
        )
        .await
        .expect("create the index");
    let faults = faults(SEED);
    let index = OpenSearchIndex::builder(&name)
        .url(&url)
        .build()
        .expect("index handle")
        .layer(layers(RetryLayer::new(policy()), &faults));

    let started = Instant::now();
    let calls = DOCS.div_ceil(PER_CALL) as u64;
    let outcome = futures::stream::iter(0..calls as usize)
        .map(|c| {
            let index = &index;
            async move {
                let ops = (c * PER_CALL..((c + 1) * PER_CALL).min(DOCS))
                    .map(|n| BulkOp::Index {
                        id: id(n),
                        doc: doc(n),
                    })
                    .collect();
                let report = index.bulk(ops).await?;
                assert!(
                    report.is_complete(),
                    "{:?}",
                    &report.failed[..report.failed.len().min(3)]
                );
                Ok::<_, store_core::StoreError>(report.succeeded)
            }
        })
        .buffer_unordered(2)
        .try_collect::<Vec<usize>>()
        .await;
    let write_time = started.elapsed();
    let succeeded = outcome.expect("every bulk lands through the retries");
    report("opensearch", DOCS, calls, &faults);
    assert!(succeeded.iter().sum::<usize>() >= DOCS);

    let started = Instant::now();
    direct.refresh().await.expect("refresh");
    assert_eq!(
        direct.count(&SearchQuery::MatchAll).await.expect("count"),
        DOCS as u64,
        "the server's count"
    );
    let back: Vec<(String, String)> = direct
        .search_pit(
            SearchRequest::new(SearchQuery::MatchAll).size(10_000),
            Duration::from_secs(60),
        )
        .map_ok(|hit| (hit.id, canonical(&hit.source)))
        .try_collect()
        .await
        .expect("read back");
    assert_exact(
        "opensearch",
        (0..DOCS).map(|n| (id(n), canonical(&doc(n)))),
        back,
    );
    eprintln!(
        "layers opensearch: wrote in {write_time:?}, read back in {:?}",
        started.elapsed()
    );
    direct.drop_index().await.expect("drop the index");
}

/// Create-only index calls whose first run landed in OpenSearch but lost its answer are each
/// reported done with the stored version, not refused by the document that run wrote; a
/// create refused by another document stays refused.
#[tokio::test]
async fn create_only_index_calls_whose_answers_were_lost_are_done() {
    let url = endpoint(Service::OpenSearch).await;
    let name = unique_name("settle");
    let direct = OpenSearchIndex::builder(&name)
        .url(&url)
        .build()
        .expect("index handle");
    direct
        .create(&IndexSpec::new().shards(1).replicas(0))
        .await
        .expect("create the index");
    let faults = FaultLayer::seeded(SEED);
    let index = OpenSearchIndex::builder(&name)
        .url(&url)
        .build()
        .expect("index handle")
        .layer(layers(RetryLayer::new(policy()), &faults));
    let create = IndexOptions {
        op_type: OpType::Create,
        ..IndexOptions::default()
    };
    for n in 0..10 {
        faults.fail_next_after_success(1, ErrorKind::Unavailable);
        let version = index
            .index(&id(n), doc(n), create)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", id(n)));
        let stored = direct.get(&id(n)).await.expect("get").expect("stored");
        assert_eq!((stored.source, stored.version), (doc(n), version));
    }
    assert_eq!(faults.injected_after_success(), 10);

    faults.fail_next(1, ErrorKind::Unavailable);
    let err = index
        .index(&id(0), doc(99), create)
        .await
        .expect_err("another document is there");
    assert!(
        matches!(err.kind(), ErrorKind::AlreadyExists | ErrorKind::Conflict),
        "{err}"
    );
    let _ = direct.drop_index().await;
}
