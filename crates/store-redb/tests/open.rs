//! Opening, reopening and the file's rules: persistence across opens, one writer per file
//! (in this process and across processes), the table record, foreign files, index
//! reconciliation, read-only stores, compaction.

#[path = "support/temp.rs"]
mod temp;

use std::process::Command;

use futures::TryStreamExt;
use store_core::document::{BatchWriteOptions, GetItemOptions, PutItemOptions, Query, WriteOp};
use store_core::{DocKey, Document, DocumentStore, ErrorKind, Health, KeySchema, KeyType};
use store_redb::RedbStore;
use temp::TempDir;

const CHILD_ENV: &str = "STORE_REDB_SECOND_WRITER_CHILD";

fn schema() -> KeySchema {
    KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number)
}

fn status_index() -> KeySchema {
    KeySchema::partition("status", KeyType::String).with_sort("due", KeyType::Number)
}

fn item(pk: &str, sk: i64) -> Document {
    Document::new()
        .with("pk", pk)
        .with("sk", sk)
        .with("status", if sk % 2 == 0 { "open" } else { "closed" })
        .with("due", 100 - sk)
}

async fn load(store: &RedbStore, n: i64) {
    let ops = (0..n).map(|sk| WriteOp::Put(item("p", sk))).collect();
    let report = store
        .batch_write(ops, BatchWriteOptions::default())
        .await
        .unwrap();
    assert!(report.is_complete(), "{:?}", report.failed);
}

async fn index_query(store: &RedbStore, status: &str) -> Vec<i64> {
    store
        .query(Query::partition(status).index("by-status"))
        .map_ok(|doc| doc.get("sk").and_then(|v| v.as_i64()).unwrap())
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test]
async fn reopening_finds_every_item_and_index_entry() {
    let dir = TempDir::new("reopen");
    let path = dir.file("t.redb");
    let open = || {
        RedbStore::builder(&path, "orders", schema())
            .index("by-status", status_index())
            .build()
    };
    let store = open().await.unwrap();
    load(&store, 10).await;
    drop(store);
    let store = open().await.unwrap();
    assert_eq!(store.len().await.unwrap(), 10);
    let got = store
        .get(&DocKey::partition("p").with_sort(3), GetItemOptions::new())
        .await
        .unwrap();
    assert_eq!(got, Some(item("p", 3)));
    // Ordered by the index sort key `due` = 100 - sk.
    assert_eq!(index_query(&store, "open").await, [8, 6, 4, 2, 0]);
    let health = store.health().await.unwrap();
    assert_eq!(health.backend, "redb");
    assert!(health.detail.unwrap().contains("10 items"));
}

#[tokio::test]
async fn a_second_open_in_this_process_is_a_conflict_naming_the_file() {
    let dir = TempDir::new("second-open");
    let path = dir.file("t.redb");
    let first = RedbStore::open(&path, "orders", schema()).await.unwrap();
    let err = RedbStore::open(&path, "orders", schema())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(!err.is_retryable());
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    // A clone shares the open file instead.
    let clone = first.clone();
    clone
        .put(item("p", 1), PutItemOptions::new())
        .await
        .unwrap();
    drop((first, clone));
    RedbStore::open(&path, "orders", schema()).await.unwrap();
}

/// The child half of the next test: tries to open the file the parent holds and prints the
/// error.
fn second_writer_child(path: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(RedbStore::open(path, "orders", schema()));
    match result {
        Ok(_) => println!("child-result: opened"),
        Err(e) => println!("child-result: {} | {e}", e.kind()),
    }
}

#[test]
fn a_second_writer_process_is_a_conflict_naming_the_file() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        second_writer_child(&path);
        return;
    }
    let dir = TempDir::new("second-writer");
    let path = dir.file("t.redb");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = runtime
        .block_on(RedbStore::open(&path, "orders", schema()))
        .unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_second_writer_process_is_a_conflict_naming_the_file",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("child-result: ").map(|(_, r)| r))
        .unwrap_or_else(|| panic!("the child printed no result: {stdout}"));
    assert!(line.contains("conflict |"), "{line}");
    assert!(line.contains(&path.display().to_string()), "{line}");
    drop(store);
}

#[tokio::test]
async fn a_file_holds_one_table_with_one_key() {
    let dir = TempDir::new("record");
    let path = dir.file("t.redb");
    drop(RedbStore::open(&path, "orders", schema()).await.unwrap());
    let err = RedbStore::open(&path, "users", schema()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("`orders`"), "{err}");
    let other_key = KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::String);
    let err = RedbStore::open(&path, "orders", other_key)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("sk (N)"), "{err}");
}

#[tokio::test]
async fn foreign_files_are_refused() {
    let dir = TempDir::new("foreign");
    let text = dir.file("notes.txt");
    let content = "not a database at all, just some text\n".repeat(200);
    std::fs::write(&text, &content).unwrap();
    let err = RedbStore::open(&text, "orders", schema())
        .await
        .unwrap_err();
    eprintln!("a text file: {err}");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(
        std::fs::read_to_string(&text).unwrap(),
        content,
        "the file is left alone"
    );

    let other = dir.file("other.redb");
    {
        let db = store_redb::redb::Database::create(&other).unwrap();
        let txn = db.begin_write().unwrap();
        let table: store_redb::redb::TableDefinition<u64, u64> =
            store_redb::redb::TableDefinition::new("theirs");
        txn.open_table(table).unwrap().insert(1, 2).unwrap();
        txn.commit().unwrap();
    }
    let err = RedbStore::open(&other, "orders", schema())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("another program"), "{err}");
}

#[tokio::test]
async fn indexes_are_built_rebuilt_and_dropped_at_open() {
    let dir = TempDir::new("indexes");
    let path = dir.file("t.redb");
    let store = RedbStore::open(&path, "orders", schema()).await.unwrap();
    load(&store, 6).await;
    drop(store);

    // Added: built from the items already there.
    let store = RedbStore::builder(&path, "orders", schema())
        .index("by-status", status_index())
        .build()
        .await
        .unwrap();
    assert_eq!(index_query(&store, "closed").await, [5, 3, 1]);
    drop(store);

    // Changed key: rebuilt.
    let by_sk = KeySchema::partition("status", KeyType::String).with_sort("sk", KeyType::Number);
    let store = RedbStore::builder(&path, "orders", schema())
        .index("by-status", by_sk)
        .build()
        .await
        .unwrap();
    assert_eq!(index_query(&store, "closed").await, [1, 3, 5]);
    drop(store);

    // Dropped: gone, and querying it is invalid.
    let store = RedbStore::open(&path, "orders", schema()).await.unwrap();
    let err = store
        .query_page(&Query::partition("closed").index("by-status"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    drop(store);
    let db = store_redb::redb::Database::open(&path).unwrap();
    let txn = store_redb::redb::ReadableDatabase::begin_read(&db).unwrap();
    let tables: Vec<String> = txn
        .list_tables()
        .unwrap()
        .map(|t| store_redb::redb::TableHandle::name(&t).to_owned())
        .collect();
    assert!(
        !tables.iter().any(|t| t.starts_with("index/")),
        "{tables:?}"
    );
}

#[tokio::test]
async fn local_indexes_allow_consistent_queries_global_ones_do_not() {
    let dir = TempDir::new("local");
    let store = RedbStore::builder(dir.file("t.redb"), "orders", schema())
        .index("by-status", status_index())
        .local_index("by-due", "due", KeyType::Number)
        .build()
        .await
        .unwrap();
    load(&store, 5).await;
    let local: Vec<i64> = store
        .query(Query::partition("p").index("by-due").consistent())
        .map_ok(|doc| doc.get("sk").and_then(|v| v.as_i64()).unwrap())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(local, [4, 3, 2, 1, 0]);
    let err = store
        .query_page(
            &Query::partition("open").index("by-status").consistent(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn read_only_stores_read_and_refuse_writes() {
    let dir = TempDir::new("read-only");
    let path = dir.file("t.redb");
    let missing = RedbStore::builder(dir.file("missing.redb"), "orders", schema())
        .create_if_missing(false)
        .build()
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(!dir.file("missing.redb").exists());

    let store = RedbStore::open(&path, "orders", schema()).await.unwrap();
    load(&store, 3).await;
    drop(store);
    let reader = RedbStore::builder(&path, "orders", schema())
        .read_only(true)
        .build()
        .await
        .unwrap();
    let second = RedbStore::builder(&path, "orders", schema())
        .read_only(true)
        .build()
        .await
        .unwrap();
    assert_eq!(reader.len().await.unwrap(), 3);
    assert_eq!(second.len().await.unwrap(), 3);
    let err = reader
        .put(item("p", 9), PutItemOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(
        reader.compact().await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // An index the file does not hold cannot be built read-only.
    let err = RedbStore::builder(&path, "orders", schema())
        .index("by-status", status_index())
        .read_only(true)
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[tokio::test]
async fn compaction_gives_space_back_and_keeps_the_items() {
    let dir = TempDir::new("compact");
    let path = dir.file("t.redb");
    let store = RedbStore::open(&path, "orders", schema()).await.unwrap();
    let big = "x".repeat(4000);
    let ops = (0..2000)
        .map(|sk| WriteOp::Put(item("p", sk).with("blob", big.as_str())))
        .collect();
    store
        .batch_write(ops, BatchWriteOptions::default())
        .await
        .unwrap();
    let deletes = (0..1990)
        .map(|sk| WriteOp::Delete(DocKey::partition("p").with_sort(sk)))
        .collect();
    store
        .batch_write(deletes, BatchWriteOptions::default())
        .await
        .unwrap();
    let before = std::fs::metadata(&path).unwrap().len();
    let mut reclaimed = false;
    // redb may need more than one pass to free everything.
    for _ in 0..3 {
        reclaimed |= store.compact().await.unwrap();
    }
    let after = std::fs::metadata(&path).unwrap().len();
    assert!(reclaimed);
    assert!(after < before / 2, "{before} -> {after} bytes");
    assert_eq!(store.len().await.unwrap(), 10);
    let got = store
        .get(
            &DocKey::partition("p").with_sort(1995),
            GetItemOptions::new(),
        )
        .await
        .unwrap();
    assert!(got.is_some());
}
