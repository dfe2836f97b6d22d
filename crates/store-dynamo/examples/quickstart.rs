//! A first program with store-dynamo: create a table, write with a condition, update with an
//! expression, query a partition, delete the table.
//!
//! ```sh
//! # Credentials and region from the AWS default chain.
//! cargo run -p store-dynamo --example dynamo_quickstart -- my-table
//! # Against DynamoDB Local, LocalStack or moto, name the endpoint:
//! STORES_DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo run -p store-dynamo --example dynamo_quickstart
//! ```

use std::time::Duration;

use futures::TryStreamExt;
use store_core::document::{PutItemOptions, Query, SortCondition, Update, UpdateOptions, attr};
use store_core::{DocKey, Document, DocumentStore, ErrorKind, KeySchema, KeyType};
use store_dynamo::{TableAdmin, TableDefinition};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let table = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "stores-quickstart".to_owned());
    let mut admin = TableAdmin::builder();
    if let Ok(endpoint) = std::env::var("STORES_DYNAMODB_ENDPOINT") {
        admin = admin.endpoint(endpoint);
    }
    let admin = admin.build().await;
    let schema = KeySchema::partition("user", KeyType::String).with_sort("order", KeyType::Number);
    let store = admin
        .create(
            &TableDefinition::new(&table, schema),
            Duration::from_secs(60),
        )
        .await?;

    // A create-only put: the condition goes through a placeholder, like every name.
    let first = Document::new()
        .with("user", "ada")
        .with("order", 1)
        .with("status", "open")
        .with(
            "total",
            "12345678901234567890.5".parse::<store_core::Number>()?,
        );
    let create_only = PutItemOptions::new().condition(attr("user").not_exists());
    store.put(first.clone(), create_only.clone()).await?;
    let again = store.put(first, create_only).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::PreconditionFailed);

    // `status` is a reserved word in DynamoDB; it just works.
    let key = DocKey::partition("ada").with_sort(1);
    let ship = Update::new().set("status", "shipped").add("revisions", 1);
    store
        .update(
            &key,
            &ship,
            UpdateOptions::new().condition(attr("status").eq("open")),
        )
        .await?;

    let orders: Vec<Document> = store
        .query(Query::partition("ada").sort(SortCondition::Ge(1.into())))
        .try_collect()
        .await?;
    println!("ada's orders: {orders:?}");

    admin.delete(&table).await?;
    Ok(())
}
