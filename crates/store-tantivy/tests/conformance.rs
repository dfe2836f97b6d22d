//! The search conformance suite of store-core on tantivy indexes, all in one temporary root
//! directory (one index directory per behaviour).

#[path = "support/temp.rs"]
mod temp;

use std::sync::{Arc, LazyLock};

use store_core::{IndexName, SearchIndex};
use store_tantivy::TantivyIndex;

static ROOT: LazyLock<temp::TempDir> = LazyLock::new(|| temp::TempDir::new("conformance"));

store_core::search_conformance_tests!(|name: IndexName| async move {
    Arc::new(
        TantivyIndex::builder(ROOT.path(), name.as_str())
            .memory_budget(16 << 20)
            .build()
            .await
            .expect("open a handle"),
    ) as Arc<dyn SearchIndex>
});
