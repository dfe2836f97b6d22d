//! The harness's server creates tables, stores items and enables streams (raw SDK).

use integration_tests::clients::dynamo_client;
use integration_tests::names::unique_name;
use store_dynamo::sdk::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, StreamSpecification, StreamViewType,
};

#[tokio::test]
async fn tables_store_items_and_enable_streams() {
    let client = dynamo_client().await;
    let table = unique_name("smoke");
    client
        .create_table()
        .table_name(&table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    client
        .put_item()
        .table_name(&table)
        .item("id", AttributeValue::S("user-123".into()))
        .item("age", AttributeValue::N("30".into()))
        .send()
        .await
        .unwrap();
    let got = client
        .get_item()
        .table_name(&table)
        .key("id", AttributeValue::S("user-123".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.item().and_then(|i| i.get("age")),
        Some(&AttributeValue::N("30".into()))
    );
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let table_desc = described.table().unwrap();
    assert!(
        table_desc.latest_stream_arn().is_some(),
        "stream ARN missing: {table_desc:?}"
    );
    assert_eq!(
        table_desc
            .stream_specification()
            .map(|s| s.stream_enabled()),
        Some(true)
    );
    client
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
}
