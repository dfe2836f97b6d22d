//! The search conformance suite on the in-memory reference index.

use std::sync::Arc;

use store_core::memory::MemorySearchIndex;
use store_core::{IndexName, SearchIndex};

store_core::search_conformance_tests!(|name: IndexName| async move {
    Arc::new(MemorySearchIndex::new(name.as_str()).expect("valid index name"))
        as Arc<dyn SearchIndex>
});
