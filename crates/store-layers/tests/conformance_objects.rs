//! The object conformance suite and model check on the in-memory store wrapped in every
//! layer at once, faults off: no layer may change what a store does.

use std::time::Duration;

use store_core::RetryPolicy;
use store_core::memory::MemoryObjectStore;
use store_core::testkit::object::{ObjectStoreFactory, factory, model_check};
use store_layers::{FaultLayer, LayerExt, Layers};

fn every_layer() -> Layers {
    Layers::new()
        .trace()
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .timeout(Duration::from_secs(30))
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
