//! The store-core object conformance suite and model check, on `FsStore` in temporary folders.

#[path = "common/scratch.rs"]
mod scratch;

use scratch::ScratchStore;
use store_core::testkit::object::{factory, model_check};

store_core::object_conformance_tests!(factory(|| ScratchStore::new("conformance")));

#[test]
fn model_based() {
    model_check(factory(|| ScratchStore::new("model")), 128);
}
