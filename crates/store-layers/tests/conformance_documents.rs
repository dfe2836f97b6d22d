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
        Arc::new(spec.in_memory().layer(every_layer())) as Arc<dyn DocumentStore>
    }
}

store_core::document_conformance_tests!(layered());

#[test]
fn layered_memory_agrees_with_the_model() {
    model_check(&layered(), 128);
}

/// A stack with no cache and no fallback: a `get` takes the fast path, which holds the store's
/// own unboxed future (`DocumentStore::get_unboxed`) in place.
fn fast_path() -> Layers {
    Layers::new()
        .trace()
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .timeout(Duration::from_secs(30))
        .concurrency(64)
        .faults(FaultLayer::seeded(3))
}

/// The fast path over the memory store held by its type.
mod fast_path_typed {
    use super::*;

    fn layered() -> impl DocumentFactory {
        |spec: TableSpec| async move {
            Arc::new(spec.in_memory().layer(fast_path())) as Arc<dyn DocumentStore>
        }
    }

    store_core::document_conformance_tests!(layered());
}

/// The fast path over a `dyn` store (whose `get_unboxed` is its boxed `get`).
mod fast_path_dyn {
    use super::*;

    fn layered() -> impl DocumentFactory {
        |spec: TableSpec| async move {
            let inner = Arc::new(spec.in_memory()) as Arc<dyn DocumentStore>;
            Arc::new(inner.layer(fast_path())) as Arc<dyn DocumentStore>
        }
    }

    store_core::document_conformance_tests!(layered());
}
