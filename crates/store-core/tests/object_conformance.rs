//! The object conformance suite and the model-based property check, on [`MemoryObjectStore`].
#![cfg(feature = "testkit")]

use store_core::memory::MemoryObjectStore;
use store_core::testkit::object::{ObjectStoreFactory, factory, model_check};

fn memory() -> ObjectStoreFactory {
    factory(|| async { MemoryObjectStore::new() })
}

store_core::object_conformance_tests!(memory());

/// Random operation sequences agree with a plain map, over 256 cases.
#[test]
fn memory_agrees_with_the_model() {
    model_check(memory(), 256);
}
