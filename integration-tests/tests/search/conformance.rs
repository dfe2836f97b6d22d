//! The store-core `SearchIndex` conformance suite, every behaviour against the real node.

use std::sync::Arc;

use store_core::{IndexName, SearchIndex};

store_core::search_conformance_tests!(|name: IndexName| async move {
    Arc::new(super::support::open(name.as_str()).await) as Arc<dyn SearchIndex>
});
