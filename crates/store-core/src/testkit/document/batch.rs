//! Behaviours of batches, transactions and typed access.

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::{DocumentFactory, expect_kind, get, item, key, pk_sk, scan_all, sort_keys, table};
use crate::document::{
    BatchWriteOptions, DocumentStoreExt, GetItemOptions, PutItemOptions, Query, Scan,
    TransactAction, Update, WriteOp, attr,
};
use crate::error::ErrorKind;
use crate::keys::DocKey;
use crate::value::{Document, Number, StringSet, Value};

/// A batch get of many keys, with duplicates and missing keys, returns each existing item
/// once and nothing for the missing ones.
pub async fn batch_get_many_with_duplicates_and_missing(factory: &dyn DocumentFactory) {
    let store = table(factory, "batch-get", pk_sk()).await;
    let ops = (0..60)
        .map(|i| WriteOp::Put(item("p", i).with("v", i)))
        .collect();
    let report = store
        .batch_write(ops, BatchWriteOptions::default())
        .await
        .expect("batch write");
    assert!(report.is_complete(), "{:?}", report.failed);
    let mut keys: Vec<DocKey> = (0..60).step_by(2).map(|i| key("p", i)).collect();
    keys.extend((0..10).map(|i| key("p", i * 2)));
    keys.extend((100..110).map(|i| key("p", i)));
    let found = store
        .batch_get(&keys, GetItemOptions::new().consistent())
        .await
        .expect("batch get");
    let mut found = sort_keys(&found);
    found.sort_unstable();
    assert_eq!(
        found,
        (0..60).step_by(2).collect::<Vec<_>>(),
        "each existing key once"
    );
    let projected = store
        .batch_get(&[key("p", 1)], GetItemOptions::new().projection(["v"]))
        .await
        .expect("batch get with projection");
    assert_eq!(projected, vec![Document::new().with("v", 1)]);
}

/// A batch write of many puts and deletes applies them all and reports a complete result.
pub async fn batch_write_puts_and_deletes(factory: &dyn DocumentFactory) {
    let store = table(factory, "batch-write", pk_sk()).await;
    let ops: Vec<WriteOp> = (0..70).map(|i| WriteOp::Put(item("p", i))).collect();
    let report = store
        .batch_write(ops, BatchWriteOptions::default())
        .await
        .expect("batch write");
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(report.written, 70);
    let mut ops: Vec<WriteOp> = (0..70)
        .filter(|i| i % 3 == 0)
        .map(|i| WriteOp::Delete(key("p", i)))
        .collect();
    ops.push(WriteOp::Delete(key("p", 1000)));
    ops.push(WriteOp::Put(item("p", 500).with("late", true)));
    let count = ops.len();
    let report = store
        .batch_write(ops, BatchWriteOptions::default())
        .await
        .expect("batch write");
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(
        report.written, count,
        "deleting a missing key counts as written"
    );
    let left = sort_keys(&scan_all(&*store, Scan::new()).await);
    let mut expected: Vec<i64> = (0..70).filter(|i| i % 3 != 0).collect();
    expected.push(500);
    assert_eq!(left, expected);
}

/// Invalid writes in a batch are reported in `failed` as `InvalidInput`, never dropped
/// silently, and the valid ones are written.
pub async fn batch_write_reports_invalid_ops(factory: &dyn DocumentFactory) {
    let store = table(factory, "batch-invalid", pk_sk()).await;
    let ops = vec![
        WriteOp::Put(item("p", 1)),
        WriteOp::Put(Document::new().with("pk", "no-sort-key")),
        WriteOp::Put(Document::new().with("pk", "p").with("sk", "not a number")),
        WriteOp::Delete(DocKey::partition("p")),
        WriteOp::Put(item("p", 2)),
    ];
    let report = store
        .batch_write(ops, BatchWriteOptions::default())
        .await
        .expect("batch write");
    assert_eq!(report.written, 2, "the two valid puts");
    assert_eq!(
        report.failed.len(),
        3,
        "every invalid op is reported: {:?}",
        report.failed
    );
    for (op, err) in &report.failed {
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{op:?}: {err}");
    }
    assert!(get(&*store, &key("p", 1)).await.is_some());
    assert!(get(&*store, &key("p", 2)).await.is_some());
}

/// A batch that writes one key twice writes it once and reports the later op as
/// `InvalidInput` (DynamoDB rejects duplicate keys in one batch).
pub async fn batch_write_reports_duplicate_keys(factory: &dyn DocumentFactory) {
    let store = table(factory, "batch-dupes", pk_sk()).await;
    let ops = vec![
        WriteOp::Put(item("p", 1).with("v", "first")),
        WriteOp::Put(item("p", 2)),
        WriteOp::Put(item("p", 1).with("v", "second")),
        WriteOp::Delete(key("p", 2)),
    ];
    let report = store
        .batch_write(ops, BatchWriteOptions::default())
        .await
        .expect("batch write");
    assert_eq!(report.written, 2, "the first write of each key lands");
    assert_eq!(report.failed.len(), 2, "{:?}", report.failed);
    for (op, err) in &report.failed {
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{op:?}: {err}");
    }
    let first = get(&*store, &key("p", 1)).await.expect("item p/1");
    assert_eq!(first.get("v"), Some(&Value::from("first")));
    assert!(
        get(&*store, &key("p", 2)).await.is_some(),
        "the duplicate delete did not run"
    );
}

/// An empty transaction is `InvalidInput`, as DynamoDB rejects it.
pub async fn empty_transaction_is_invalid_input(factory: &dyn DocumentFactory) {
    let store = table(factory, "transact-empty", pk_sk()).await;
    let err = store
        .transact_write(Vec::new())
        .await
        .expect_err("an empty transaction must be refused");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

/// A transaction applies puts, updates, deletes and condition checks together.
pub async fn transact_write_applies_every_kind_of_action(factory: &dyn DocumentFactory) {
    let store = table(factory, "transact-kinds", pk_sk()).await;
    for doc in [
        item("acct", 1).with("balance", 100),
        item("acct", 2).with("balance", 0),
        item("old", 1),
        item("lock", 1).with("held", false),
    ] {
        store.put(doc, PutItemOptions::new()).await.expect("put");
    }
    let actions = vec![
        TransactAction::Update {
            key: key("acct", 1),
            update: Update::new().add("balance", -30),
            condition: Some(attr("balance").ge(30)),
        },
        TransactAction::Update {
            key: key("acct", 2),
            update: Update::new().add("balance", 30),
            condition: None,
        },
        TransactAction::Put {
            item: item("log", 1).with("amount", 30),
            condition: Some(attr("pk").not_exists()),
        },
        TransactAction::Delete {
            key: key("old", 1),
            condition: Some(attr("pk").exists()),
        },
        TransactAction::ConditionCheck {
            key: key("lock", 1),
            condition: attr("held").eq(false),
        },
    ];
    store
        .transact_write(actions)
        .await
        .expect("transaction whose conditions hold");
    let balance =
        |doc: Option<Document>| doc.and_then(|d| d.get("balance").and_then(Value::as_i64));
    assert_eq!(balance(get(&*store, &key("acct", 1)).await), Some(70));
    assert_eq!(balance(get(&*store, &key("acct", 2)).await), Some(30));
    assert!(
        get(&*store, &key("log", 1)).await.is_some(),
        "put not applied"
    );
    assert!(
        get(&*store, &key("old", 1)).await.is_none(),
        "delete not applied"
    );
    assert_eq!(
        get(&*store, &key("lock", 1)).await,
        Some(item("lock", 1).with("held", false))
    );
}

/// A transaction with one failing condition writes nothing, fails with
/// `PreconditionFailed`, and reports one reason per action: `ConditionalCheckFailed` for the
/// failing action and `None` for the others.
pub async fn transact_write_is_all_or_nothing(factory: &dyn DocumentFactory) {
    let store = table(factory, "transact-atomic", pk_sk()).await;
    store
        .put(item("a", 1).with("v", 1), PutItemOptions::new())
        .await
        .expect("put");
    store
        .put(item("b", 1).with("v", 1), PutItemOptions::new())
        .await
        .expect("put");
    let actions = vec![
        TransactAction::Update {
            key: key("a", 1),
            update: Update::new().set("v", 2),
            condition: Some(attr("v").eq(1)),
        },
        TransactAction::Put {
            item: item("c", 1),
            condition: None,
        },
        TransactAction::ConditionCheck {
            key: key("b", 1),
            condition: attr("v").eq(99),
        },
        TransactAction::Delete {
            key: key("a", 2),
            condition: None,
        },
    ];
    let err = store
        .transact_write(actions)
        .await
        .expect_err("a transaction with a failing condition must fail");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(
        !err.is_retryable(),
        "a failed condition is not worth retrying: {err}"
    );
    let reasons = err.cancellation_reasons();
    assert_eq!(reasons.len(), 4, "one reason per action: {reasons:?}");
    for (i, reason) in reasons.iter().enumerate() {
        assert_eq!(reason.index, i, "{reasons:?}");
        if i == 2 {
            assert_eq!(reason.code, "ConditionalCheckFailed", "{reasons:?}");
        } else {
            assert!(reason.is_ok(), "action {i} was fine: {reasons:?}");
        }
    }
    assert_eq!(
        get(&*store, &key("a", 1)).await,
        Some(item("a", 1).with("v", 1)),
        "update applied"
    );
    assert_eq!(get(&*store, &key("c", 1)).await, None, "put applied");
}

/// `transact_get` returns the items in the order of the keys, `None` for missing ones.
pub async fn transact_get_reads_in_key_order(factory: &dyn DocumentFactory) {
    let store = table(factory, "transact-get", pk_sk()).await;
    store
        .put(item("a", 1), PutItemOptions::new())
        .await
        .expect("put");
    store
        .put(item("b", 1), PutItemOptions::new())
        .await
        .expect("put");
    let found = store
        .transact_get(&[key("b", 1), key("missing", 1), key("a", 1)])
        .await
        .expect("transact get");
    assert_eq!(found, vec![Some(item("b", 1)), None, Some(item("a", 1))]);
}

/// An order as a user's typed struct: exact numbers, sets, options, nesting, lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    pk: String,
    sk: i64,
    total: Number,
    tags: StringSet,
    note: Option<String>,
    shipping: Address,
    lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Address {
    city: String,
    zip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Line {
    sku: String,
    quantity: u32,
    price: Number,
}

fn order(sk: i64, note: Option<&str>) -> Order {
    Order {
        pk: "customer#1".into(),
        sk,
        total: "1234567890123456789.0123456789".parse().expect("number"),
        tags: ["gift".to_owned(), "rush".to_owned()].into_iter().collect(),
        note: note.map(str::to_owned),
        shipping: Address {
            city: "Lisbon".into(),
            zip: None,
        },
        lines: vec![
            Line {
                sku: "A-1".into(),
                quantity: 2,
                price: "0.10".parse().expect("number"),
            },
            Line {
                sku: "B-2".into(),
                quantity: 1,
                price: "19.99".parse().expect("number"),
            },
        ],
    }
}

/// Serde structs round-trip through `put_as`, `get_as` and `query_as` unchanged.
pub async fn typed_round_trip(factory: &dyn DocumentFactory) {
    let store = table(factory, "typed", pk_sk()).await;
    let orders = [order(1, Some("leave at door")), order(2, None)];
    for o in &orders {
        store.put_as(o).await.expect("put_as");
    }
    let back: Option<Order> = store
        .get_as(&DocKey::partition("customer#1").with_sort(1))
        .await
        .expect("get_as");
    assert_eq!(back.as_ref(), Some(&orders[0]));
    let all: Vec<Order> = store
        .query_as(Query::partition("customer#1").consistent())
        .try_collect()
        .await
        .expect("query_as");
    assert_eq!(all, orders.to_vec());
    let missing: Option<Order> = store
        .get_as(&DocKey::partition("customer#2").with_sort(1))
        .await
        .expect("get_as of a missing key");
    assert_eq!(missing, None);
    let result = store
        .get_as::<Line>(&DocKey::partition("customer#1").with_sort(1))
        .await;
    expect_kind(
        result,
        ErrorKind::InvalidInput,
        "get_as into a struct of the wrong shape",
    );
}
