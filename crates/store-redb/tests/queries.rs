//! Queries as range scans, checked against the in-memory reference store: random items with
//! number, string and bytes keys (negatives, scales, NULs), random sort conditions in both
//! directions, table and index queries, paged with small pages; every page sequence must equal
//! the reference's.

#[path = "support/temp.rs"]
mod temp;

use bytes::Bytes;
use futures::TryStreamExt;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use store_core::document::{BatchWriteOptions, Query, SortCondition, WriteOp};
use store_core::memory::MemoryDocumentStore;
use store_core::{Document, DocumentStore, KeySchema, KeyType, Number, Value};
use store_redb::RedbStore;
use temp::TempDir;

fn number() -> impl Strategy<Value = Number> {
    (any::<bool>(), 0u32..6, -1i32..1, 0usize..2).prop_map(|(negative, n, shift, zeros)| {
        let sign = if negative { "-" } else { "" };
        format!("{sign}{n}{}E{}", "0".repeat(zeros), shift - zeros as i32)
            .parse()
            .unwrap()
    })
}

fn text() -> impl Strategy<Value = String> {
    "[ab\\x00]{1,2}"
}

fn item() -> impl Strategy<Value = Document> {
    (
        prop_oneof![Just("p"), Just("q"), Just("p\0")],
        number(),
        proptest::option::of(proptest::collection::vec(0u8..2, 1..3)),
        proptest::option::of(text()),
        proptest::option::of(text()),
        0i64..1000,
    )
        .prop_map(|(pk, sk, g, gs, t, payload)| {
            let mut doc = Document::new()
                .with("pk", pk)
                .with("sk", Value::Number(sk))
                .with("payload", payload);
            if let Some(g) = g {
                doc.insert("g", Value::Bytes(Bytes::from(g)));
            }
            if let Some(gs) = gs {
                doc.insert("gs", gs);
            }
            if let Some(t) = t {
                doc.insert("t", t);
            }
            doc
        })
}

fn number_condition() -> impl Strategy<Value = Option<SortCondition>> {
    let v = || number().prop_map(Value::Number);
    proptest::option::of(prop_oneof![
        v().prop_map(SortCondition::Eq),
        v().prop_map(SortCondition::Lt),
        v().prop_map(SortCondition::Le),
        v().prop_map(SortCondition::Gt),
        v().prop_map(SortCondition::Ge),
        (number(), number()).prop_map(|(a, b)| {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            SortCondition::Between(Value::Number(lo), Value::Number(hi))
        }),
    ])
}

fn text_condition() -> impl Strategy<Value = Option<SortCondition>> {
    let v = || text().prop_map(Value::String);
    proptest::option::of(prop_oneof![
        v().prop_map(SortCondition::Eq),
        v().prop_map(SortCondition::Lt),
        v().prop_map(SortCondition::Ge),
        v().prop_map(SortCondition::Gt),
        v().prop_map(SortCondition::BeginsWith),
        (text(), text()).prop_map(|(a, b)| {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            SortCondition::Between(Value::String(lo), Value::String(hi))
        }),
    ])
}

fn query() -> impl Strategy<Value = Query> {
    let table = (
        prop_oneof![Just("p"), Just("q"), Just("p\0")],
        number_condition(),
    )
        .prop_map(|(p, sort)| Query {
            sort,
            ..Query::partition(p)
        });
    let global =
        (proptest::collection::vec(0u8..2, 1..3), text_condition()).prop_map(|(g, sort)| Query {
            sort,
            index: Some("by-g".to_owned()),
            ..Query::partition(Bytes::from(g))
        });
    let local = (prop_oneof![Just("p"), Just("q")], text_condition()).prop_map(|(p, sort)| Query {
        sort,
        index: Some("by-t".to_owned()),
        ..Query::partition(p)
    });
    (prop_oneof![table, global, local], any::<bool>(), 1usize..5).prop_map(|(q, reverse, page)| {
        Query {
            reverse,
            page_size: Some(page),
            ..q
        }
    })
}

fn schemas() -> (KeySchema, KeySchema, KeySchema) {
    (
        KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number),
        KeySchema::partition("g", KeyType::Bytes).with_sort("gs", KeyType::String),
        KeySchema::partition("pk", KeyType::String).with_sort("t", KeyType::String),
    )
}

async fn all(store: &dyn DocumentStore, query: &Query) -> Result<Vec<String>, String> {
    store
        .query(query.clone())
        .map_ok(|doc| format!("{doc:?}"))
        .try_collect()
        .await
        .map_err(|e| e.kind().to_string())
}

#[test]
fn queries_agree_with_the_reference_store() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = TempDir::new("queries");
    let case = std::sync::atomic::AtomicU64::new(0);
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        proptest::collection::vec(item(), 0..40),
        proptest::collection::vec(query(), 1..12),
    );
    let result = runner.run(&strategy, |(items, queries)| {
        let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        runtime.block_on(async {
            let (table, global, _) = schemas();
            let memory = MemoryDocumentStore::new("diff", table.clone())
                .unwrap()
                .with_index("by-g", global.clone())
                .unwrap()
                .with_index("by-t", schemas().2)
                .unwrap();
            let redb = RedbStore::builder(dir.file(&format!("case-{case}.redb")), "diff", table)
                .index("by-g", global)
                .local_index("by-t", "t", KeyType::String)
                .build()
                .await
                .unwrap();
            let ops: Vec<WriteOp> = items.into_iter().map(WriteOp::Put).collect();
            let a = memory
                .batch_write(ops.clone(), BatchWriteOptions::default())
                .await
                .unwrap();
            let b = redb
                .batch_write(ops, BatchWriteOptions::default())
                .await
                .unwrap();
            prop_assert_eq!(a.written, b.written);
            for query in &queries {
                let expected = all(&memory, query).await;
                let found = all(&redb, query).await;
                prop_assert_eq!(&found, &expected, "query {:?}", query);
            }
            Ok(())
        })
    });
    if let Err(failure) = result {
        panic!("redb and the reference store disagree: {failure}");
    }
}
