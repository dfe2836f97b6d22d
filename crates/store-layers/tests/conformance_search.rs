//! The search conformance suite on the in-memory index wrapped in every layer at once,
//! faults off.

use std::sync::Arc;
use std::time::Duration;

use store_core::memory::MemorySearchIndex;
use store_core::{IndexName, RetryPolicy, SearchIndex};
use store_layers::{
    CacheLayer, FallbackLayer, FaultLayer, HedgeLayer, LayerExt, Layers, RateLimitLayer,
    TimeoutLayer,
};

store_core::search_conformance_tests!(|name: IndexName| async move {
    let layers = Layers::new()
        .trace()
        .cache(CacheLayer::new(1024, Duration::from_secs(60)).max_bytes(1 << 20))
        .fallback(FallbackLayer::search(Arc::new(
            MemorySearchIndex::new("secondary").expect("secondary"),
        )))
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .hedge(HedgeLayer::new(Duration::from_secs(5)))
        .timeout_layer(TimeoutLayer::new(Duration::from_secs(30)).idle(Duration::from_secs(30)))
        .rate_limit(RateLimitLayer::new(1_000_000, Duration::from_secs(1)))
        .concurrency(64)
        .faults(FaultLayer::seeded(3));
    Arc::new(
        MemorySearchIndex::new(name.as_str())
            .expect("valid index name")
            .layer(layers),
    ) as Arc<dyn SearchIndex>
});
