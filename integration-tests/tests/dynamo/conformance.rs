//! The whole `DocumentStore` conformance suite and the model check, against the harness's
//! DynamoDB through `store-dynamo`.

use crate::support::factory;

store_core::document_conformance_tests!(factory());

#[test]
fn model_check_agrees_with_the_reference_model() {
    store_core::testkit::document::model_check(&factory(), 24);
}
