//! The document part of the tour (the seed's `DynamoDBManager` scenario).

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use store_core::document::{
    DeleteItemOptions, PutItemOptions, Query, ReturnValues, Scan, SortCondition, Update,
    UpdateOptions, attr,
};
use store_core::{DocKey, Document, DocumentStore, DocumentStoreExt, Number};

use crate::step;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct User {
    id: String,
    name: String,
    email: String,
    age: u32,
}

/// Puts, gets, updates, queries, scans and deletes items.
pub(crate) async fn run(
    users: &dyn DocumentStore,
    orders: &dyn DocumentStore,
) -> anyhow::Result<()> {
    let service = users.backend();
    let user = User {
        id: "user-123".into(),
        name: "张三".into(),
        email: "zhangsan@example.com".into(),
        age: 30,
    };
    users.put_as(&user).await?;
    step(service, "put_item user-123", "stored");

    let key = DocKey::partition("user-123");
    let got: Option<User> = users.get_as(&key).await?;
    step(service, "get_item user-123", format!("{got:?}"));

    let created = users
        .put(
            Document::new()
                .with("id", "user-123")
                .with("name", "duplicate"),
            PutItemOptions::new().condition(attr("id").not_exists()),
        )
        .await;
    step(
        service,
        "create-only put of user-123 again",
        match created {
            Err(e) => format!("refused: {}", e.kind()),
            Ok(_) => "unexpectedly accepted".into(),
        },
    );

    let update = Update::new().set("age", 31).add("logins", 1);
    let after = users
        .update(
            &key,
            &update,
            UpdateOptions::new().returns(ReturnValues::AllNew),
        )
        .await?
        .unwrap_or_default();
    step(
        service,
        "update_item SET age = 31, ADD logins 1",
        format!(
            "age {:?}, logins {:?}",
            after.get("age").and_then(|v| v.as_i64()),
            after.get("logins").and_then(|v| v.as_i64())
        ),
    );

    for (n, total) in [(1, "19.99"), (2, "5.00"), (3, "120.50")] {
        let order = Document::new()
            .with("user_id", "user-123")
            .with("order_no", n)
            .with("total", total.parse::<Number>()?);
        orders.put(order, PutItemOptions::new()).await?;
    }
    let recent: Vec<Document> = orders
        .query(
            Query::partition("user-123")
                .sort(SortCondition::Ge(2.into()))
                .reverse(),
        )
        .try_collect()
        .await?;
    let totals: Vec<String> = recent
        .iter()
        .filter_map(|d| d.get("total").and_then(|v| v.as_number()))
        .map(ToString::to_string)
        .collect();
    step(
        service,
        "query orders of user-123 with order_no >= 2",
        format!("totals {totals:?} (newest first)"),
    );

    let adults: Vec<Document> = users
        .scan(Scan::new().filter(attr("age").gt(25)))
        .try_collect()
        .await?;
    step(
        service,
        "scan users with age > 25",
        format!("{} item(s)", adults.len()),
    );

    let old = users
        .delete(&key, DeleteItemOptions::new().return_old())
        .await?;
    step(
        service,
        "delete_item user-123",
        format!("deleted: {}", old.is_some()),
    );
    Ok(())
}
