//! The ObjectStore conformance suite and the model-based check, against the harness's S3.

use crate::support::bucket_factory;

store_core::object_conformance_tests!(bucket_factory());

#[test]
fn model_check_agrees_with_a_map() {
    store_core::testkit::object::model_check(bucket_factory(), 48);
}
