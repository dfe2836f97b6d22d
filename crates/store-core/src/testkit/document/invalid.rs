//! Behaviours of bad input: every one is `InvalidInput`, before anything is written.

use std::collections::BTreeSet;

use super::{DocumentFactory, expect_kind, get, id_only, item, key, pk_sk, table};
use crate::document::{
    Condition, DeleteItemOptions, GetItemOptions, MAX_ITEM_BYTES, MAX_TRANSACTION_ACTIONS, Path,
    PutItemOptions, Query, Scan, SortCondition, TransactAction, Update, UpdateOptions, attr,
};
use crate::error::ErrorKind;
use crate::keys::DocKey;
use crate::value::{Document, Number, Value};

const INVALID: ErrorKind = ErrorKind::InvalidInput;

/// A key value of the wrong type is `InvalidInput` for get, put, update and delete.
pub async fn wrong_key_type_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "wrong-key-type", pk_sk()).await;
    let bad = DocKey::partition("a").with_sort("one");
    expect_kind(store.get(&bad, GetItemOptions::new()).await, INVALID, "get");
    expect_kind(
        store.delete(&bad, DeleteItemOptions::new()).await,
        INVALID,
        "delete",
    );
    let update = Update::new().set("x", 1);
    expect_kind(
        store.update(&bad, &update, UpdateOptions::new()).await,
        INVALID,
        "update",
    );
    let doc = Document::new().with("pk", 7).with("sk", 1);
    expect_kind(
        store.put(doc, PutItemOptions::new()).await,
        INVALID,
        "put with a number pk",
    );
    let doc = Document::new().with("pk", "a").with("sk", true);
    expect_kind(
        store.put(doc, PutItemOptions::new()).await,
        INVALID,
        "put with a bool sk",
    );
}

/// A sort value for a table without a sort key is `InvalidInput`.
pub async fn sort_value_without_sort_key_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "sort-without-sort-key", id_only()).await;
    let bad = DocKey::partition("a").with_sort(1);
    expect_kind(store.get(&bad, GetItemOptions::new()).await, INVALID, "get");
    expect_kind(
        store.delete(&bad, DeleteItemOptions::new()).await,
        INVALID,
        "delete",
    );
    let query = Query::partition("a").sort(SortCondition::Eq(1.into()));
    expect_kind(
        store.query_page(&query, None).await,
        INVALID,
        "query with a sort condition",
    );
}

/// A key without the sort value a table needs is `InvalidInput`.
pub async fn missing_sort_value_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "missing-sort-value", pk_sk()).await;
    let bad = DocKey::partition("a");
    expect_kind(store.get(&bad, GetItemOptions::new()).await, INVALID, "get");
    let update = Update::new().set("x", 1);
    expect_kind(
        store.update(&bad, &update, UpdateOptions::new()).await,
        INVALID,
        "update",
    );
    expect_kind(store.transact_get(&[bad]).await, INVALID, "transact_get");
}

/// Empty string key values are `InvalidInput` in keys, items and queries.
pub async fn empty_key_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "empty-key", pk_sk()).await;
    let bad = DocKey::partition("").with_sort(1);
    expect_kind(store.get(&bad, GetItemOptions::new()).await, INVALID, "get");
    expect_kind(
        store.delete(&bad, DeleteItemOptions::new()).await,
        INVALID,
        "delete",
    );
    expect_kind(
        store.put(item("", 1), PutItemOptions::new()).await,
        INVALID,
        "put",
    );
    expect_kind(
        store.query_page(&Query::partition(""), None).await,
        INVALID,
        "query",
    );
}

/// An item without its key attributes is `InvalidInput`.
pub async fn missing_key_attribute_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "missing-key-attr", pk_sk()).await;
    let doc = Document::new().with("pk", "a").with("other", 1);
    expect_kind(
        store.put(doc, PutItemOptions::new()).await,
        INVALID,
        "put without sk",
    );
    let doc = Document::new().with("sk", 1);
    expect_kind(
        store.put(doc, PutItemOptions::new()).await,
        INVALID,
        "put without pk",
    );
}

/// An item over 400 KB is `InvalidInput` (naming the key) and is not stored.
pub async fn oversized_item_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "oversized", pk_sk()).await;
    let doc = item("big", 1).with("blob", "x".repeat(MAX_ITEM_BYTES + 1));
    let err = store
        .put(doc, PutItemOptions::new())
        .await
        .expect_err("an item over 400 KB must be refused");
    assert_eq!(err.kind(), INVALID, "{err}");
    assert!(
        err.to_string().contains("big"),
        "the error should name the key: {err}"
    );
    assert_eq!(get(&*store, &key("big", 1)).await, None);
    // 8 KiB under the limit: emulators count sizes a little differently (moto caps items at
    // 405,000 bytes), and the growth below crosses every one of them.
    let near = item("near", 1).with("blob", "x".repeat(MAX_ITEM_BYTES - 8 * 1024));
    store
        .put(near, PutItemOptions::new())
        .await
        .expect("an item just under the limit");
    let grow = Update::new().set("more", "y".repeat(10 * 1024));
    let result = store
        .update(&key("near", 1), &grow, UpdateOptions::new())
        .await;
    expect_kind(
        result,
        INVALID,
        "an update that grows the item past the limit",
    );
}

/// Values DynamoDB cannot store are `InvalidInput`: empty sets and numbers with more than 38
/// significant digits or outside its range.
pub async fn unstorable_values_are_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "unstorable", pk_sk()).await;
    let numbers = [
        "123456789012345678901234567890123456789",
        "1E-131",
        "1E+126",
    ];
    for text in numbers {
        let n: Number = text.parse().expect("number");
        let doc = item("a", 1).with("n", n);
        expect_kind(store.put(doc, PutItemOptions::new()).await, INVALID, text);
    }
    let empty = Value::StringSet(BTreeSet::new());
    let doc = item("a", 1).with("tags", empty.clone());
    expect_kind(
        store.put(doc, PutItemOptions::new()).await,
        INVALID,
        "put with an empty set",
    );
    let update = Update::new().add("tags", empty);
    let result = store
        .update(&key("a", 1), &update, UpdateOptions::new())
        .await;
    expect_kind(result, INVALID, "add of an empty set");
    assert_eq!(
        get(&*store, &key("a", 1)).await,
        None,
        "something was written"
    );
}

/// More than 100 actions in a transaction is `InvalidInput`, and nothing is written.
pub async fn too_many_transaction_actions_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "too-many-actions", pk_sk()).await;
    let over = i64::try_from(MAX_TRANSACTION_ACTIONS).unwrap_or(100) + 1;
    let actions = (0..over)
        .map(|i| TransactAction::Put {
            item: item("p", i),
            condition: None,
        })
        .collect();
    expect_kind(store.transact_write(actions).await, INVALID, "101 actions");
    assert_eq!(
        get(&*store, &key("p", 0)).await,
        None,
        "something was written"
    );
    let keys: Vec<DocKey> = (0..over).map(|i| key("p", i)).collect();
    expect_kind(
        store.transact_get(&keys).await,
        INVALID,
        "transact_get of 101 keys",
    );
}

/// Two actions on one item in a transaction is `InvalidInput`.
pub async fn transaction_touching_one_item_twice_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "one-item-twice", pk_sk()).await;
    let actions = vec![
        TransactAction::Put {
            item: item("a", 1),
            condition: None,
        },
        TransactAction::Update {
            key: key("a", 1),
            update: Update::new().set("x", 1),
            condition: None,
        },
    ];
    expect_kind(
        store.transact_write(actions).await,
        INVALID,
        "put and update of one item",
    );
    assert_eq!(
        get(&*store, &key("a", 1)).await,
        None,
        "something was written"
    );
}

/// An update that sets, removes or adds to a key attribute is `InvalidInput`.
pub async fn update_of_a_key_attribute_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "update-key-attr", pk_sk()).await;
    store
        .put(item("a", 1), PutItemOptions::new())
        .await
        .expect("put");
    for update in [
        Update::new().set("pk", "b"),
        Update::new().remove("sk"),
        Update::new().add("sk", 1),
    ] {
        let result = store
            .update(&key("a", 1), &update, UpdateOptions::new())
            .await;
        expect_kind(result, INVALID, &format!("{update:?}"));
    }
    assert_eq!(
        get(&*store, &key("a", 1)).await,
        Some(item("a", 1)),
        "item changed"
    );
}

/// An update naming one path twice, or a path and its parent, is `InvalidInput`.
pub async fn update_naming_a_path_twice_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "update-path-twice", pk_sk()).await;
    let doc = item("a", 1).with("m", Document::new().with("x", 1));
    store
        .put(doc.clone(), PutItemOptions::new())
        .await
        .expect("put");
    for update in [
        Update::new().set("v", 1).set("v", 2),
        Update::new().set("v", 1).remove("v"),
        Update::new().set("m", 1).set(Path::attr("m").field("x"), 2),
    ] {
        let result = store
            .update(&key("a", 1), &update, UpdateOptions::new())
            .await;
        expect_kind(result, INVALID, &format!("{update:?}"));
    }
    assert_eq!(get(&*store, &key("a", 1)).await, Some(doc), "item changed");
}

/// Malformed queries are `InvalidInput`: no partition value, a partition value of the wrong
/// type, a sort bound of the wrong type, `begins_with` on a number sort key, reversed
/// `BETWEEN` bounds, a page size of 0, an unknown index.
pub async fn malformed_query_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "malformed-query", pk_sk()).await;
    let queries = [
        Query::default(),
        Query::partition(1),
        Query::partition("a").sort(SortCondition::Gt("x".into())),
        Query::partition("a").sort(SortCondition::BeginsWith("1".into())),
        Query::partition("a").sort(SortCondition::Between(5.into(), 1.into())),
        Query::partition("a").page_size(0),
        Query::partition("a").index("no-such-index"),
    ];
    for query in queries {
        let what = format!("{query:?}");
        expect_kind(store.query_page(&query, None).await, INVALID, &what);
    }
}

/// Malformed conditions are `InvalidInput`: ordering against a bool or list, `BETWEEN` with
/// reversed or mixed bounds, `begins_with` with a number, an empty `IN`.
pub async fn malformed_condition_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "malformed-condition", pk_sk()).await;
    store
        .put(item("a", 1).with("n", 5), PutItemOptions::new())
        .await
        .expect("put");
    let conditions = [
        attr("n").lt(true),
        attr("n").between(9, 1),
        attr("n").between(1, "9"),
        attr("n").begins_with(5),
        Condition::In(Path::attr("n"), vec![]),
    ];
    for condition in conditions {
        let options = PutItemOptions::new().condition(condition.clone());
        let result = store.put(item("a", 1), options).await;
        expect_kind(result, INVALID, &format!("{condition:?}"));
    }
    assert_eq!(
        get(&*store, &key("a", 1)).await,
        Some(item("a", 1).with("n", 5))
    );
}

/// More than 100 distinct keys in one batch get is `InvalidInput`.
pub async fn too_many_batch_get_keys_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "batch-get-limit", pk_sk()).await;
    let keys: Vec<DocKey> = (0..101).map(|i| key("p", i)).collect();
    expect_kind(
        store.batch_get(&keys, GetItemOptions::new()).await,
        INVALID,
        "101 keys",
    );
    let repeated: Vec<DocKey> = (0..150).map(|i| key("p", i % 50)).collect();
    let found = store
        .batch_get(&repeated, GetItemOptions::new())
        .await
        .expect("150 keys of which 50 are distinct");
    assert!(found.is_empty());
}

/// A scan segment outside `0..total`, or a total of 0, is `InvalidInput`.
pub async fn bad_scan_segment_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "bad-segment", pk_sk()).await;
    for (index, total) in [(4, 4), (0, 0), (7, 3)] {
        let scan = Scan::new().segment(index, total);
        let what = format!("segment {index} of {total}");
        expect_kind(store.scan_page(&scan, None).await, INVALID, &what);
    }
}

/// `depth` maps nested in each other around a number: `{"n": {"n": … 7}}`.
fn nested_maps(depth: usize) -> Value {
    (0..depth).fold(Value::from(7), |inner, _| {
        Value::Map(Document::new().with("n", inner))
    })
}

/// Values nested past DynamoDB's 32 levels are `InvalidInput` in puts, updates, conditions and
/// batches, before anything is written; a value at the limit is stored and read back whole.
pub async fn nesting_past_dynamodb_limit_is_invalid_input(factory: &dyn DocumentFactory) {
    use crate::document::validate::MAX_NESTING_DEPTH;
    use crate::document::{BatchWriteOptions, WriteOp};
    let store = table(factory, "nesting-limit", id_only()).await;
    // An attribute is level 1: 31 maps around a number put the number at level 32.
    let deepest = nested_maps(MAX_NESTING_DEPTH - 1);
    let ok = Document::new()
        .with("id", "ok")
        .with("deep", deepest.clone());
    store
        .put(ok.clone(), PutItemOptions::new())
        .await
        .expect("a value at the nesting limit is stored");
    assert_eq!(
        get(store.as_ref(), &DocKey::partition("ok")).await,
        Some(ok)
    );

    let too_deep = nested_maps(MAX_NESTING_DEPTH);
    let item = Document::new()
        .with("id", "deep")
        .with("deep", too_deep.clone());
    expect_kind(
        store.put(item.clone(), PutItemOptions::new()).await,
        INVALID,
        "put",
    );
    let list_deep = (0..MAX_NESTING_DEPTH).fold(Value::from(1), |v, _| Value::List(vec![v]));
    expect_kind(
        store
            .put(
                Document::new().with("id", "deep").with("l", list_deep),
                PutItemOptions::new(),
            )
            .await,
        INVALID,
        "put of nested lists",
    );
    expect_kind(
        store
            .update(
                &DocKey::partition("deep"),
                &Update::new().set("deep", too_deep.clone()),
                UpdateOptions::new(),
            )
            .await,
        INVALID,
        "update",
    );
    let condition = attr("deep").eq(too_deep);
    expect_kind(
        store
            .put(
                Document::new().with("id", "deep"),
                PutItemOptions::new().condition(condition),
            )
            .await,
        INVALID,
        "condition value",
    );
    let report = store
        .batch_write(vec![WriteOp::Put(item)], BatchWriteOptions::default())
        .await
        .expect("a batch reports bad writes instead of failing whole");
    assert_eq!(report.failed.len(), 1, "the too-deep put is reported");
    assert_eq!(report.failed[0].1.kind(), INVALID);
    assert_eq!(
        get(store.as_ref(), &DocKey::partition("deep")).await,
        None,
        "nothing was written"
    );
}

/// Attribute names past 64 KB, key values past 2,048 (partition) or 1,024 (sort) bytes and
/// conditions of more than 300 operators are `InvalidInput` before any request.
pub async fn dynamodb_size_limits_are_invalid_input(factory: &dyn DocumentFactory) {
    use crate::document::validate::{
        MAX_ATTRIBUTE_NAME_BYTES, MAX_EXPRESSION_OPERATORS, MAX_PARTITION_KEY_BYTES,
        MAX_SORT_KEY_BYTES,
    };
    let store = table(factory, "size-limits", pk_sk()).await;
    let long_name = "a".repeat(MAX_ATTRIBUTE_NAME_BYTES + 1);
    let base = || Document::new().with("pk", "p").with("sk", 1);
    expect_kind(
        store
            .put(base().with(long_name.as_str(), 1), PutItemOptions::new())
            .await,
        INVALID,
        "a top-level name past 64 KB",
    );
    expect_kind(
        store
            .put(
                base().with("m", Document::new().with(long_name.as_str(), 1)),
                PutItemOptions::new(),
            )
            .await,
        INVALID,
        "a nested name past 64 KB",
    );
    let long_pk = "p".repeat(MAX_PARTITION_KEY_BYTES + 1);
    expect_kind(
        store
            .put(
                Document::new().with("pk", long_pk.as_str()).with("sk", 1),
                PutItemOptions::new(),
            )
            .await,
        INVALID,
        "a partition key past 2,048 bytes",
    );
    expect_kind(
        store
            .get(
                &DocKey::partition(long_pk.as_str()).with_sort(1),
                GetItemOptions::new(),
            )
            .await,
        INVALID,
        "get with a partition key past 2,048 bytes",
    );
    let sk_store = table(
        factory,
        "size-limits-sk",
        crate::keys::KeySchema::partition("pk", crate::keys::KeyType::String)
            .with_sort("sk", crate::keys::KeyType::String),
    )
    .await;
    let long_sk = "s".repeat(MAX_SORT_KEY_BYTES + 1);
    expect_kind(
        sk_store
            .put(
                Document::new().with("pk", "p").with("sk", long_sk.as_str()),
                PutItemOptions::new(),
            )
            .await,
        INVALID,
        "a sort key past 1,024 bytes",
    );
    // At the limits, everything is stored.
    sk_store
        .put(
            Document::new()
                .with("pk", "p".repeat(MAX_PARTITION_KEY_BYTES))
                .with("sk", "s".repeat(MAX_SORT_KEY_BYTES)),
            PutItemOptions::new(),
        )
        .await
        .expect("keys at the limits are stored");
    let many = Condition::Or(
        (0..=MAX_EXPRESSION_OPERATORS)
            .map(|i| attr("x").eq(i as i64))
            .collect(),
    );
    expect_kind(
        store
            .put(base(), PutItemOptions::new().condition(many))
            .await,
        INVALID,
        "a condition of more than 300 operators",
    );
}
