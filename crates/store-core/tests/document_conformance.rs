//! The document conformance suite and the model-based property test, on the in-memory backend.

use std::sync::Arc;

use store_core::DocumentStore;
use store_core::memory::MemoryDocumentStore;
use store_core::testkit::document::{DocumentFactory, TableSpec, model_check};

fn memory() -> impl DocumentFactory {
    |spec: TableSpec| async move {
        let mut store = MemoryDocumentStore::new(&spec.name, spec.schema)
            .unwrap_or_else(|e| panic!("table `{}`: {e}", spec.name));
        for (name, schema) in spec.indexes {
            store = store
                .with_index(&name, schema)
                .unwrap_or_else(|e| panic!("index `{name}`: {e}"));
        }
        Arc::new(store) as Arc<dyn DocumentStore>
    }
}

store_core::document_conformance_tests!(memory());

#[test]
fn memory_agrees_with_the_model() {
    model_check(&memory(), 256);
}
