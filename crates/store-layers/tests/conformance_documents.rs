//! The document conformance suite and model check on the in-memory store wrapped in every
//! layer at once, faults off.

use std::sync::Arc;
use std::time::Duration;

use store_core::memory::MemoryDocumentStore;
use store_core::testkit::document::{DocumentFactory, TableSpec, model_check};
use store_core::{DocumentStore, KeySchema, KeyType, RetryPolicy};
use store_layers::{
    CacheLayer, FallbackLayer, FaultLayer, HedgeLayer, LayerExt, Layers, RateLimitLayer,
    TimeoutLayer,
};

fn every_layer() -> Layers {
    Layers::new()
        .trace()
        .cache(CacheLayer::new(1024, Duration::from_secs(60)).max_bytes(1 << 20))
        .fallback(FallbackLayer::documents(Arc::new(
            MemoryDocumentStore::new("secondary", KeySchema::partition("id", KeyType::String))
                .expect("secondary"),
        )))
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .hedge(HedgeLayer::new(Duration::from_secs(5)))
        .timeout_layer(TimeoutLayer::new(Duration::from_secs(30)).idle(Duration::from_secs(30)))
        .rate_limit(RateLimitLayer::new(1_000_000, Duration::from_secs(1)))
        .concurrency(64)
        .faults(FaultLayer::seeded(2))
}

fn layered() -> impl DocumentFactory {
    |spec: TableSpec| async move {
        let mut store = MemoryDocumentStore::new(&spec.name, spec.schema)
            .unwrap_or_else(|e| panic!("table `{}`: {e}", spec.name));
        for (name, schema) in spec.indexes {
            store = store
                .with_index(&name, schema)
                .unwrap_or_else(|e| panic!("index `{name}`: {e}"));
        }
        Arc::new(store.layer(every_layer())) as Arc<dyn DocumentStore>
    }
}

store_core::document_conformance_tests!(layered());

#[test]
fn layered_memory_agrees_with_the_model() {
    model_check(&layered(), 128);
}
