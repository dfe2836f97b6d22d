//! Test data and stores shared by the store-sync tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use store_core::memory::{MemoryDocumentStore, MemorySearchIndex};
use store_core::{Document, KeySchema, KeyType, Number, SqlStore, Value};
use store_sync::{DocumentCollection, Event, Progress, SearchCollection, SqlTable};

/// Values at the edges of what stores keep exactly.
pub fn edge_numbers() -> Vec<Number> {
    [
        "12345678901234567890123456789012345678",
        "-99999999999999999999999999999999999999",
        "1E-130",
        "9.9999999999999999999999999999999999999E+125",
        "0.1",
        "1.50",
        &i64::MIN.to_string(),
        &i64::MAX.to_string(),
        "0",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect()
}

/// `n` records with text keys (Unicode too), exact numbers, bytes, text and some nulls.
pub fn dataset(n: usize) -> Vec<Document> {
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
                .with("s", format!("line {i}\u{0}\"quoted\" 🌍"));
            if i % 7 == 0 {
                doc.insert("s", Value::Null);
            }
            doc
        })
        .collect()
}

pub fn key_schema() -> KeySchema {
    KeySchema::partition("id", KeyType::String)
}

pub async fn documents(
    name: &str,
    docs: &[Document],
) -> (Arc<MemoryDocumentStore>, DocumentCollection) {
    use store_core::DocumentStore;
    let store = Arc::new(MemoryDocumentStore::new(name, key_schema()).unwrap());
    for doc in docs {
        store.put(doc.clone(), Default::default()).await.unwrap();
    }
    (
        store.clone(),
        DocumentCollection::new(store, format!("mem://{name}")),
    )
}

pub fn search(name: &str) -> (Arc<MemorySearchIndex>, SearchCollection) {
    let index = Arc::new(MemorySearchIndex::new(name).unwrap());
    (
        index.clone(),
        SearchCollection::new(index, format!("mem-search://{name}")),
    )
}

/// The SQLite table the dataset fits, exact decimals included.
pub const TABLE_DDL: &str =
    "CREATE TABLE items (id TEXT PRIMARY KEY, n DECIMAL_TEXT, i INTEGER, b BLOB, s TEXT)";

pub async fn sqlite_table(
    store: Arc<store_rusqlite::SqliteStore>,
    table: &str,
    create: bool,
) -> SqlTable {
    if create {
        store
            .batch_execute(&TABLE_DDL.replace("items", table))
            .await
            .unwrap();
    }
    SqlTable::new(store, table, format!("sqlite://test?table={table}"))
}

/// How many items a document store holds (every page of a scan).
pub async fn count(store: &dyn store_core::DocumentStore) -> u64 {
    use futures::TryStreamExt;
    let items: Vec<Document> = store.scan(Default::default()).try_collect().await.unwrap();
    items.len() as u64
}

/// Keeps a job's events; asks for the source's size when `wants_size`.
pub struct Recorder {
    wants_size: bool,
    events: Mutex<Vec<Event>>,
}

impl Recorder {
    pub fn new(wants_size: bool) -> Self {
        Self {
            wants_size,
            events: Mutex::default(),
        }
    }

    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut self.events.lock().unwrap())
    }
}

impl Progress for Recorder {
    fn event(&self, event: &Event) {
        self.events.lock().unwrap().push(event.clone());
    }

    fn wants_source_size(&self) -> bool {
        self.wants_size
    }
}
