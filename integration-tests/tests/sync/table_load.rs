//! A PostgreSQL table that a copy creates is loaded without its primary key, which is added
//! when the copy finishes: resumed loads that send rows again, a sync meeting a table still
//! loading, and two processes of a partitioned load, one finishing while the other writes.

use std::sync::Arc;

use futures::TryStreamExt;
use integration_tests::names::unique_ident;
use integration_tests::services::{Service, endpoint};
use store_core::{Document, ErrorKind, SqlStore, SqlStoreExt, Value};
use store_rds::PgStore;
use store_sync::{
    CopyOptions, Partition, Record, RecordSink, RecordSource, Silent, SqlTable, check, copy,
};

use crate::data::{options, postgres_table};

const N: usize = 1_200;

/// The table's primary key columns and its comment.
async fn key_and_comment(pg: &PgStore, table: &str) -> (Vec<String>, Value) {
    let keys = pg
        .query_all(
            "SELECT a.attname::text AS name FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = $1::text::regclass AND i.indisprimary",
            &[table.into()],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|row| match row.get("name") {
            Some(Value::String(name)) => name.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    let comment = pg
        .query_one(
            "SELECT obj_description($1::text::regclass, 'pg_class') AS c",
            &[table.into()],
        )
        .await
        .unwrap()
        .get("c")
        .cloned()
        .unwrap();
    (keys, comment)
}

/// Every record of `source`, in batches of `size`.
async fn batches(source: &SqlTable, size: usize) -> Vec<Vec<Record>> {
    // Read in the source's own batches (which start small), then cut into batches of `size`.
    let records: Vec<Vec<Record>> = source
        .read(Partition::whole(), None, size)
        .map_ok(|batch| batch.records)
        .try_collect()
        .await
        .unwrap();
    let records: Vec<Record> = records.into_iter().flatten().collect();
    records.chunks(size).map(<[Record]>::to_vec).collect()
}

/// The records with `s` replaced: what an older write held.
fn stale(records: &[Record]) -> Vec<Record> {
    records
        .iter()
        .map(|record| {
            let mut doc: Document = record.doc.clone();
            doc.insert("s", "stale");
            Record {
                key: record.key.clone(),
                doc,
            }
        })
        .collect()
}

async fn count(pg: &PgStore, table: &str) -> i64 {
    match pg
        .query_one(&format!("SELECT count(*) AS n FROM {table}"), &[])
        .await
        .unwrap()
        .get("n")
    {
        Some(Value::Number(n)) => n.to_i64().unwrap(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_created_table_gets_its_key_after_its_rows_and_keeps_the_newest_row_of_a_key_sent_again()
{
    let pg = Arc::new(PgStore::from_url(&endpoint(Service::Postgres).await).unwrap());
    let (src_table, source) = postgres_table(&pg, "load_src", N).await;
    let schema = source.schema().await.unwrap();
    let batches = batches(&source, 250).await;
    let table = unique_ident("load_dst");
    let label = format!("postgres://…/{table}");

    // A first run creates the table without its key, writes an older version of the first
    // batch, that batch again, and is killed.
    let first = SqlTable::new(pg.clone(), &table, &label);
    first.prepare_load(&schema, true).await.unwrap();
    assert_eq!(
        key_and_comment(&pg, &table).await,
        (
            Vec::new(),
            Value::from("stores: loading; its primary key is added when the load finishes")
        )
    );
    first.upsert(stale(&batches[0])).await.unwrap();
    first.upsert(batches[0].clone()).await.unwrap();
    assert_eq!(
        count(&pg, &table).await,
        500,
        "a batch sent again is stored twice"
    );
    drop(first);

    // A sync (or a follow) does not write into a table that is still loading.
    let err = SqlTable::new(pg.clone(), &table, &label)
        .prepare(&schema, true)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(err.message().contains("being loaded"), "{err}");

    // The run is started again and writes every record (the first batch a third time, after
    // its stale version: the newest row of each key is the one kept).
    let again = SqlTable::new(pg.clone(), &table, &label);
    let report = copy(&source, &again, &options(), &Silent).await.unwrap();
    assert_eq!(report.records, N as u64);
    assert_eq!(
        key_and_comment(&pg, &table).await,
        (vec!["id".to_owned()], Value::Null)
    );
    assert_eq!(count(&pg, &table).await, N as i64);
    let verdict = check(&source, &again, 500).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
    // Keyed now: a copy into it upserts.
    let twice = copy(&source, &again, &options(), &Silent).await.unwrap();
    assert_eq!(twice.records, N as u64);
    assert_eq!(count(&pg, &table).await, N as i64);

    pg.batch_execute(&format!("DROP TABLE {table}; DROP TABLE {src_table}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn one_process_of_a_partitioned_load_keys_the_table_while_another_still_writes() {
    let pg = Arc::new(PgStore::from_url(&endpoint(Service::Postgres).await).unwrap());
    let (src_table, source) = postgres_table(&pg, "load_src", N).await;
    let schema = source.schema().await.unwrap();
    let batches = batches(&source, 300).await;
    assert_eq!(batches.len(), 4);
    let table = unique_ident("load_parts");
    let label = format!("postgres://…/{table}");
    let a = SqlTable::new(pg.clone(), &table, &label);
    let b = SqlTable::new(pg.clone(), &table, &label);
    a.prepare_load(&schema, true).await.unwrap();
    // The second process finds the table the first created, loading.
    b.prepare_load(&schema, true).await.unwrap();
    a.upsert(batches[0].clone()).await.unwrap();
    b.upsert(batches[1].clone()).await.unwrap();
    a.upsert(batches[2].clone()).await.unwrap();
    a.finish(Vec::new()).await.unwrap();
    assert_eq!(key_and_comment(&pg, &table).await.0, ["id"]);
    // The other process sends a batch again (its keys are taken now: it is upserted), then
    // its last one, and finishes on a table that has its key.
    b.upsert(batches[1].clone()).await.unwrap();
    b.upsert(batches[3].clone()).await.unwrap();
    b.finish(Vec::new()).await.unwrap();
    assert_eq!(
        key_and_comment(&pg, &table).await,
        (vec!["id".to_owned()], Value::Null)
    );
    assert_eq!(count(&pg, &table).await, N as i64);
    let verdict = check(&source, &a, 500).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");

    pg.batch_execute(&format!("DROP TABLE {table}; DROP TABLE {src_table}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_table_that_exists_is_written_by_upserts_and_keeps_its_key() {
    let pg = Arc::new(PgStore::from_url(&endpoint(Service::Postgres).await).unwrap());
    let (src_table, source) = postgres_table(&pg, "load_src", N).await;
    let table = unique_ident("load_existing");
    pg.batch_execute(&format!(
        "CREATE TABLE {table} (id text PRIMARY KEY, n numeric, i bigint, b bytea, s text)"
    ))
    .await
    .unwrap();
    let sink = SqlTable::new(pg.clone(), &table, format!("postgres://…/{table}"));
    let options = CopyOptions {
        create: false,
        ..options()
    };
    copy(&source, &sink, &options, &Silent).await.unwrap();
    copy(&source, &sink, &options, &Silent).await.unwrap();
    assert_eq!(
        key_and_comment(&pg, &table).await,
        (vec!["id".to_owned()], Value::Null)
    );
    assert_eq!(count(&pg, &table).await, N as i64);
    pg.batch_execute(&format!("DROP TABLE {table}; DROP TABLE {src_table}"))
        .await
        .unwrap();
}
