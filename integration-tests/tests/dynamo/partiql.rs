//! PartiQL through `execute_statement` against the server: parameters go in exactly (a
//! 38-digit number matched by equality), reads page to the end, and DynamoDB's refusals map to
//! their kinds. What a statement wrote is read back with a plain `GetItem`.
//!
//! moto's PartiQL parser takes no `?` in `INSERT ... VALUE {...}` (it fails with a 500;
//! DynamoDB itself accepts them), so the items are put through the store and the `INSERT`
//! uses literals; `SELECT` and `UPDATE` bind parameters. moto also lets an `INSERT` overwrite
//! an existing key where DynamoDB refuses it (`DuplicateItemException`, which store-dynamo
//! maps to `AlreadyExists`: a unit test checks the mapping), and answers a malformed
//! statement with a 500 where DynamoDB says `ValidationException`. Its `DELETE` parser accepts only
//! quoted literals, so a `DELETE` by a numeric key cannot be run against it and is not here.

use futures::TryStreamExt;
use store_core::document::{GetItemOptions, PutItemOptions};
use store_core::{DocKey, Document, DocumentStore, ErrorKind, KeySchema, KeyType, Number, Value};
use store_dynamo::Statement;

use super::support::TempTable;

const EXACT: &str = "12345678901234567890123456789012345678";

#[tokio::test]
async fn statements_bind_exact_values_and_page_to_the_end() {
    let schema = KeySchema::partition("user", KeyType::String).with_sort("n", KeyType::Number);
    let table = TempTable::new("partiql", schema).await;
    let store = &table.store;
    let name = store.table_name().to_owned();
    let exact: Number = EXACT.parse().unwrap();

    for n in 0..30 {
        let item = Document::new()
            .with("user", "ada")
            .with("n", n)
            .with("total", exact.clone())
            .with(
                "tags",
                Value::StringSet(["a".to_owned(), "b".to_owned()].into()),
            );
        store.put(item, PutItemOptions::new()).await.unwrap();
    }
    let insert = Statement::new(format!(
        r#"INSERT INTO "{name}" VALUE {{'user': 'bob', 'n': 1, 'note': 'literal'}}"#
    ));
    let returned: Vec<_> = store.execute_statement(insert).try_collect().await.unwrap();
    assert!(returned.is_empty(), "an INSERT returns no item");

    // A plain GetItem sees exactly what the statement wrote.
    let bob = store
        .get(
            &DocKey::partition("bob").with_sort(1),
            GetItemOptions::new(),
        )
        .await
        .unwrap()
        .expect("inserted by the statement");
    assert_eq!(bob.get("note"), Some(&Value::from("literal")));

    // A 38-digit parameter matches by equality, and what comes back keeps every digit and
    // the set stays a set.
    let by_total = Statement::new(format!(
        r#"SELECT * FROM "{name}" WHERE "user" = ? AND "total" = ?"#
    ))
    .param("ada")
    .param(exact.clone());
    let matched: Vec<_> = store
        .execute_statement(by_total)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(matched.len(), 30);
    let item = &matched[0];
    assert_eq!(
        item.get("total")
            .and_then(Value::as_number)
            .unwrap()
            .to_string(),
        EXACT
    );
    assert!(matches!(item.get("tags"), Some(Value::StringSet(set)) if set.len() == 2));
    let off_by_one = Statement::new(format!(
        r#"SELECT * FROM "{name}" WHERE "user" = ? AND "total" = ?"#
    ))
    .param("ada")
    .param(
        "12345678901234567890123456789012345679"
            .parse::<Number>()
            .unwrap(),
    );
    let none: Vec<_> = store
        .execute_statement(off_by_one)
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty(), "the last digit is compared");

    // A SELECT of the partition returns all 30, across however many pages.
    let select = Statement::new(format!(r#"SELECT * FROM "{name}" WHERE "user" = ?"#)).param("ada");
    let rows: Vec<_> = store.execute_statement(select).try_collect().await.unwrap();
    assert_eq!(rows.len(), 30);
    assert!(
        rows.iter()
            .all(|r| r.get("total").and_then(Value::as_number) == Some(&exact))
    );

    // UPDATE by key.
    let update = Statement::new(format!(
        r#"UPDATE "{name}" SET "status" = ? WHERE "user" = ? AND "n" = ?"#
    ))
    .param("shipped")
    .param("ada")
    .param(3);
    store
        .execute_statement(update)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let shipped = store
        .get(
            &DocKey::partition("ada").with_sort(3),
            GetItemOptions::new(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shipped.get("status"), Some(&Value::from("shipped")));
    // An empty statement is refused before anything is sent.
    let e = store
        .execute_statement(Statement::new("  "))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
}
