//! Reading what a store file holds without knowing its key ([`StoredTable`]), and opening it
//! as it is: every index kept, nothing changed by the read.

#[path = "support/temp.rs"]
mod temp;

use std::process::Command;

use store_core::document::{GetItemOptions, PutItemOptions, Query};
use store_core::{DocKey, Document, DocumentStore, ErrorKind, KeySchema, KeyType};
use store_redb::{RedbStore, StoredTable};
use temp::TempDir;

fn schema() -> KeySchema {
    KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number)
}

/// Whether `store` holds the item keyed `pk`, `sk`.
async fn holds(store: &RedbStore, pk: &str, sk: i64) -> bool {
    let key = DocKey::partition(pk).with_sort(sk);
    let item = store.get(&key, GetItemOptions::default()).await.unwrap();
    item.is_some()
}

#[tokio::test]
async fn a_file_tells_its_table_key_and_indexes_and_opens_as_it_is() {
    let dir = TempDir::new("inspect");
    let path = dir.file("orders.redb");
    let by_status =
        KeySchema::partition("status", KeyType::String).with_sort("due", KeyType::Bytes);
    {
        let store = RedbStore::builder(&path, "orders", schema())
            .index("by-status", by_status.clone())
            .local_index("by-total", "total", KeyType::Number)
            .build()
            .await
            .unwrap();
        let item = Document::new()
            .with("pk", "p")
            .with("sk", 1)
            .with("status", "open")
            .with("due", store_core::Value::Bytes(vec![1u8, 2].into()))
            .with("total", 7);
        store.put(item, PutItemOptions::default()).await.unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let stored = StoredTable::read(&path).await.unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "reading changed the file"
    );
    assert_eq!(stored.table, "orders");
    assert_eq!(stored.key_schema, schema());
    let indexes: Vec<(&str, &KeySchema, bool)> = stored
        .indexes
        .iter()
        .map(|i| (i.name.as_str(), &i.key_schema, i.local))
        .collect();
    let local = KeySchema::partition("pk", KeyType::String).with_sort("total", KeyType::Number);
    assert_eq!(
        indexes,
        [("by-status", &by_status, false), ("by-total", &local, true)]
    );

    // Opened for writing by its own settings, both indexes still answer.
    let store = stored.config(&path).build().await.unwrap();
    assert!(holds(&store, "p", 1).await);
    for (index, partition) in [("by-status", "open"), ("by-total", "p")] {
        let page = store
            .query_page(&Query::partition(partition).index(index), None)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1, "{index}");
    }
}

#[tokio::test]
async fn a_missing_foreign_or_busy_file_is_a_clear_error() {
    let dir = TempDir::new("inspect-errors");
    let missing = StoredTable::read(dir.file("none.redb")).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
    assert!(!dir.file("none.redb").exists(), "a read created the file");

    let empty = dir.file("zero.redb");
    std::fs::write(&empty, b"").unwrap();
    let err = StoredTable::read(&empty).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.message().contains("is empty"), "{err}");

    let text = dir.file("notes.txt");
    std::fs::write(&text, "just text\n".repeat(500)).unwrap();
    let foreign = StoredTable::read(&text).await.unwrap_err();
    assert_eq!(foreign.kind(), ErrorKind::InvalidInput, "{foreign}");

    let empty = dir.file("empty.redb");
    drop(store_redb::redb::Database::create(&empty).unwrap());
    let bare = StoredTable::read(&empty).await.unwrap_err();
    assert_eq!(bare.kind(), ErrorKind::InvalidInput, "{bare}");
    assert!(bare.message().contains("no store-redb table"), "{bare}");

    let path = dir.file("busy.redb");
    let _writer = RedbStore::open(&path, "busy", schema()).await.unwrap();
    let busy = StoredTable::read(&path).await.unwrap_err();
    assert_eq!(busy.kind(), ErrorKind::Conflict, "{busy}");
}

const UNCLEAN_CHILD_ENV: &str = "STORE_REDB_UNCLEAN_CHILD";

/// The child half of the next test: writes one item, then aborts without closing the file.
fn unclean_child(path: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = RedbStore::open(path, "orders", schema()).await.unwrap();
        let item = Document::new().with("pk", "kept").with("sk", 1);
        store.put(item, PutItemOptions::default()).await.unwrap();
        std::process::abort();
    });
}

#[test]
fn a_file_a_crash_left_unclean_is_refused_by_a_read_and_repaired_by_read_repairing() {
    if let Ok(path) = std::env::var(UNCLEAN_CHILD_ENV) {
        unclean_child(&path);
        return;
    }
    let dir = TempDir::new("inspect-unclean");
    let path = dir.file("orders.redb");
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_file_a_crash_left_unclean_is_refused_by_a_read_and_repaired_by_read_repairing",
            "--test-threads=1",
        ])
        .env(UNCLEAN_CHILD_ENV, &path)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child was to abort");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let err = StoredTable::read(&path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.message().contains("not closed cleanly"), "{err}");
        let stored = StoredTable::read_repairing(&path).await.unwrap();
        assert_eq!(stored.table, "orders");
        // Repaired: a plain read and a read-only store open it now, with the acknowledged item.
        assert_eq!(StoredTable::read(&path).await.unwrap(), stored);
        let store = stored.config(&path).read_only(true).build().await.unwrap();
        assert!(holds(&store, "kept", 1).await);
    });
}
