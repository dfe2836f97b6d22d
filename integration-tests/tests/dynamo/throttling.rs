//! Throttling proven through the fault proxy: batch writes retried until every item lands
//! once, one retry loop whatever the SDK's setting, writes still throttled at the deadline
//! reported, at most 25 writes a call.

use std::collections::HashSet;
use std::time::Duration;

use integration_tests::fault_proxy::{FaultProxy, HttpFault};
use integration_tests::services::{Service, endpoint};
use store_core::document::{BatchWriteOptions, WriteOp};
use store_core::{DocKey, Document, DocumentStore, ErrorKind, RetryPolicy, Value};
use store_dynamo::DynamoStore;

use crate::support::{TempTable, item, many, pk_sk, scan_all, scan_count};

/// The DynamoDB throttling error the proxy answers with.
const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#;

/// A store on `table` through `proxy`, with the SDK's own retry off so that only the
/// adapter's batch retry is at work.
async fn store_through(proxy: &FaultProxy, table: &TempTable) -> DynamoStore {
    table
        .builder_through(proxy)
        .max_attempts(1)
        .batch_retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(50)),
        )
        .build()
        .await
        .expect("store through the proxy")
}

#[tokio::test]
async fn throttled_batch_writes_are_retried_until_every_item_lands_exactly_once() {
    let table = TempTable::new("throttle", pk_sk()).await;
    let proxy = FaultProxy::http(&endpoint(Service::DynamoDb).await)
        .await
        .expect("proxy");
    let store = store_through(&proxy, &table).await;
    proxy.set_http_fault(Some(
        HttpFault::new(400, 0.5).body("application/x-amz-json-1.0", THROTTLED),
    ));
    let docs = many(300, 100);
    let report = store
        .batch_write(
            docs.iter().cloned().map(WriteOp::Put).collect(),
            BatchWriteOptions {
                concurrency: 3,
                ..BatchWriteOptions::default()
            },
        )
        .await
        .expect("batch write");
    assert!(report.is_complete(), "unwritten: {:?}", report.failed);
    assert_eq!(report.written, 300);
    let stats = proxy.stats();
    assert!(stats.injected >= 6, "throttling was injected: {stats:?}");
    // 12 calls of 25 went through exactly once each; every throttled call was retried.
    assert_eq!(stats.requests, 12 + stats.injected, "{stats:?}");
    // Every item landed, exactly once and intact (read behind the proxy's back).
    let all: Vec<Document> = scan_all(&table.store).await;
    assert_eq!(all.len(), 300);
    let mut all = all;
    all.sort_by_key(|d| d.get("i").and_then(Value::as_i64));
    assert_eq!(all, docs);
}

#[tokio::test]
async fn batch_writes_run_one_retry_loop_even_with_the_sdk_retry_on() {
    let table = TempTable::new("oneloop", pk_sk()).await;
    let proxy = FaultProxy::http(&endpoint(Service::DynamoDb).await)
        .await
        .expect("proxy");
    // The SDK's standard retry (3 attempts) stays on for other calls; batch calls turn it
    // off, so each attempt the report counts is one request at the proxy.
    let store = table
        .builder_through(&proxy)
        .batch_retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(20))
                .max_delay(Duration::from_millis(50)),
        )
        .build()
        .await
        .expect("store through the proxy");
    proxy.set_http_fault(Some(
        HttpFault::new(400, 1.0).body("application/x-amz-json-1.0", THROTTLED),
    ));
    let report = store
        .batch_write(
            many(10, 10).into_iter().map(WriteOp::Put).collect(),
            BatchWriteOptions {
                deadline: Duration::from_millis(300),
                concurrency: 1,
            },
        )
        .await
        .expect("batch write");
    assert_eq!(report.failed.len(), 10);
    let message = report.failed[0].1.message().to_owned();
    let attempts: u64 = message
        .split_once(" attempts)")
        .and_then(|(before, _)| before.rsplit('(').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the attempt count in `{message}`"));
    assert!(attempts >= 2, "{message}");
    assert_eq!(
        proxy.stats().requests,
        attempts,
        "one request per attempt: {message}"
    );
}

#[tokio::test]
async fn writes_still_throttled_at_the_deadline_are_reported_not_dropped() {
    let table = TempTable::new("deadline", pk_sk()).await;
    let proxy = FaultProxy::http(&endpoint(Service::DynamoDb).await)
        .await
        .expect("proxy");
    let store = store_through(&proxy, &table).await;
    proxy.set_http_fault(Some(
        HttpFault::new(400, 1.0).body("application/x-amz-json-1.0", THROTTLED),
    ));
    let docs = many(40, 10);
    let report = store
        .batch_write(
            docs.iter().cloned().map(WriteOp::Put).collect(),
            BatchWriteOptions {
                deadline: Duration::from_millis(400),
                concurrency: 2,
            },
        )
        .await
        .expect("batch write");
    assert_eq!(report.written, 0);
    assert_eq!(report.failed.len(), 40);
    for (op, err) in &report.failed {
        assert!(matches!(op, WriteOp::Put(_)));
        assert_eq!(err.kind(), ErrorKind::Throttled, "{err}");
        assert!(err.is_retryable());
    }
    let unwritten: HashSet<i64> = report
        .failed
        .iter()
        .filter_map(|(op, _)| match op {
            WriteOp::Put(d) => d.get("i").and_then(Value::as_i64),
            WriteOp::Delete(_) => None,
        })
        .collect();
    assert_eq!(unwritten.len(), 40);
    assert_eq!(scan_count(&table.store).await, 0);
}

#[tokio::test]
async fn batch_write_sends_at_most_25_writes_a_call_and_reports_duplicates() {
    let table = TempTable::new("batch25", pk_sk()).await;
    let proxy = FaultProxy::http(&endpoint(Service::DynamoDb).await)
        .await
        .expect("proxy");
    let store = store_through(&proxy, &table).await;
    let mut ops: Vec<WriteOp> = many(26, 10).into_iter().map(WriteOp::Put).collect();
    // The same key twice: the first write lands, the later ones are reported, never sent.
    ops.push(WriteOp::Put(item("p0", 0).with("v", "second")));
    ops.push(WriteOp::Delete(DocKey::partition("p1").with_sort(1)));
    let report = store
        .batch_write(ops, BatchWriteOptions::default())
        .await
        .expect("batch write");
    assert_eq!(report.written, 26);
    assert_eq!(report.failed.len(), 2, "{:?}", report.failed);
    for (op, err) in &report.failed {
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{op:?}: {err}");
    }
    assert_eq!(proxy.stats().requests, 2, "26 distinct keys take two calls");
    assert_eq!(scan_count(&table.store).await, 26);
    let got = table
        .store
        .get(
            &DocKey::partition("p0").with_sort(0),
            store_core::document::GetItemOptions::new().consistent(),
        )
        .await
        .expect("get")
        .expect("item");
    assert_ne!(got.get("v"), Some(&Value::from("second")));
}
