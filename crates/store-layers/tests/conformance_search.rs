//! The search conformance suite on the in-memory index wrapped in every layer at once,
//! faults off.

use std::sync::Arc;
use std::time::Duration;

use store_core::memory::MemorySearchIndex;
use store_core::{IndexName, RetryPolicy, SearchIndex};
use store_layers::{FaultLayer, LayerExt, Layers};

store_core::search_conformance_tests!(|name: IndexName| async move {
    let layers = Layers::new()
        .trace()
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .timeout(Duration::from_secs(30))
        .concurrency(64)
        .faults(FaultLayer::seeded(3));
    Arc::new(
        MemorySearchIndex::new(name.as_str())
            .expect("valid index name")
            .layer(layers),
    ) as Arc<dyn SearchIndex>
});
