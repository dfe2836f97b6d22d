//! A batch write cut in the middle by the network (moto keeps its state only in memory, so
//! the fault proxy stands in for a server restart): requests black-holed, then every open
//! connection reset. The caller resends what the report says failed; the table ends with
//! every item exactly once, intact.

use std::sync::Arc;
use std::time::Duration;

use integration_tests::fault_proxy::FaultProxy;
use integration_tests::services::{Service, endpoint};
use store_core::document::{BatchWriteOptions, WriteOp};
use store_core::{Document, DocumentStore, KeySchema, KeyType, RetryPolicy, Value};

use crate::support::{TempTable, scan_all};

const ITEMS: i64 = 3_000;

fn item(i: i64) -> Document {
    Document::new()
        .with("pk", format!("p{}", i % 16))
        .with("sk", i)
        .with("payload", format!("{i:0>200}"))
}

/// Waits until `proxy` has forwarded `requests`, then black-holes it for `hole`, then resets
/// every connection it holds and lets traffic through again.
async fn cut(proxy: Arc<FaultProxy>, requests: u64, hole: Duration) {
    while proxy.stats().requests < requests {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    proxy.set_blackhole(true);
    tokio::time::sleep(hole).await;
    proxy.reset_connections();
    proxy.set_blackhole(false);
}

#[tokio::test]
async fn a_batch_cut_by_a_black_hole_and_resets_lands_every_item_exactly_once() {
    let schema = KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number);
    let table = TempTable::new("midbatch", schema).await;
    let proxy = Arc::new(
        FaultProxy::http(&endpoint(Service::DynamoDb).await)
            .await
            .expect("proxy"),
    );
    let store = table
        .builder_through(&proxy)
        .operation_timeout(Duration::from_millis(800))
        .batch_retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(20))
                .max_delay(Duration::from_millis(200)),
        )
        .build()
        .await
        .expect("store through the proxy");
    let docs: Vec<Document> = (0..ITEMS).map(item).collect();
    let options = BatchWriteOptions {
        concurrency: 4,
        deadline: Duration::from_secs(1),
    };

    let faults = tokio::spawn(cut(proxy.clone(), 30, Duration::from_millis(2_500)));
    let report = store
        .batch_write(
            docs.iter().cloned().map(WriteOp::Put).collect(),
            options.clone(),
        )
        .await
        .expect("the batch reports");
    faults.await.unwrap();
    assert!(
        !report.failed.is_empty(),
        "the cut was felt: {} written",
        report.written
    );
    assert_eq!(
        report.written + report.failed.len(),
        ITEMS as usize,
        "every write accounted for"
    );
    for (_, error) in &report.failed {
        assert!(error.is_retryable(), "a network cut is retryable: {error}");
    }
    let cut_off = report.failed.len();

    // The caller resends what failed (puts of whole items: a resend of one that did land
    // writes the same item again).
    let mut pending: Vec<WriteOp> = report.failed.into_iter().map(|(op, _)| op).collect();
    for _ in 0..5 {
        if pending.is_empty() {
            break;
        }
        let again = store.batch_write(pending, options.clone()).await.unwrap();
        pending = again.failed.into_iter().map(|(op, _)| op).collect();
    }
    assert!(pending.is_empty(), "{} items never landed", pending.len());

    // Behind the proxy's back: every item once, byte for byte.
    let mut all: Vec<Document> = scan_all(&table.store).await;
    assert_eq!(all.len(), ITEMS as usize, "no item lost or doubled");
    all.sort_by_key(|d| d.get("sk").and_then(Value::as_i64));
    assert_eq!(all, docs);
    println!(
        "batch of {ITEMS}: the cut failed {cut_off} writes; resent, the table holds {ITEMS} items, equal"
    );
}
