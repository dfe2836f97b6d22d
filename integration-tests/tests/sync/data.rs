//! The records every test moves: exact numbers at the edges, bytes, Unicode keys, nulls.

use bytes::Bytes;
use store_core::{Document, Number, Value};

/// Numbers DynamoDB, PostgreSQL `numeric` and the archive all keep exactly.
pub(crate) fn edge_numbers() -> Vec<Number> {
    [
        "12345678901234567890123456789012345678",
        "-99999999999999999999999999999999999999",
        "1E-130",
        "9.9999999999999999999999999999999999999E+125",
        "0.1",
        "1.50",
        "0",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect()
}

/// `n` records keyed by `id` (text), with `n` (exact decimal), `i` (i64 extremes), `b`
/// (bytes) and `s` (text, sometimes null).
pub(crate) fn dataset(n: usize) -> Vec<Document> {
    let numbers = edge_numbers();
    (0..n)
        .map(|i| {
            let mut doc = Document::new()
                .with("id", format!("ключ-{i:05}-é✓"))
                .with("n", numbers[i % numbers.len()].clone())
                .with(
                    "i",
                    if i % 2 == 0 {
                        i64::MIN + i as i64
                    } else {
                        i64::MAX - i as i64
                    },
                )
                .with(
                    "b",
                    Value::Bytes(Bytes::from(vec![0, 255, (i % 256) as u8, b'\n'])),
                )
                .with("s", format!("line {i} \"quoted\" 🌍"));
            if i % 7 == 0 {
                doc.insert("s", Value::Null);
            }
            doc
        })
        .collect()
}

/// Fast copies for the tests.
pub(crate) fn options() -> store_sync::CopyOptions {
    store_sync::CopyOptions {
        batch_size: 250,
        ..store_sync::CopyOptions::default()
    }
}

/// An in-memory document table holding `docs` (keyed by `id`), as a sync source.
pub(crate) async fn memory_source(
    docs: Vec<Document>,
) -> (
    std::sync::Arc<store_core::memory::MemoryDocumentStore>,
    store_sync::DocumentCollection,
) {
    use store_core::DocumentStore;
    let store = std::sync::Arc::new(
        store_core::memory::MemoryDocumentStore::new(
            "seed",
            store_core::KeySchema::partition("id", store_core::KeyType::String),
        )
        .unwrap(),
    );
    for doc in docs {
        store.put(doc, Default::default()).await.unwrap();
    }
    (
        store.clone(),
        store_sync::DocumentCollection::new(store, "mem://seed"),
    )
}

/// A new PostgreSQL table (named from `hint`) holding the first `n` records of [`dataset`],
/// written through the same upsert path a restore uses and checked equal to them, as a
/// source whose schema can create a copy of it. Returns its name and the table.
pub(crate) async fn postgres_table(
    pg: &std::sync::Arc<store_rds::PgStore>,
    hint: &str,
    n: usize,
) -> (String, store_sync::SqlTable) {
    use store_core::SqlStore;
    let table = integration_tests::names::unique_ident(hint);
    pg.batch_execute(&format!(
        "CREATE TABLE {table} (id text PRIMARY KEY, n numeric, i bigint, b bytea, s text)"
    ))
    .await
    .unwrap();
    let source = store_sync::SqlTable::new(pg.clone(), &table, format!("postgres://…/{table}"));
    let (_, seed) = memory_source(dataset(n)).await;
    let silent = store_sync::Silent;
    store_sync::copy(&seed, &source, &options(), &silent)
        .await
        .unwrap();
    let verdict = store_sync::check(&seed, &source, 500).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
    (table, source)
}
