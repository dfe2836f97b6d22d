//! Table administration: create, describe, TTL and delete; a store typed by its table's
//! keys; an admin built without a store.

use std::time::Duration;

use futures::TryStreamExt;
use integration_tests::clients::dynamo_client;
use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint, setting};
use store_core::document::{PutItemOptions, Query, Update, UpdateOptions};
use store_core::{DocKey, DocumentStore, ErrorKind, Health, KeySchema, KeyType};
use store_dynamo::{Billing, TableAdmin, TableDefinition};

use crate::support::{TempTable, item, pk_sk};

#[tokio::test]
async fn table_admin_creates_describes_enables_ttl_and_deletes() {
    let admin = TableAdmin::from_client(dynamo_client().await);
    let name = unique_name("admin");
    let def = TableDefinition::new(&name, pk_sk())
        .index("by-owner", KeySchema::partition("owner", KeyType::String))
        .billing(Billing::Provisioned { read: 5, write: 5 });
    let store = admin
        .create(&def, Duration::from_secs(60))
        .await
        .expect("create");
    let result = async {
        let err = admin
            .create(&def, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
        let info = admin.describe(&name).await.expect("describe");
        assert_eq!(info.status, "ACTIVE");
        assert_eq!(info.schema, pk_sk());
        assert!(info.indexes.contains_key("by-owner"));
        admin.enable_ttl(&name, "expires_at").await.expect("ttl");
        assert_eq!(
            admin.ttl_attribute(&name).await.expect("ttl status"),
            Some("expires_at".to_owned())
        );
        let health = store.health().await.expect("health");
        assert_eq!(health.backend, "dynamodb");
        assert!(health.detail.unwrap_or_default().contains(&name));
    }
    .await;
    admin.delete(&name).await.expect("delete");
    let err = admin.describe(&name).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains(&name), "{err}");
    result
}

#[tokio::test]
async fn typed_table_knows_its_keys() {
    use serde_json::{Value as Json, json};
    let table = TempTable::new("typed", pk_sk()).await;
    let users: store_dynamo::Table<Json> = store_dynamo::Table::new(table.store.clone());
    let ada = json!({"pk": "u", "sk": 1, "name": "Ada", "tags": ["math"]});
    users.create(&ada).await.expect("create");
    let err = users.create(&ada).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    let key = users.key_of(&ada).expect("key");
    assert_eq!(key, DocKey::partition("u").with_sort(1));
    assert_eq!(users.get(&key).await.expect("get"), Some(ada.clone()));
    let new = users
        .update(
            &key,
            &Update::new().set("name", "Ada L."),
            UpdateOptions::new(),
        )
        .await
        .expect("update");
    assert_eq!(new["name"], "Ada L.");
    let more: Vec<Json> = (2..30).map(|i| json!({"pk": "u", "sk": i})).collect();
    let report = users.put_all(&more).await.expect("put_all");
    assert!(report.is_complete());
    let all: Vec<Json> = users
        .query(Query::partition("u").consistent())
        .try_collect()
        .await
        .expect("query");
    assert_eq!(all.len(), 29);
    assert_eq!(all[0]["name"], "Ada L.");
    let old = users.delete(&key).await.expect("delete");
    assert_eq!(old.map(|o| o["name"].clone()), Some(Json::from("Ada L.")));
    assert_eq!(users.get(&key).await.expect("get"), None);
}

/// Table administration is built like a store (endpoint, region, credentials), with no store
/// on a stand-in table first; the table it creates is usable at once and deleted after.
#[tokio::test]
async fn table_admin_is_built_without_a_store() {
    let admin = TableAdmin::builder()
        .endpoint(endpoint(Service::DynamoDb).await)
        .region(setting("AWS_REGION").unwrap_or_else(|| "us-east-1".into()))
        .static_credentials(
            setting("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
            setting("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
        )
        .build()
        .await;
    let name = unique_name("admin-built");
    let store = admin
        .create(
            &TableDefinition::new(&name, pk_sk()),
            Duration::from_secs(60),
        )
        .await
        .expect("the table is created");
    store
        .put(item("a", 1), PutItemOptions::new())
        .await
        .expect("the new table takes writes");
    let opened = admin.open(&name).await.expect("open from DescribeTable");
    assert_eq!(opened.key_schema(), &pk_sk());
    admin.delete(&name).await.expect("delete");
}
