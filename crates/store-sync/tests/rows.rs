//! An archive read as rows (what a restore into a table reads) gives the batches, positions
//! and values it gives as records, from the start or resumed, however its parts' attributes
//! differ; and a restore into a table by rows equals its source.

mod common;

use std::sync::Arc;

use common::{dataset, documents, sqlite_table};
use futures::TryStreamExt;
use store_core::{Document, Value};
use store_sync::{
    ArchiveSink, ArchiveSource, Batch, CopyOptions, Partition, RecordSink, RecordSource, RowBatch,
    Silent, check, copy,
};

const N: usize = 300;

/// Backs up `docs` with parts of 64 records into `dir`.
async fn archive_of(dir: &std::path::Path, docs: &[Document]) -> ArchiveSource {
    let (_, source) = documents("users", docs).await;
    let sink = ArchiveSink::in_dir(dir, "file://backup", "stores-test", Partition::whole());
    let options = CopyOptions {
        batch_size: 64,
        ..CopyOptions::default()
    };
    copy(&source, &sink, &options, &Silent).await.unwrap();
    ArchiveSource::in_dir(dir, "file://backup")
}

/// Checks that `rows` holds what `records` holds, batch by batch.
fn assert_same(records: &[Batch], rows: &[RowBatch]) {
    assert_eq!(records.len(), rows.len(), "batches");
    for (by_records, by_rows) in records.iter().zip(rows) {
        assert_eq!(by_records.resume, by_rows.resume);
        assert_eq!(by_records.records.len(), by_rows.rows.len());
        // Exactly the attributes the batch's records have, as the table's upsert of the
        // records names them (a column none of them has would be written as NULL).
        let mut theirs: Vec<&str> = by_records
            .records
            .iter()
            .flat_map(|r| r.doc.keys())
            .collect();
        theirs.sort();
        theirs.dedup();
        let mut ours: Vec<&str> = by_rows.columns.iter().map(String::as_str).collect();
        ours.sort();
        assert_eq!(ours, theirs, "the batch's columns");
        for (record, row) in by_records.records.iter().zip(&by_rows.rows) {
            assert_eq!(row.len(), by_rows.columns.len());
            for (column, value) in by_rows.columns.iter().zip(row) {
                assert_eq!(record.doc.get(column).unwrap_or(&Value::Null), value);
            }
            assert!(
                record
                    .doc
                    .keys()
                    .all(|k| by_rows.columns.iter().any(|c| c == k))
            );
        }
    }
}

#[tokio::test]
async fn rows_are_the_records_batch_by_batch_from_the_start_and_resumed() {
    // Parts whose attributes differ: some records lack `b`, whole runs lack `n`, and a few
    // have an attribute no other has, so batches across parts join different columns.
    let mut docs = dataset(N);
    for (i, doc) in docs.iter_mut().enumerate() {
        if i % 5 == 0 {
            doc.remove("b");
        }
        if (100..180).contains(&i) {
            doc.remove("n");
        }
        if i % 97 == 3 {
            doc.insert("rare", Value::from(i as i64));
        }
        // Only the first record of some parts has this one: batches that take the rest of
        // such a part must not name it.
        if i % 64 == 0 && i % 128 == 0 {
            doc.insert("first_only", Value::from("x"));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_of(dir.path(), &docs).await;
    let whole = Partition::whole();
    for batch_size in [50, 64, 1_000] {
        let records: Vec<Batch> = archive
            .read(whole, None, batch_size)
            .try_collect()
            .await
            .unwrap();
        let rows: Vec<RowBatch> = archive
            .read_rows(whole, None, batch_size)
            .expect("an archive reads rows")
            .try_collect()
            .await
            .unwrap();
        assert_same(&records, &rows);
        assert_eq!(rows.iter().map(|b| b.rows.len()).sum::<usize>(), N);
        // Resumed from every position a batch gave: mid-part and at a part's end alike.
        for resume in records.iter().filter_map(|b| b.resume.clone()) {
            let records: Vec<Batch> = archive
                .read(whole, Some(resume.clone()), batch_size)
                .try_collect()
                .await
                .unwrap();
            let rows: Vec<RowBatch> = archive
                .read_rows(whole, Some(resume), batch_size)
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            assert_same(&records, &rows);
        }
    }
    // Partitions read their own parts as rows too.
    let shares: Vec<RowBatch> = archive
        .read_rows(Partition::new(1, 3).unwrap(), None, 40)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let records: Vec<Batch> = archive
        .read(Partition::new(1, 3).unwrap(), None, 40)
        .try_collect()
        .await
        .unwrap();
    assert_same(&records, &shares);
}

#[tokio::test]
async fn a_restore_into_a_table_by_rows_equals_its_source_and_refuses_unknown_columns() {
    let docs = dataset(N);
    let (_, source) = documents("src", &docs).await;
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_of(dir.path(), &docs).await;
    let db = Arc::new(store_rusqlite::SqliteStore::memory().await.unwrap());
    let table = sqlite_table(db.clone(), "items", true).await;
    assert!(table.takes_rows());
    let options = CopyOptions {
        batch_size: 50,
        ..CopyOptions::default()
    };
    let report = copy(&archive, &table, &options, &Silent).await.unwrap();
    assert_eq!(report.records, N as u64);
    assert!(check(&source, &table, 50).await.unwrap().is_equal());

    // An attribute the table has no column for fails the batch, and nothing of it is written.
    let extra: Vec<Document> = dataset(3)
        .into_iter()
        .map(|d| d.with("unknown", 1))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_of(dir.path(), &extra).await;
    let fresh = sqlite_table(db.clone(), "fresh", true).await;
    let err = copy(&archive, &fresh, &options, &Silent).await.unwrap_err();
    assert!(err.message().contains("`unknown`"), "{}", err.message());
    assert_eq!(fresh.estimated_count().await.unwrap(), Some(0));
}
