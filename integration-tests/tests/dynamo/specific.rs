//! DynamoDB-specific tests of store-dynamo: GSI queries, parallel scans, big batches,
//! per-action cancellation reasons, exact numbers, reserved words, throttling retries proven
//! through the fault proxy, table administration, health and error mapping.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use integration_tests::clients::dynamo_client;
use integration_tests::names::unique_name;
use store_core::document::{
    BatchWriteOptions, DeleteItemOptions, PutItemOptions, Query, ReturnValues, Scan, SortCondition,
    TransactAction, Update, UpdateOptions, WriteOp, attr,
};
use store_core::{
    DocKey, Document, DocumentStore, DocumentStoreExt, ErrorKind, Health, KeySchema, KeyType,
    Number, Value,
};
use store_dynamo::{DynamoStore, TableAdmin, TableDefinition};

use crate::support::{TempTable, item, many, pk_sk, put_all, scan_count};

fn num(text: &str) -> Number {
    text.parse().expect("number")
}

#[tokio::test]
async fn gsi_query_through_a_store_opened_from_describe_table() {
    let index = KeySchema::partition("status", KeyType::String).with_sort("due", KeyType::Number);
    let table = TempTable::create(
        store_core::testkit::document::TableSpec::new("gsi", pk_sk())
            .with_index("by-status", index.clone()),
    )
    .await;
    // A store opened from DescribeTable knows the key schema and the index.
    let admin = TableAdmin::from_client(dynamo_client().await);
    let store = admin.open(table.store.table_name()).await.expect("open");
    assert_eq!(store.key_schema(), &pk_sk());
    assert_eq!(store.indexes()["by-status"].schema, index);
    assert!(store.indexes()["by-status"].global);
    for (pk, sk, status, due) in [
        ("a", 1, Some("open"), Some(30)),
        ("a", 2, Some("open"), Some(10)),
        ("b", 1, Some("open"), Some(20)),
        ("b", 2, Some("closed"), Some(5)),
        ("c", 1, Some("open"), None),
        ("c", 2, None, Some(1)),
    ] {
        let mut doc = item(pk, sk);
        if let Some(s) = status {
            doc.insert("status", s);
        }
        if let Some(d) = due {
            doc.insert("due", d);
        }
        store.put(doc, PutItemOptions::new()).await.expect("put");
    }
    let dues = |docs: &[Document]| -> Vec<i64> {
        docs.iter()
            .map(|d| d.get("due").and_then(Value::as_i64).expect("due"))
            .collect()
    };
    let query = Query::partition("open").index("by-status");
    let open: Vec<Document> = store
        .query(query.clone())
        .try_collect()
        .await
        .expect("query");
    assert_eq!(dues(&open), [10, 20, 30]);
    let reversed: Vec<Document> = store
        .query(query.clone().reverse().sort(SortCondition::Le(20.into())))
        .try_collect()
        .await
        .expect("query");
    assert_eq!(dues(&reversed), [20, 10]);
    // Paging on an index resumes from the cursor, and the cursor is tied to the index.
    let page = store
        .query_page(&query.clone().page_size(2), None)
        .await
        .expect("page");
    assert_eq!(dues(&page.items), [10, 20]);
    let cursor = page.next.expect("a second page");
    let err = store
        .query_page(&Query::partition("p"), Some(cursor.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let rest = store
        .query_page(&query.clone().page_size(2), Some(cursor))
        .await
        .expect("page 2");
    assert_eq!(dues(&rest.items), [30]);
    // Consistent reads on a global index are refused before anything is sent.
    let err = store
        .query_page(&query.consistent(), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn parallel_scan_total_equals_full_scan() {
    let table = TempTable::new("pscan", pk_sk()).await;
    let store = &table.store;
    put_all(store, many(300, 50)).await;
    let full = scan_count(store).await;
    assert_eq!(full, 300);
    for segments in [1, 3, 8] {
        let docs: Vec<Document> = store
            .parallel_scan(Scan::new().page_size(37), segments)
            .try_collect()
            .await
            .expect("parallel scan");
        let keys: HashSet<DocKey> = docs
            .iter()
            .map(|d| store.key_schema().key_of(d).expect("key"))
            .collect();
        assert_eq!(docs.len(), full, "{segments} segments");
        assert_eq!(keys.len(), full, "{segments} segments: duplicates");
    }
}

#[tokio::test]
async fn thousand_items_batch_written_are_all_batch_read() {
    let table = TempTable::new("batch1000", pk_sk()).await;
    let store = &table.store;
    let docs = many(1000, 200);
    let report = store
        .batch_write(
            docs.iter().cloned().map(WriteOp::Put).collect(),
            BatchWriteOptions {
                concurrency: 8,
                ..BatchWriteOptions::default()
            },
        )
        .await
        .expect("batch write");
    assert_eq!(report.written, 1000);
    assert!(report.is_complete(), "unwritten: {:?}", report.failed);
    let keys: Vec<DocKey> = docs
        .iter()
        .map(|d| store.key_schema().key_of(d).expect("key"))
        .collect();
    // One batch_get reads at most 100 keys: read in chunks, in parallel.
    let mut read = Vec::new();
    for chunk in keys.chunks(100) {
        let got = store
            .batch_get(
                chunk,
                store_core::document::GetItemOptions::new().consistent(),
            )
            .await
            .expect("batch get");
        assert_eq!(got.len(), chunk.len());
        // Results come back in the order of the keys.
        let got_keys: Vec<DocKey> = got
            .iter()
            .map(|d| store.key_schema().key_of(d).expect("key"))
            .collect();
        assert_eq!(got_keys, chunk);
        read.extend(got);
    }
    let mut all = store
        .batch_get_all(&keys, store_core::document::GetItemOptions::new(), 4)
        .await
        .expect("batch get all");
    assert_eq!(read.len(), 1000);
    assert_eq!(all.len(), 1000);
    let sort = |docs: &mut Vec<Document>| {
        docs.sort_by_key(|d| d.get("i").and_then(Value::as_i64));
    };
    sort(&mut all);
    assert_eq!(all, docs);
}

#[tokio::test]
async fn transaction_cancellation_reasons_name_each_action() {
    let table = TempTable::new("txreasons", pk_sk()).await;
    let store = &table.store;
    store
        .put(item("t", 2).with("v", 1), PutItemOptions::new())
        .await
        .expect("put");
    store
        .put(item("t", 3).with("v", 1), PutItemOptions::new())
        .await
        .expect("put");
    let actions = vec![
        TransactAction::Put {
            item: item("t", 1).with("v", 1),
            condition: Some(attr("pk").not_exists()),
        },
        TransactAction::ConditionCheck {
            key: DocKey::partition("t").with_sort(2),
            condition: attr("v").eq(2),
        },
        TransactAction::Update {
            key: DocKey::partition("t").with_sort(3),
            update: Update::new().add("v", 1),
            condition: Some(attr("v").gt(5)),
        },
        TransactAction::Delete {
            key: DocKey::partition("t").with_sort(4),
            condition: None,
        },
    ];
    let err = store.transact_write(actions).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(!err.is_retryable());
    let codes: Vec<&str> = err
        .cancellation_reasons()
        .iter()
        .map(|r| r.code.as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "None",
            "ConditionalCheckFailed",
            "ConditionalCheckFailed",
            "None"
        ],
        "{err}"
    );
    let indexes: Vec<usize> = err.cancellation_reasons().iter().map(|r| r.index).collect();
    assert_eq!(indexes, [0, 1, 2, 3]);
    // Nothing was written.
    let key = DocKey::partition("t").with_sort(1);
    let got = store
        .get(
            &key,
            store_core::document::GetItemOptions::new().consistent(),
        )
        .await
        .expect("get");
    assert_eq!(got, None);
    let got = store
        .get(
            &DocKey::partition("t").with_sort(3),
            store_core::document::GetItemOptions::new().consistent(),
        )
        .await
        .expect("get");
    assert_eq!(got.and_then(|d| d.get("v").cloned()), Some(Value::from(1)));
}

#[tokio::test]
async fn exact_numbers_at_the_edges_sets_and_binary_round_trip() {
    let table = TempTable::new("edges", pk_sk()).await;
    let store = &table.store;
    let edges = [
        "-9.9999999999999999999999999999999999999E+125",
        "-12345678901234567890123456789012345678",
        "-1E-130",
        "0",
        "1E-130",
        "0.12345678901234567890123456789012345678",
        "12345678901234567890123456789012345678",
        "9.9999999999999999999999999999999999999E+125",
    ];
    let numbers: Vec<Number> = edges.iter().map(|t| num(t)).collect();
    for (i, n) in numbers.iter().enumerate() {
        // As a sort key too, so the server orders them.
        let doc = Document::new()
            .with("pk", "edge")
            .with("sk", n.clone())
            .with("i", i as i64)
            .with("same", n.clone());
        store
            .put(doc, PutItemOptions::new())
            .await
            .expect("put edge");
    }
    let ordered: Vec<Document> = store
        .query(Query::partition("edge").consistent())
        .try_collect()
        .await
        .expect("query");
    let back: Vec<Number> = ordered
        .iter()
        .map(|d| d.get("same").and_then(Value::as_number).expect("n").clone())
        .collect();
    assert_eq!(back, numbers, "numeric order and exact values");
    for (b, n) in back.iter().zip(&numbers) {
        assert_eq!(b.significant_digits(), n.significant_digits(), "{b} vs {n}");
    }
    let doc = Document::new()
        .with("pk", "sets")
        .with("sk", 1)
        .with("ns", Value::NumberSet(numbers.iter().cloned().collect()))
        .with(
            "ss",
            Value::StringSet(BTreeSet::from([
                "ä".to_owned(),
                "b c".to_owned(),
                "#x".to_owned(),
            ])),
        )
        .with(
            "bs",
            Value::BytesSet(BTreeSet::from([
                Bytes::from_static(b"\x00"),
                Bytes::from_static(b"\xff\xfe"),
            ])),
        )
        .with("bin", Bytes::from_static(b"\x00\x01\x02\xff"))
        .with("nul", Value::Null)
        .with(
            "nested",
            Document::new().with("l", vec![Value::Number(num("1.50")), Value::Bool(true)]),
        );
    store
        .put(doc.clone(), PutItemOptions::new())
        .await
        .expect("put sets");
    let got = store
        .get(
            &DocKey::partition("sets").with_sort(1),
            store_core::document::GetItemOptions::new().consistent(),
        )
        .await
        .expect("get")
        .expect("item");
    assert_eq!(got, doc);
}

#[tokio::test]
async fn reserved_words_and_odd_names_work_in_every_expression() {
    let table = TempTable::new("reserved", pk_sk()).await;
    let store = &table.store;
    let names = [
        "name",
        "status",
        "size",
        "count",
        "date",
        "a.b",
        "with-dash",
        "with space",
        "#hash",
        ":colon",
    ];
    let mut doc = item("r", 1);
    for (i, n) in names.iter().enumerate() {
        doc.insert(*n, i as i64);
    }
    // Conditions.
    store
        .put(
            doc.clone(),
            PutItemOptions::new().condition(attr("status").not_exists()),
        )
        .await
        .expect("create-only put");
    let err = store
        .put(
            doc.clone(),
            PutItemOptions::new().condition(attr("status").not_exists()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    // Updates of every kind on reserved and odd names, under a condition on them.
    let update = Update::new()
        .set("name", "renamed")
        .add("count", 10)
        .remove("date")
        .set("a.b", "dotted")
        .append("with space", [1]);
    let condition = attr("size")
        .eq(2)
        .and(attr("with-dash").ge(0))
        .and(attr("#hash").exists());
    let err = store
        .update(
            &DocKey::partition("r").with_sort(1),
            &Update::new().set("with space", vec![0]),
            UpdateOptions::new(),
        )
        .await;
    err.expect("set a list");
    let new = store
        .update(
            &DocKey::partition("r").with_sort(1),
            &update,
            UpdateOptions::new()
                .condition(condition)
                .returns(ReturnValues::AllNew),
        )
        .await
        .expect("update")
        .expect("new");
    assert_eq!(new.get("name"), Some(&Value::from("renamed")));
    assert_eq!(new.get("count"), Some(&Value::from(13)));
    assert_eq!(new.get("date"), None);
    assert_eq!(new.get("a.b"), Some(&Value::from("dotted")));
    assert_eq!(new.get("with space"), Some(&Value::from(vec![0, 1])));
    // Filters and projections, in queries and scans.
    let query = Query::partition("r")
        .filter(attr("status").eq(1).and(attr(":colon").eq(9)))
        .projection(["name", "a.b", "with-dash"]);
    let found: Vec<Document> = store.query(query).try_collect().await.expect("query");
    assert_eq!(
        found,
        [Document::new()
            .with("name", "renamed")
            .with("a.b", "dotted")
            .with("with-dash", 6)]
    );
    let scanned: Vec<Document> = store
        .scan(
            Scan::new()
                .filter(attr("size").between(0, 5))
                .projection(["size", "#hash"]),
        )
        .try_collect()
        .await
        .expect("scan");
    assert_eq!(scanned, [Document::new().with("size", 2).with("#hash", 8)]);
    // Delete under a condition on a reserved word.
    let old = store
        .delete(
            &DocKey::partition("r").with_sort(1),
            DeleteItemOptions::new()
                .condition(attr("name").begins_with("ren"))
                .return_old(),
        )
        .await
        .expect("delete")
        .expect("old");
    assert_eq!(old.get("count"), Some(&Value::from(13)));
}

#[tokio::test]
async fn server_errors_map_to_typed_kinds_with_context() {
    let missing = unique_name("missing");
    let store = DynamoStore::from_client(dynamo_client().await, &missing, pk_sk()).expect("store");
    let err = store
        .get(&DocKey::partition("a").with_sort(1), Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.is_missing_collection(), "the table is missing: {err}");
    assert!(err.to_string().contains(&missing), "names the table: {err}");
    assert_eq!(
        err.status_code(),
        Some("400"),
        "DynamoDB answers ResourceNotFound with 400"
    );
    assert_eq!(err.backend(), Some("dynamodb"));
    assert_eq!(err.operation(), Some("get"));
    assert!(
        std::error::Error::source(&err).is_some(),
        "the SDK error is chained"
    );
    let err = store.health().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    // A request only the server can judge (an update growing an item past 400 KB): its
    // ValidationException is InvalidInput with the server's message.
    let table = TempTable::new("validation", pk_sk()).await;
    let big = item("big", 1).with("blob", "x".repeat(400 * 1024 - 8 * 1024));
    table
        .store
        .put(big, PutItemOptions::new())
        .await
        .expect("put");
    let err = table
        .store
        .update(
            &DocKey::partition("big").with_sort(1),
            &Update::new().set("more", "y".repeat(10 * 1024)),
            UpdateOptions::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("ValidationException"), "{err}");
    assert!(
        err.to_string().contains("size"),
        "the server's message: {err}"
    );
    assert_eq!(err.target(), Some("big/1"));

    // The store's Debug output names the table and nothing else of the connection.
    let shown = format!("{:?}", table.store);
    assert!(shown.contains(table.store.table_name()), "{shown}");
    assert!(!shown.to_lowercase().contains("secret"), "{shown}");
}

#[tokio::test]
async fn local_index_query_allows_consistent_reads() {
    let admin = TableAdmin::from_client(dynamo_client().await);
    let name = unique_name("lsi");
    let def = TableDefinition::new(&name, pk_sk()).local_index(
        "by-rank",
        store_core::KeyAttribute::new("rank", KeyType::Number),
    );
    let store = admin
        .create(&def, Duration::from_secs(60))
        .await
        .expect("create");
    let result = async {
        let info = &store.indexes()["by-rank"];
        assert!(!info.global);
        assert_eq!(
            info.schema,
            KeySchema::partition("pk", KeyType::String).with_sort("rank", KeyType::Number)
        );
        for (sk, rank) in [(1, 30), (2, 10), (3, 20)] {
            store
                .put(item("l", sk).with("rank", rank), PutItemOptions::new())
                .await
                .expect("put");
        }
        let by_rank: Vec<Document> = store
            .query(Query::partition("l").index("by-rank").consistent())
            .try_collect()
            .await
            .expect("consistent LSI query");
        let sks: Vec<i64> = by_rank
            .iter()
            .map(|d| d.get("sk").and_then(Value::as_i64).expect("sk"))
            .collect();
        assert_eq!(sks, [2, 3, 1]);
    }
    .await;
    admin.delete(&name).await.expect("delete");
    result
}

#[tokio::test]
async fn concurrent_batches_that_open_the_same_partitions_lose_no_item() {
    // Partitions of 10 items against chunks of 25: every fifth partition straddles two
    // chunks written at the same moment, the case that drops items on an unserialized moto
    // (see integration-tests/services/moto_server_serialized.py).
    let table = TempTable::new("straddle", pk_sk()).await;
    let docs: Vec<Document> = (0..3_000)
        .map(|i| item(&format!("customer#{:05}", i / 10), i))
        .collect();
    let report = table
        .store
        .batch_write(
            docs.into_iter().map(WriteOp::Put).collect(),
            BatchWriteOptions {
                concurrency: 16,
                ..BatchWriteOptions::default()
            },
        )
        .await
        .expect("batch write");
    assert_eq!(report.written, 3_000, "{:?}", report.failed);
    assert_eq!(scan_count(&table.store).await, 3_000);
}
