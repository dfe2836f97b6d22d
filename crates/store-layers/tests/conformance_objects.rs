//! The object conformance suite and model check on the in-memory store wrapped in every
//! layer at once, faults off: no layer may change what a store does.

use std::time::Duration;

use store_core::RetryPolicy;
use store_core::memory::MemoryObjectStore;
use store_core::testkit::object::{ObjectStoreFactory, factory, model_check};
use store_layers::{
    CacheLayer, FallbackLayer, FaultLayer, HedgeLayer, LayerExt, Layers, RateLimitLayer,
    TimeoutLayer,
};

fn every_layer() -> Layers {
    Layers::new()
        .trace()
        .cache(CacheLayer::new(1024, Duration::from_secs(60)).max_bytes(1 << 20))
        .fallback(FallbackLayer::objects(std::sync::Arc::new(
            MemoryObjectStore::new(),
        )))
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .hedge(HedgeLayer::new(Duration::from_secs(5)))
        .timeout_layer(TimeoutLayer::new(Duration::from_secs(30)).idle(Duration::from_secs(30)))
        .rate_limit(RateLimitLayer::new(1_000_000, Duration::from_secs(1)))
        .concurrency(64)
        .faults(FaultLayer::seeded(1))
}

fn layered() -> ObjectStoreFactory {
    factory(|| async { MemoryObjectStore::new().layer(every_layer()) })
}

store_core::object_conformance_tests!(layered());

#[test]
fn layered_memory_agrees_with_the_model() {
    model_check(layered(), 128);
}
