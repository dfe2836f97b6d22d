//! OpenTelemetry metrics, read back through the SDK's in-memory exporter: one duration per
//! call with the database attributes, errors typed, the retry, breaker and byte counters exact.
#![cfg(feature = "metrics")]

use std::time::Duration;

use bytes::Bytes;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use store_core::document::{GetItemOptions, PutItemOptions};
use store_core::memory::{MemoryDocumentStore, MemoryObjectStore};
use store_core::object::PutOptions;
use store_core::{
    DocKey, Document, DocumentStore, ErrorKind, KeySchema, KeyType, ObjectKey, ObjectStore,
    ObjectStoreExt, RetryPolicy, StoreError,
};
use store_layers::{
    BreakerConfig, BreakerLayer, FaultLayer, LayerExt, Layers, MetricsLayer, RetryLayer,
};

/// A meter provider of its own (tests run in parallel) and the exporter it flushes into.
fn provider() -> (SdkMeterProvider, InMemoryMetricExporter) {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    (provider, exporter)
}

fn collected(provider: &SdkMeterProvider, exporter: &InMemoryMetricExporter) -> ResourceMetrics {
    provider.force_flush().expect("flush");
    let mut all = exporter.get_finished_metrics().expect("metrics");
    all.pop().expect("one export")
}

fn find<'m>(metrics: &'m ResourceMetrics, name: &str) -> &'m Metric {
    metrics
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .find(|m| m.name() == name)
        .unwrap_or_else(|| panic!("no metric {name} in {metrics:#?}"))
}

fn attribute(pairs: Vec<(String, String)>, key: &str) -> Option<String> {
    pairs.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Each duration data point as (its attributes, its count).
fn durations(metrics: &ResourceMetrics) -> Vec<(Vec<(String, String)>, u64)> {
    let metric = find(metrics, "db.client.operation.duration");
    assert_eq!(metric.unit(), "s");
    let AggregatedMetrics::F64(MetricData::Histogram(histogram)) = metric.data() else {
        panic!("not an f64 histogram: {metric:#?}");
    };
    histogram
        .data_points()
        .map(|point| {
            let attributes = point
                .attributes()
                .map(|kv| (kv.key.as_str().to_owned(), kv.value.as_str().into_owned()))
                .collect();
            (attributes, point.count())
        })
        .collect()
}

fn u64_sum(metrics: &ResourceMetrics, name: &str) -> u64 {
    match find(metrics, name).data() {
        AggregatedMetrics::U64(MetricData::Sum(sum)) => sum.data_points().map(|p| p.value()).sum(),
        other => panic!("{name} is not a u64 sum: {other:#?}"),
    }
}

fn quick() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(2))
}

#[tokio::test]
async fn every_call_is_timed_with_its_attributes_and_retries_are_counted() {
    let (provider, exporter) = provider();
    let faults = FaultLayer::seeded(1);
    let store = MemoryDocumentStore::new("users", KeySchema::partition("id", KeyType::String))
        .expect("table")
        .layer(
            Layers::new()
                .metrics(MetricsLayer::new(&provider.meter("test")))
                .retry_layer(RetryLayer::new(quick().max_attempts(3)))
                .faults(faults.clone()),
        );
    let key = DocKey::partition("u1");
    store
        .put(Document::new().with("id", "u1"), PutItemOptions::new())
        .await
        .expect("put");
    // Two throttles absorbed by retries: still one call, two retries.
    faults.fail_next(2, ErrorKind::Throttled);
    assert!(
        store
            .get(&key, GetItemOptions::new())
            .await
            .expect("get")
            .is_some()
    );
    // A refused call: its error type is recorded.
    faults.fail_next(1, ErrorKind::InvalidInput);
    let err = store.get(&key, GetItemOptions::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    let metrics = collected(&provider, &exporter);
    let points = durations(&metrics);
    let total: u64 = points.iter().map(|(_, count)| count).sum();
    assert_eq!(
        total, 3,
        "one duration per call, retries inside it: {points:#?}"
    );
    for (attributes, _) in &points {
        assert_eq!(
            attribute(attributes.clone(), "db.system.name").as_deref(),
            Some("memory")
        );
        assert_eq!(
            attribute(attributes.clone(), "db.collection.name").as_deref(),
            Some("users")
        );
    }
    let failed: Vec<_> = points
        .iter()
        .filter_map(|(attributes, count)| {
            attribute(attributes.clone(), "error.type").map(|kind| (kind, *count))
        })
        .collect();
    assert_eq!(failed, vec![("invalid input".to_owned(), 1)]);
    let gets: u64 = points
        .iter()
        .filter(|(a, _)| attribute(a.clone(), "db.operation.name").as_deref() == Some("get"))
        .map(|(_, count)| count)
        .sum();
    assert_eq!(gets, 2);
    assert_eq!(u64_sum(&metrics, "stores.client.retries"), 2);
}

#[tokio::test]
async fn the_breaker_state_and_openings_are_observed() {
    let (provider, exporter) = provider();
    let faults = FaultLayer::seeded(2);
    let breaker = BreakerLayer::new(BreakerConfig {
        window: 4,
        min_calls: 2,
        failure_rate: 0.5,
        open_for: Duration::from_secs(60),
        probes: 1,
    });
    let store = MemoryDocumentStore::new("things", KeySchema::partition("id", KeyType::String))
        .expect("table")
        .layer(
            Layers::new()
                .metrics(MetricsLayer::new(&provider.meter("test")))
                .breaker(breaker.clone())
                .faults(faults.clone()),
        );
    faults.fail_next(2, ErrorKind::Unavailable);
    for _ in 0..2 {
        let _ = store
            .get(&DocKey::partition("a"), GetItemOptions::new())
            .await;
    }
    let err: StoreError = store
        .get(&DocKey::partition("a"), GetItemOptions::new())
        .await
        .unwrap_err();
    assert!(err.message().contains("circuit breaker"), "{err}");

    let metrics = collected(&provider, &exporter);
    assert_eq!(u64_sum(&metrics, "stores.client.breaker.openings"), 1);
    let state = find(&metrics, "stores.client.breaker.state");
    let AggregatedMetrics::I64(MetricData::Gauge(gauge)) = state.data() else {
        panic!("not an i64 gauge: {state:#?}");
    };
    let values: Vec<i64> = gauge.data_points().map(|p| p.value()).collect();
    assert_eq!(values, vec![2], "open");
    let unavailable = durations(&metrics)
        .into_iter()
        .filter(|(a, _)| attribute(a.clone(), "error.type").as_deref() == Some("unavailable"))
        .map(|(_, count)| count)
        .sum::<u64>();
    assert_eq!(unavailable, 3, "two failures and the refusal");
}

#[tokio::test]
async fn object_bytes_are_counted_both_ways() {
    let (provider, exporter) = provider();
    let store = MemoryObjectStore::new()
        .layer(Layers::new().metrics(MetricsLayer::new(&provider.meter("test"))));
    let key = ObjectKey::new("blob.bin").expect("key");
    let body = Bytes::from(vec![7u8; 300_000]);
    store
        .put(&key, body.clone(), PutOptions::new())
        .await
        .expect("put");
    assert_eq!(store.get_bytes(&key).await.expect("get"), body);
    // A body not read is not counted as received.
    let _unread = store.get(&key, Default::default()).await.expect("get");

    let metrics = collected(&provider, &exporter);
    let metric = find(&metrics, "stores.client.bytes");
    assert_eq!(metric.unit(), "By");
    let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() else {
        panic!("not a u64 sum: {metric:#?}");
    };
    let mut by_direction: Vec<(String, u64)> = sum
        .data_points()
        .map(|point| {
            let direction = point
                .attributes()
                .find(|kv| kv.key.as_str() == "stores.direction")
                .map(|kv| kv.value.as_str().into_owned())
                .unwrap_or_default();
            (direction, point.value())
        })
        .collect();
    by_direction.sort();
    assert_eq!(
        by_direction,
        vec![
            ("received".to_owned(), 300_000),
            ("sent".to_owned(), 300_000)
        ]
    );
}
