//! The document conformance suite and the model-based property test, on the in-memory backend.

use std::sync::Arc;

use store_core::DocumentStore;
use store_core::testkit::document::{DocumentFactory, TableSpec, model_check};

fn memory() -> impl DocumentFactory {
    |spec: TableSpec| async move { Arc::new(spec.in_memory()) as Arc<dyn DocumentStore> }
}

store_core::document_conformance_tests!(memory());

#[test]
fn memory_agrees_with_the_model() {
    model_check(&memory(), 256);
}
