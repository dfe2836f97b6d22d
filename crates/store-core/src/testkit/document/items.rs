//! Behaviours of single items: put, get, delete, conditions.

use std::collections::BTreeSet;

use bytes::Bytes;

use super::{DocumentFactory, expect_kind, get, id_only, item, key, pk_sk, table};
use crate::document::{
    Condition, DeleteItemOptions, GetItemOptions, PutItemOptions, UpdateOptions, attr,
};
use crate::error::ErrorKind;
use crate::keys::DocKey;
use crate::value::{Document, Number, Value};

fn num(text: &str) -> Number {
    text.parse()
        .unwrap_or_else(|e| panic!("test number {text:?}: {e}"))
}

/// An item holding every kind of [`Value`].
fn every_value() -> Document {
    let nested = Document::new()
        .with("name", "inner")
        .with(
            "list",
            vec![Value::from(1), Value::from("two"), Value::Null],
        )
        .with("deeper", Document::new().with("flag", false));
    item("all", 1)
        .with("null", Value::Null)
        .with("yes", true)
        .with("no", false)
        .with("int", -42)
        .with("decimal", num("3.14159265358979323846264338327950288"))
        .with("text", "héllo, wörld ✓")
        .with("empty_text", "")
        .with("bytes", Bytes::from_static(&[0, 1, 2, 254, 255]))
        .with(
            "list",
            vec![Value::from(1), Value::from("x"), Value::List(vec![])],
        )
        .with("map", nested)
        .with("empty_map", Document::new())
        .with(
            "strings",
            Value::StringSet(BTreeSet::from(["a".to_owned(), "b".to_owned()])),
        )
        .with(
            "numbers",
            Value::NumberSet(BTreeSet::from([num("1"), num("-2.5"), num("1E+100")])),
        )
        .with(
            "blobs",
            Value::BytesSet(BTreeSet::from([
                Bytes::from_static(b"\x00"),
                Bytes::from_static(b"\xff\x01"),
            ])),
        )
}

/// A put followed by a get returns every value type unchanged: null, bools, numbers, strings
/// (including empty), bytes, nested lists and maps, and all three set types.
pub async fn round_trip_every_value_type(factory: &dyn DocumentFactory) {
    let store = table(factory, "round-trip", pk_sk()).await;
    let original = every_value();
    store
        .put(original.clone(), PutItemOptions::new())
        .await
        .expect("put of an item holding every value type");
    let back = get(&*store, &key("all", 1))
        .await
        .expect("the item just put");
    for (name, value) in original.iter() {
        assert_eq!(
            back.get(name),
            Some(value),
            "attribute `{name}` changed on the way"
        );
    }
    assert_eq!(
        back, original,
        "the item came back with extra or missing attributes"
    );
}

/// Numbers keep every digit: DynamoDB's smallest and largest magnitudes, 38-digit integers and
/// fractions, negative values, and numbers as sort keys.
pub async fn numbers_round_trip_exactly_at_dynamodb_edges(factory: &dyn DocumentFactory) {
    let store = table(factory, "number-edges", pk_sk()).await;
    let numbers = [
        "1E-130",
        "-1E-130",
        "9.9999999999999999999999999999999999999E+125",
        "-9.9999999999999999999999999999999999999E+125",
        "12345678901234567890123456789012345678",
        "-0.12345678901234567890123456789012345678",
        "0.1",
        "0",
    ];
    for (i, text) in numbers.iter().enumerate() {
        let sk = i64::try_from(i).unwrap_or_default();
        let doc = item("n", sk).with("value", num(text));
        store
            .put(doc, PutItemOptions::new())
            .await
            .unwrap_or_else(|e| panic!("put of {text}: {e}"));
        let back = get(&*store, &key("n", sk))
            .await
            .expect("the item just put");
        let value = back.get("value").and_then(Value::as_number);
        assert_eq!(value, Some(&num(text)), "{text} did not come back exactly");
    }
    let edge = num("9.9999999999999999999999999999999999999E+125");
    let doc = Document::new()
        .with("pk", "edge-key")
        .with("sk", edge.clone());
    store
        .put(doc, PutItemOptions::new())
        .await
        .expect("put with the largest number as sort key");
    let back = get(
        &*store,
        &DocKey::partition("edge-key").with_sort(edge.clone()),
    )
    .await;
    assert!(
        back.is_some(),
        "the item keyed by the largest number was not found"
    );
}

/// Getting a key that was never written is `Ok(None)`, not an error.
pub async fn get_missing_is_none(factory: &dyn DocumentFactory) {
    let store = table(factory, "get-missing", pk_sk()).await;
    assert_eq!(get(&*store, &key("nobody", 1)).await, None);
}

/// A put replaces the whole item: attributes absent from the new item are gone.
pub async fn put_replaces_the_whole_item(factory: &dyn DocumentFactory) {
    let store = table(factory, "put-replaces", pk_sk()).await;
    let first = item("a", 1).with("old", 1).with("kept", "v1");
    let second = item("a", 1).with("kept", "v2");
    store
        .put(first, PutItemOptions::new())
        .await
        .expect("first put");
    store
        .put(second.clone(), PutItemOptions::new())
        .await
        .expect("second put");
    assert_eq!(get(&*store, &key("a", 1)).await, Some(second));
}

/// A get with a projection returns only the named attributes.
pub async fn get_projects_attributes(factory: &dyn DocumentFactory) {
    let store = table(factory, "get-projection", pk_sk()).await;
    let doc = item("a", 1).with("x", 1).with("y", 2).with("z", 3);
    store.put(doc, PutItemOptions::new()).await.expect("put");
    let options = GetItemOptions::new().consistent().projection(["x", "z"]);
    let back = store.get(&key("a", 1), options).await.expect("get");
    assert_eq!(back, Some(Document::new().with("x", 1).with("z", 3)));
}

/// A create-only put (`attr(pk).not_exists()`) succeeds once, then is `PreconditionFailed`
/// and leaves the first item unchanged.
pub async fn create_only_put_fails_the_second_time(factory: &dyn DocumentFactory) {
    let store = table(factory, "create-only", pk_sk()).await;
    let create_only = || PutItemOptions::new().condition(attr("pk").not_exists());
    let first = item("a", 1).with("v", "first");
    store
        .put(first.clone(), create_only())
        .await
        .expect("a create-only put of a new key succeeds");
    let result = store
        .put(item("a", 1).with("v", "second"), create_only())
        .await;
    expect_kind(
        result,
        ErrorKind::PreconditionFailed,
        "second create-only put",
    );
    assert_eq!(
        get(&*store, &key("a", 1)).await,
        Some(first),
        "item changed"
    );
}

/// `return_old` on a put returns the replaced item, and nothing for a new key.
pub async fn put_returns_the_old_item_when_asked(factory: &dyn DocumentFactory) {
    let store = table(factory, "put-return-old", pk_sk()).await;
    let first = item("a", 1).with("v", 1);
    let old = store
        .put(first.clone(), PutItemOptions::new().return_old())
        .await
        .expect("put");
    assert_eq!(old, None, "a new key has no old item");
    let old = store
        .put(
            item("a", 1).with("v", 2),
            PutItemOptions::new().return_old(),
        )
        .await
        .expect("put");
    assert_eq!(old, Some(first));
    let old = store
        .put(item("a", 1).with("v", 3), PutItemOptions::new())
        .await
        .expect("put");
    assert_eq!(old, None, "nothing is returned unless asked");
}

/// A failed condition with `return_old` carries the current item in the error.
pub async fn failed_condition_reports_the_current_item(factory: &dyn DocumentFactory) {
    let store = table(factory, "current-item", pk_sk()).await;
    let current = item("a", 1).with("version", 7);
    store
        .put(current.clone(), PutItemOptions::new())
        .await
        .expect("put");
    let options = PutItemOptions::new()
        .condition(attr("version").eq(6))
        .return_old();
    let err = store
        .put(item("a", 1).with("version", 8), options)
        .await
        .expect_err("the condition version = 6 does not hold");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert_eq!(
        err.current_item(),
        Some(&current),
        "the error should carry the item"
    );
}

/// A delete returns the old item when asked; deleting a missing item succeeds with nothing.
pub async fn delete_returns_old_and_missing_delete_succeeds(factory: &dyn DocumentFactory) {
    let store = table(factory, "delete-old", pk_sk()).await;
    let doc = item("a", 1).with("v", 1);
    store
        .put(doc.clone(), PutItemOptions::new())
        .await
        .expect("put");
    let old = store
        .delete(&key("a", 1), DeleteItemOptions::new().return_old())
        .await
        .expect("delete");
    assert_eq!(old, Some(doc));
    assert_eq!(
        get(&*store, &key("a", 1)).await,
        None,
        "the item is still there"
    );
    let old = store
        .delete(&key("a", 1), DeleteItemOptions::new().return_old())
        .await
        .expect("deleting a missing item succeeds");
    assert_eq!(old, None);
}

/// A conditional delete deletes only when its condition holds.
pub async fn conditional_delete(factory: &dyn DocumentFactory) {
    let store = table(factory, "conditional-delete", pk_sk()).await;
    let doc = item("a", 1).with("state", "open");
    store
        .put(doc.clone(), PutItemOptions::new())
        .await
        .expect("put");
    let closed_only = || DeleteItemOptions::new().condition(attr("state").eq("closed"));
    let result = store.delete(&key("a", 1), closed_only()).await;
    expect_kind(
        result,
        ErrorKind::PreconditionFailed,
        "delete when state <> closed",
    );
    assert_eq!(get(&*store, &key("a", 1)).await, Some(doc), "item changed");
    let result = store
        .delete(
            &key("b", 1),
            DeleteItemOptions::new().condition(attr("pk").exists()),
        )
        .await;
    expect_kind(
        result,
        ErrorKind::PreconditionFailed,
        "delete of a missing item that must exist",
    );
    let open_only = DeleteItemOptions::new().condition(attr("state").eq("open"));
    store
        .delete(&key("a", 1), open_only)
        .await
        .expect("delete when open");
    assert_eq!(get(&*store, &key("a", 1)).await, None);
}

/// Condition operators follow DynamoDB: comparisons across types are false (`<>` is true),
/// numbers compare numerically, strings byte-wise, and the functions behave as documented.
pub async fn condition_operators_follow_dynamodb(factory: &dyn DocumentFactory) {
    let store = table(factory, "operators", id_only()).await;
    let doc = Document::new()
        .with("id", "x")
        .with("n", 10)
        .with("s", "hello")
        .with("b", Bytes::from_static(b"\x01\x02"))
        .with(
            "tags",
            Value::StringSet(BTreeSet::from(["red".to_owned(), "blue".to_owned()])),
        )
        .with("list", vec![Value::from(1), Value::from("two")])
        .with("map", Document::new().with("inner", 5))
        .with("nothing", Value::Null);
    store.put(doc, PutItemOptions::new()).await.expect("put");
    let cases: Vec<(Condition, bool)> = vec![
        (attr("n").eq(10), true),
        (attr("n").eq(num("10.00")), true),
        (attr("n").eq("10"), false),
        (attr("n").ne("10"), true),
        (attr("missing").ne(1), true),
        (attr("n").lt(9), false),
        (attr("n").le(10), true),
        (attr("n").gt(9), true),
        (attr("n").ge(num("10.5")), false),
        (attr("n").gt("1"), false),
        (attr("s").lt("hellp"), true),
        (attr("s").gt("Hello"), true),
        (attr("b").gt(Bytes::from_static(b"\x01")), true),
        (attr("n").between(1, 10), true),
        (attr("n").between(11, 20), false),
        (attr("s").begins_with("he"), true),
        (attr("s").begins_with("lo"), false),
        (attr("s").contains("ell"), true),
        (attr("tags").contains("red"), true),
        (attr("tags").contains("green"), false),
        (attr("list").contains("two"), true),
        (attr("s").size().eq(5), true),
        (attr("tags").size().eq(2), true),
        (attr("list").size().gt(1), true),
        (attr("n").is_in([1, 10]), true),
        (attr("n").is_in(["10"]), false),
        (attr("map").field("inner").eq(5), true),
        (attr("list").index(1).eq("two"), true),
        (attr("nothing").eq(Value::Null), true),
        (attr("nothing").exists(), true),
        (attr("missing").exists(), false),
        (attr("n").eq(1).or(attr("s").eq("hello")), true),
        (attr("n").eq(10).and(attr("s").eq("bye")), false),
        (attr("n").eq(1).not(), true),
    ];
    for (condition, expected) in cases {
        let result = store
            .update(
                &DocKey::partition("x"),
                &crate::document::Update::new().set("touched", true),
                UpdateOptions::new().condition(condition.clone()),
            )
            .await;
        match (result, expected) {
            (Ok(_), true) => {}
            (Err(e), false) if e.kind() == ErrorKind::PreconditionFailed => {}
            (Ok(_), false) => panic!("{condition:?} held, but should not"),
            (Err(e), _) => panic!("{condition:?}: expected it to hold={expected}, got {e}"),
        }
    }
}
