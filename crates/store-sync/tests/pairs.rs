//! Every kind of keyed collection copied into every other, on in-memory and embedded backends,
//! each copy ending with `check` reporting the two sides equal — exact numbers, bytes and
//! Unicode keys included.

mod common;

use std::sync::Arc;

use common::{dataset, documents, search, sqlite_table};
use store_sync::{
    ArchiveSink, ArchiveSource, Comparison, CopyOptions, Partition, PlanHome, Silent, check, copy,
};

const N: usize = 300;

fn options() -> CopyOptions {
    CopyOptions {
        batch_size: 64,
        ..CopyOptions::default()
    }
}

#[tokio::test]
async fn documents_to_table_to_documents_keeps_every_value_exactly() {
    let data = dataset(N);
    let (_, source) = documents("src", &data).await;
    let db = Arc::new(store_rusqlite::SqliteStore::memory().await.unwrap());
    let table = sqlite_table(db.clone(), "items", true).await;
    let report = copy(&source, &table, &options(), &Silent).await.unwrap();
    assert_eq!(report.records, N as u64);

    let verdict = check(&source, &table, 50).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
    assert_eq!(verdict.comparison, Comparison::Typed);
    assert_eq!(verdict.left.count(), N as u64);

    let (back_store, back) = documents("back", &[]).await;
    copy(&table, &back, &options(), &Silent).await.unwrap();
    let verdict = check(&source, &back, 50).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
    // Spot-check one record value by value: the 38-digit decimal and the bytes are intact.
    use store_core::DocumentStore;
    let key = store_core::DocKey::partition(data[0].get("id").unwrap().as_str().unwrap());
    let got = back_store
        .get(&key, Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.get("n"), data[0].get("n"));
    assert_eq!(
        got.get("n").unwrap().as_number().unwrap().to_string(),
        "12345678901234567890123456789012345678"
    );
    assert_eq!(got.get("b"), data[0].get("b"));
}

#[tokio::test]
async fn documents_to_search_and_back_to_a_table_compare_with_their_types() {
    let data = dataset(N);
    let (_, source) = documents("src", &data).await;
    let (_, index) = search("idx");
    copy(&source, &index, &options(), &Silent).await.unwrap();
    let verdict = check(&source, &index, 50).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
    // The in-memory index gives sources back as written (OpenSearch, as JSON: its sync tests
    // compare as JSON).
    assert_eq!(verdict.comparison, Comparison::TypedValues);

    // Keyed by the `id` field, the index copies into a table keyed by `id`.
    let (idx_store, _) = search("unused");
    drop(idx_store);
    let keyed = index.clone().key_fields(vec!["id".to_owned()]);
    let db = Arc::new(store_rusqlite::SqliteStore::memory().await.unwrap());
    let table = sqlite_table(db, "items", true).await;
    copy(&keyed, &table, &options(), &Silent).await.unwrap();
    let verdict = check(&keyed, &table, 50).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
}

#[tokio::test]
async fn every_kind_goes_through_an_archive_and_back() {
    let data = dataset(N);
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(store_fs::FsStore::open(dir.path()).await.unwrap());

    // documents -> archive -> documents
    let (_, source) = documents("src", &data).await;
    let sink = ArchiveSink::new(
        fs.clone(),
        "docs",
        "file://docs",
        "stores-test",
        Partition::whole(),
    );
    copy(&source, &sink, &options(), &Silent).await.unwrap();
    let archive = ArchiveSource::new(fs.clone(), "docs", "file://docs");
    let manifest = archive.manifest().await.unwrap();
    assert_eq!(manifest.collections[0].records, N as u64);
    // One part per batch: no part holds more than a batch (the scan reads four segments at
    // once, so there are a few more parts than N / 64).
    let parts = &manifest.collections[0].parts;
    assert!(parts.len() >= N.div_ceil(64), "{} parts", parts.len());
    assert!(parts.iter().all(|p| p.records <= 64));
    assert!(check(&source, &archive, 50).await.unwrap().is_equal());
    let (_, restored) = documents("restored", &[]).await;
    copy(&archive, &restored, &options(), &Silent)
        .await
        .unwrap();
    assert!(check(&source, &restored, 50).await.unwrap().is_equal());

    // table -> archive -> a new table created from the archived schema
    let db = Arc::new(store_rusqlite::SqliteStore::memory().await.unwrap());
    let table = sqlite_table(db.clone(), "items", true).await;
    copy(&source, &table, &options(), &Silent).await.unwrap();
    let sink = ArchiveSink::new(
        fs.clone(),
        "table",
        "file://table",
        "stores-test",
        Partition::whole(),
    );
    copy(&table, &sink, &options(), &Silent).await.unwrap();
    let archive = ArchiveSource::new(fs.clone(), "table", "file://table");
    let fresh = sqlite_table(db.clone(), "items_restored", false).await;
    let err = copy(
        &archive,
        &fresh,
        &CopyOptions {
            create: false,
            ..options()
        },
        &Silent,
    )
    .await
    .unwrap_err();
    assert!(
        err.message().contains("does not exist"),
        "{}",
        err.message()
    );
    copy(&archive, &fresh, &options(), &Silent).await.unwrap();
    assert!(check(&table, &fresh, 50).await.unwrap().is_equal());

    // search -> archive -> search
    let (_, index) = search("idx");
    copy(&source, &index, &options(), &Silent).await.unwrap();
    let sink = ArchiveSink::new(
        fs.clone(),
        "search",
        "file://search",
        "stores-test",
        Partition::whole(),
    );
    copy(&index, &sink, &options(), &Silent).await.unwrap();
    let archive = ArchiveSource::new(fs.clone(), "search", "file://search");
    let (_, index2) = search("idx2");
    copy(&archive, &index2, &options(), &Silent).await.unwrap();
    assert!(check(&index, &index2, 50).await.unwrap().is_equal());
    assert!(check(&source, &index2, 50).await.unwrap().is_equal());
}

#[tokio::test]
async fn a_pair_whose_keys_cannot_match_fails_before_anything_is_read() {
    let data = dataset(10);
    let (_, source) = documents("src", &data).await;
    let other = Arc::new(
        store_core::memory::MemoryDocumentStore::new(
            "other",
            store_core::KeySchema::partition("pk", store_core::KeyType::String),
        )
        .unwrap(),
    );
    let sink = store_sync::DocumentCollection::new(other.clone(), "mem://other");
    let err = copy(&source, &sink, &options(), &Silent).await.unwrap_err();
    assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
    assert!(
        err.message().contains("keyed by (pk)") && err.message().contains("(id)"),
        "{}",
        err.message()
    );
    assert_eq!(common::count(other.as_ref()).await, 0);
}

#[tokio::test]
async fn partitions_split_a_table_and_a_document_scan_without_overlap() {
    let data = dataset(N);
    let (_, source) = documents("src", &data).await;
    let db = Arc::new(store_rusqlite::SqliteStore::memory().await.unwrap());
    let table = sqlite_table(db, "items", true).await;
    copy(&source, &table, &options(), &Silent).await.unwrap();
    for from in [&source as &dyn store_sync::RecordSource, &table] {
        let (_, target) = documents("parts", &[]).await;
        let plans = tempfile::tempdir().unwrap();
        let mut total = 0;
        for i in 0..4 {
            let partition = Partition::new(i, 4).unwrap();
            let report = copy(
                from,
                &target,
                &CopyOptions {
                    partition,
                    plan: Some(PlanHome::in_dir(plans.path())),
                    ..options()
                },
                &Silent,
            )
            .await
            .unwrap();
            assert!(report.records > 0, "partition {partition} was empty");
            total += report.records;
        }
        assert_eq!(total, N as u64, "the partitions overlap or miss records");
        assert!(check(&source, &target, 50).await.unwrap().is_equal());
    }
}

#[tokio::test]
async fn a_query_is_a_source_keyed_by_the_columns_named() {
    let data = dataset(N);
    let (_, source) = documents("src", &data).await;
    let db = Arc::new(store_rusqlite::SqliteStore::memory().await.unwrap());
    let table = sqlite_table(db.clone(), "items", true).await;
    copy(&source, &table, &options(), &Silent).await.unwrap();
    let query = store_sync::SqlQuery::new(
        db.clone(),
        "SELECT id, n, i, b, s FROM items WHERE i < 0 ORDER BY id",
        vec!["id".to_owned()],
        "sqlite://test?query",
    )
    .unwrap();
    let (_, negatives) = documents("negatives", &[]).await;
    let report = copy(&query, &negatives, &options(), &Silent).await.unwrap();
    assert_eq!(report.records, N.div_ceil(2) as u64);
    let expected: Vec<_> = data
        .iter()
        .filter(|d| d.get("i").unwrap().as_number().unwrap().is_negative())
        .cloned()
        .collect();
    let (_, wanted) = documents("wanted", &expected).await;
    assert!(check(&wanted, &negatives, 50).await.unwrap().is_equal());
    let err = store_sync::SqlQuery::new(db, "SELECT 1", vec![], "q").unwrap_err();
    assert!(err.message().contains("key columns"), "{}", err.message());
}

#[tokio::test]
async fn documents_persist_on_redb_and_survive_a_reopen_equal() {
    let data = dataset(N);
    let (_, source) = documents("src", &data).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("items.redb");
    {
        let redb = Arc::new(
            store_redb::RedbStore::open(&path, "items", common::key_schema())
                .await
                .unwrap(),
        );
        let sink = store_sync::DocumentCollection::new(redb, "redb://items");
        copy(&source, &sink, &options(), &Silent).await.unwrap();
    }
    // Reopened, the file holds exactly the source, and copies on into SQLite and an archive.
    let redb = Arc::new(
        store_redb::RedbStore::open(&path, "items", common::key_schema())
            .await
            .unwrap(),
    );
    let reopened = store_sync::DocumentCollection::new(redb, "redb://items");
    let verdict = check(&source, &reopened, 64).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
    let db = Arc::new(store_rusqlite::SqliteStore::memory().await.unwrap());
    let table = sqlite_table(db, "items", true).await;
    copy(&reopened, &table, &options(), &Silent).await.unwrap();
    assert!(check(&reopened, &table, 64).await.unwrap().is_equal());
}

#[tokio::test]
async fn sources_estimate_their_size_for_progress() {
    use store_sync::RecordSource;
    let data = dataset(40);
    let (_, source) = documents("src", &data).await;
    let db = Arc::new(store_rusqlite::SqliteStore::memory().await.unwrap());
    let table = sqlite_table(db, "items", true).await;
    copy(&source, &table, &options(), &Silent).await.unwrap();
    assert_eq!(table.estimated_count().await.unwrap(), Some(40));
    let (_, index) = search("idx");
    copy(&source, &index, &options(), &Silent).await.unwrap();
    assert_eq!(index.estimated_count().await.unwrap(), Some(40));
    // A document store cannot tell through the trait.
    assert_eq!(source.estimated_count().await.unwrap(), None);
}

#[tokio::test]
async fn a_batch_of_records_in_any_attribute_order_lands_column_by_column() {
    use store_core::{Document, SqlStoreExt, Value};
    use store_sync::{Record, RecordSink};
    let db = Arc::new(store_rusqlite::SqliteStore::memory().await.unwrap());
    let table = sqlite_table(db.clone(), "items", true).await;
    let record = |doc: Document| Record::from_document(doc, &["id".to_owned()]).unwrap();
    // In order, reordered, sparse, wider (a new column), and in order but narrower than the
    // batch's columns by then: each attribute must land in its own column.
    let records = vec![
        record(Document::new().with("id", "a").with("i", 1).with("s", "x")),
        record(Document::new().with("s", "y").with("id", "b").with("i", 2)),
        record(Document::new().with("id", "c")),
        record(
            Document::new()
                .with("id", "d")
                .with("i", 4)
                .with("s", "w")
                .with("b", Value::Bytes(vec![0, 255].into())),
        ),
        record(Document::new().with("id", "e").with("i", 5).with("s", "v")),
        record(Document::new().with("id", "f").with("i", 6).with("s", "u")),
    ];
    table.upsert(records).await.unwrap();
    let rows = db
        .query_all("SELECT id, i, s, b FROM items ORDER BY id", &[])
        .await
        .unwrap();
    let got: Vec<(String, Value, Value, Value)> = rows
        .iter()
        .map(|row| {
            let get = |name: &str| row.get(name).cloned().unwrap_or(Value::Null);
            (
                get("id").as_str().unwrap().to_owned(),
                get("i"),
                get("s"),
                get("b"),
            )
        })
        .collect();
    let expected = [
        ("a", Value::from(1), Value::from("x"), Value::Null),
        ("b", Value::from(2), Value::from("y"), Value::Null),
        ("c", Value::Null, Value::Null, Value::Null),
        (
            "d",
            Value::from(4),
            Value::from("w"),
            Value::Bytes(vec![0, 255].into()),
        ),
        ("e", Value::from(5), Value::from("v"), Value::Null),
        ("f", Value::from(6), Value::from("u"), Value::Null),
    ]
    .map(|(id, i, s, b)| (id.to_owned(), i, s, b));
    assert_eq!(got, expected);
}
