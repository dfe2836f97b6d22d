//! Behaviours of updates.

use std::collections::BTreeSet;

use super::{DocumentFactory, expect_kind, get, item, key, pk_sk, query_all, scan_all, table};
use crate::document::{
    DeleteItemOptions, GetItemOptions, Path, PutItemOptions, Query, ReturnValues, Scan, Update,
    UpdateOptions, attr,
};
use crate::error::ErrorKind;
use crate::value::{Document, Number, Value};

fn num(text: &str) -> Number {
    text.parse()
        .unwrap_or_else(|e| panic!("test number {text:?}: {e}"))
}

fn strings(items: &[&str]) -> Value {
    Value::StringSet(items.iter().map(|s| (*s).to_owned()).collect())
}

async fn apply(store: &dyn crate::DocumentStore, pk: &str, update: Update) -> Document {
    store
        .update(
            &key(pk, 1),
            &update,
            UpdateOptions::new().returns(ReturnValues::AllNew),
        )
        .await
        .unwrap_or_else(|e| panic!("update {update:?} failed: {e}"))
        .unwrap_or_else(|| panic!("update {update:?} with AllNew returned nothing"))
}

/// `set` writes attributes and `remove` drops them, leaving the others alone.
pub async fn update_sets_and_removes(factory: &dyn DocumentFactory) {
    let store = table(factory, "update-set-remove", pk_sk()).await;
    let doc = item("a", 1)
        .with("keep", 1)
        .with("drop", 2)
        .with("change", "old");
    store.put(doc, PutItemOptions::new()).await.expect("put");
    let update = Update::new()
        .set("change", "new")
        .set("added", true)
        .remove("drop");
    let new = apply(&*store, "a", update).await;
    let expected = item("a", 1)
        .with("keep", 1)
        .with("change", "new")
        .with("added", true);
    assert_eq!(new, expected);
    assert_eq!(get(&*store, &key("a", 1)).await, Some(expected));
    let new = apply(&*store, "a", Update::new().remove("never-there")).await;
    assert!(
        !new.contains("never-there"),
        "removing a missing attribute is a no-op"
    );
}

/// `add` sums numbers exactly (no float), and a missing number starts at 0.
pub async fn update_adds_numbers_exactly(factory: &dyn DocumentFactory) {
    let store = table(factory, "update-add-number", pk_sk()).await;
    store
        .put(item("a", 1), PutItemOptions::new())
        .await
        .expect("put");
    let new = apply(&*store, "a", Update::new().add("n", num("0.1"))).await;
    assert_eq!(
        new.get("n"),
        Some(&Value::Number(num("0.1"))),
        "missing counts as 0"
    );
    let new = apply(&*store, "a", Update::new().add("n", num("0.2"))).await;
    assert_eq!(
        new.get("n"),
        Some(&Value::Number(num("0.3"))),
        "0.1 + 0.2 must be 0.3"
    );
    let big = num("99999999999999999999999999999999999990");
    let new = apply(
        &*store,
        "a",
        Update::new().add("big", big.clone()).add("n", -1),
    )
    .await;
    assert_eq!(new.get("big"), Some(&Value::Number(big)));
    assert_eq!(new.get("n"), Some(&Value::Number(num("-0.7"))));
}

/// `add` of a set unites (creating the set); `delete_from_set` removes elements, and the
/// attribute disappears when its last element goes.
pub async fn update_adds_and_deletes_set_elements(factory: &dyn DocumentFactory) {
    let store = table(factory, "update-sets", pk_sk()).await;
    store
        .put(item("a", 1), PutItemOptions::new())
        .await
        .expect("put");
    let new = apply(
        &*store,
        "a",
        Update::new().add("tags", strings(&["x", "y"])),
    )
    .await;
    assert_eq!(new.get("tags"), Some(&strings(&["x", "y"])));
    let numbers = Value::NumberSet(BTreeSet::from([num("1"), num("2")]));
    let update = Update::new()
        .add("tags", strings(&["y", "z"]))
        .add("nums", numbers.clone());
    let new = apply(&*store, "a", update).await;
    assert_eq!(new.get("tags"), Some(&strings(&["x", "y", "z"])));
    assert_eq!(new.get("nums"), Some(&numbers));
    let new = apply(
        &*store,
        "a",
        Update::new().delete_from_set("tags", strings(&["x", "q"])),
    )
    .await;
    assert_eq!(new.get("tags"), Some(&strings(&["y", "z"])));
    let new = apply(
        &*store,
        "a",
        Update::new().delete_from_set("tags", strings(&["y", "z"])),
    )
    .await;
    assert!(
        !new.contains("tags"),
        "an emptied set must be removed: {new:?}"
    );
    let stored = get(&*store, &key("a", 1)).await.expect("item");
    assert!(
        !stored.contains("tags"),
        "an emptied set must be removed: {stored:?}"
    );
}

/// `append` extends a list, creating it when missing, keeping order.
pub async fn update_appends_to_lists(factory: &dyn DocumentFactory) {
    let store = table(factory, "update-append", pk_sk()).await;
    store
        .put(item("a", 1), PutItemOptions::new())
        .await
        .expect("put");
    let new = apply(&*store, "a", Update::new().append("log", ["created"])).await;
    assert_eq!(new.get("log"), Some(&Value::from(vec!["created"])));
    let new = apply(
        &*store,
        "a",
        Update::new().append("log", ["paid", "shipped"]),
    )
    .await;
    assert_eq!(
        new.get("log"),
        Some(&Value::from(vec!["created", "paid", "shipped"]))
    );
}

/// `set_if_not_exists` writes only attributes that are missing.
pub async fn update_set_if_not_exists(factory: &dyn DocumentFactory) {
    let store = table(factory, "update-if-not-exists", pk_sk()).await;
    store
        .put(
            item("a", 1).with("created", "monday"),
            PutItemOptions::new(),
        )
        .await
        .expect("put");
    let update = Update::new()
        .set_if_not_exists("created", "tuesday")
        .set_if_not_exists("first_seen", "tuesday");
    let new = apply(&*store, "a", update).await;
    assert_eq!(
        new.get("created"),
        Some(&Value::from("monday")),
        "existing value replaced"
    );
    assert_eq!(
        new.get("first_seen"),
        Some(&Value::from("tuesday")),
        "missing value not set"
    );
}

/// Updates reach into maps (including field names with dots) and list elements.
pub async fn update_reaches_nested_paths(factory: &dyn DocumentFactory) {
    let store = table(factory, "update-nested", pk_sk()).await;
    let doc = item("a", 1)
        .with(
            "address",
            Document::new()
                .with("city", "Oslo")
                .with("zip.code", "0150"),
        )
        .with("scores", vec![1, 2, 3]);
    store.put(doc, PutItemOptions::new()).await.expect("put");
    let update = Update::new()
        .set(Path::attr("address").field("city"), "Bergen")
        .set(Path::attr("address").field("zip.code"), "5003")
        .set(Path::attr("scores").index(1), 20)
        .remove(Path::attr("scores").index(0));
    let new = apply(&*store, "a", update).await;
    let address = Document::new()
        .with("city", "Bergen")
        .with("zip.code", "5003");
    assert_eq!(new.get("address"), Some(&Value::Map(address)));
    assert_eq!(new.get("scores"), Some(&Value::from(vec![20, 3])));
}

/// An update of a missing item creates it from its key (an upsert, as in DynamoDB).
pub async fn update_creates_a_missing_item(factory: &dyn DocumentFactory) {
    let store = table(factory, "update-upsert", pk_sk()).await;
    let update = Update::new().set("name", "new").add("count", 1);
    store
        .update(&key("fresh", 1), &update, UpdateOptions::new())
        .await
        .expect("update of a missing item");
    let expected = item("fresh", 1).with("name", "new").with("count", 1);
    assert_eq!(get(&*store, &key("fresh", 1)).await, Some(expected));
}

/// `ReturnValues` picks what an update returns: nothing, the old item or the new item.
pub async fn update_returns_old_or_new_item(factory: &dyn DocumentFactory) {
    let store = table(factory, "update-returns", pk_sk()).await;
    let old = item("a", 1).with("v", 1);
    store
        .put(old.clone(), PutItemOptions::new())
        .await
        .expect("put");
    let update = |v: i64| Update::new().set("v", v);
    let none = store
        .update(&key("a", 1), &update(2), UpdateOptions::new())
        .await
        .expect("update");
    assert_eq!(none, None, "ReturnValues::None returns nothing");
    let before = store
        .update(
            &key("a", 1),
            &update(3),
            UpdateOptions::new().returns(ReturnValues::AllOld),
        )
        .await
        .expect("update");
    assert_eq!(before, Some(item("a", 1).with("v", 2)));
    let after = store
        .update(
            &key("a", 1),
            &update(4),
            UpdateOptions::new().returns(ReturnValues::AllNew),
        )
        .await
        .expect("update");
    assert_eq!(after, Some(item("a", 1).with("v", 4)));
    let created = store
        .update(
            &key("b", 1),
            &update(1),
            UpdateOptions::new().returns(ReturnValues::AllOld),
        )
        .await
        .expect("update");
    assert_eq!(created, None, "a created item has no old version");
}

/// An update whose condition fails is `PreconditionFailed` and changes nothing; on a missing
/// item it creates nothing.
pub async fn failed_update_condition_changes_nothing(factory: &dyn DocumentFactory) {
    let store = table(factory, "update-condition", pk_sk()).await;
    let doc = item("a", 1).with("version", 1).with("v", "one");
    store
        .put(doc.clone(), PutItemOptions::new())
        .await
        .expect("put");
    let update = Update::new().set("v", "two").add("version", 1);
    let stale = UpdateOptions::new().condition(attr("version").eq(0));
    let result = store.update(&key("a", 1), &update, stale).await;
    expect_kind(
        result,
        ErrorKind::PreconditionFailed,
        "update with a stale version",
    );
    assert_eq!(get(&*store, &key("a", 1)).await, Some(doc), "item changed");
    let must_exist = UpdateOptions::new().condition(attr("pk").exists());
    let result = store.update(&key("ghost", 1), &update, must_exist).await;
    expect_kind(
        result,
        ErrorKind::PreconditionFailed,
        "update of a missing item that must exist",
    );
    assert_eq!(
        get(&*store, &key("ghost", 1)).await,
        None,
        "the update created an item"
    );
    let current = UpdateOptions::new().condition(attr("version").eq(1));
    store
        .update(&key("a", 1), &update, current)
        .await
        .expect("update with the current version");
    let stored = get(&*store, &key("a", 1)).await.expect("item");
    assert_eq!(stored.get("version"), Some(&Value::from(2)));
}

/// Reserved words and names with dots, spaces or dashes work in conditions, updates, filters
/// and projections, as names and never as syntax.
pub async fn odd_attribute_names_work_everywhere(factory: &dyn DocumentFactory) {
    let store = table(factory, "odd-names", pk_sk()).await;
    let names = [
        "name",
        "status",
        "size",
        "a.b",
        "with space",
        "dash-name",
        "#hash",
        ":colon",
    ];
    let mut doc = item("a", 1);
    for (i, name) in names.iter().enumerate() {
        doc.insert(*name, i64::try_from(i).unwrap_or_default());
    }
    store
        .put(doc, PutItemOptions::new())
        .await
        .expect("put with odd names");
    for (i, name) in names.iter().enumerate() {
        let i = i64::try_from(i).unwrap_or_default();
        let update = Update::new().add(*name, 100);
        let condition = UpdateOptions::new()
            .condition(attr(*name).eq(i).and(attr(*name).exists()))
            .returns(ReturnValues::AllNew);
        let new = store
            .update(&key("a", 1), &update, condition)
            .await
            .unwrap_or_else(|e| panic!("update of `{name}`: {e}"))
            .expect("AllNew");
        assert_eq!(
            new.get(name),
            Some(&Value::from(i + 100)),
            "attribute `{name}`"
        );
    }
    let projection = GetItemOptions::new()
        .consistent()
        .projection(["a.b", "with space"]);
    let back = store
        .get(&key("a", 1), projection)
        .await
        .expect("get")
        .expect("item");
    assert_eq!(
        back,
        Document::new().with("a.b", 103).with("with space", 104)
    );
    let filtered = query_all(
        &*store,
        Query::partition("a")
            .consistent()
            .filter(attr("status").eq(101).and(attr("dash-name").ge(105)))
            .projection(["size", "name"]),
    )
    .await;
    assert_eq!(
        filtered,
        vec![Document::new().with("name", 100).with("size", 102)]
    );
    let scanned = scan_all(&*store, Scan::new().filter(attr(":colon").gt(106))).await;
    assert_eq!(scanned.len(), 1, "scan with a filter on `:colon`");
    let gone = store
        .delete(
            &key("a", 1),
            DeleteItemOptions::new()
                .condition(attr("#hash").eq(106))
                .return_old(),
        )
        .await
        .expect("delete with a condition on `#hash`");
    assert!(gone.is_some());
}
