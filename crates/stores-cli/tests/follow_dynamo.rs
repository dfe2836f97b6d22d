//! `stores sync dynamodb://T postgres://…?table=T --follow` against moto's DynamoDB Streams and
//! PostgreSQL 15: a writer makes 20,000 random inserts, updates and deletes while the follower
//! is SIGKILLed and restarted at ten seeded points; at the end `stores check` reports both
//! sides equal (count and digest). A replaced stream is answered by a visible full resync.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::Seeded;
use common::follow::*;
use integration_tests::clients::{dynamo_admin, postgres_connect};
use integration_tests::names::{unique_ident, unique_name};
use integration_tests::services::{Service, endpoint};
use store_core::document::WriteOp;
use store_core::{DocKey, Document, DocumentStore, KeySchema, KeyType, Number, Value};
use store_dynamo::{DynamoStore, StreamView, TableAdmin, TableDefinition};

/// The writes the writer makes while the follower is killed and restarted.
const WRITES: u64 = 20_000;
/// The keys they fall on (so there are updates and deletes of existing items).
const KEYS: u64 = 2_000;
/// Writers running at once, each on its own keys (one key's writes stay in order).
const WRITERS: u64 = 4;
fn item(id: u64, version: u64) -> Document {
    Document::new()
        .with("id", format!("key-{id:05}-é"))
        .with("v", Value::from(version as i64))
        .with(
            "n",
            format!("1234567890123456789012345678901234567{}", version % 10)
                .parse::<Number>()
                .unwrap(),
        )
        .with(
            "b",
            Value::Bytes(Bytes::from(vec![0, 255, (version % 256) as u8])),
        )
}

/// `count` random writes on the keys `k` with `k % WRITERS == lane`: new versions (inserts or
/// updates) and, one in five, deletes. They go in batches of up to 25 (BatchWriteItem) with no
/// key twice in a batch and one batch at a time, so each key's writes land in order; moto
/// answers a batch about as fast as a single write.
async fn write_randomly(table: Arc<DynamoStore>, lane: u64, seed: u64, count: u64) {
    let mut rng = Seeded(seed);
    let mut batch: Vec<WriteOp> = Vec::new();
    let mut keys = std::collections::HashSet::new();
    for version in 0..count {
        let id = (rng.next() % (KEYS / WRITERS)) * WRITERS + lane;
        if batch.len() == 25 || keys.contains(&id) {
            flush(&table, &mut batch).await;
            keys.clear();
        }
        keys.insert(id);
        batch.push(if rng.next().is_multiple_of(5) {
            WriteOp::Delete(DocKey::partition(format!("key-{id:05}-é")))
        } else {
            WriteOp::Put(item(id, version))
        });
    }
    flush(&table, &mut batch).await;
}

/// Writes `batch` (every write lands, or the test fails) and empties it.
async fn flush(table: &DynamoStore, batch: &mut Vec<WriteOp>) {
    if batch.is_empty() {
        return;
    }
    let report = table
        .batch_write(std::mem::take(batch), Default::default())
        .await
        .unwrap();
    assert!(report.is_complete(), "{:?}", report.failed);
}

/// A new DynamoDB table `name` keyed by `id` text, with a stream of `view`.
async fn streamed_table(admin: &TableAdmin, name: &str, view: StreamView) -> DynamoStore {
    let table = admin
        .create(
            &TableDefinition::new(name, KeySchema::partition("id", KeyType::String)),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    admin.enable_stream(name, view).await.unwrap();
    table
}

/// A DynamoDB table with a NEW_AND_OLD_IMAGES stream, and an empty PostgreSQL table of the
/// same shape; their `stores` locations.
async fn pair(admin: &TableAdmin) -> (Arc<DynamoStore>, String, String) {
    let name = unique_name("follow-src");
    let table = streamed_table(admin, &name, StreamView::NewAndOldImages).await;
    let url = endpoint(Service::Postgres).await;
    let pg_table = unique_ident("follow_dst");
    postgres_connect(&url)
        .await
        .unwrap()
        .batch_execute(&format!(
            "CREATE TABLE {pg_table} (id text PRIMARY KEY, v bigint NOT NULL, n numeric, b bytea)"
        ))
        .await
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    (
        Arc::new(table),
        format!("dynamodb://{name}"),
        format!("{url}{sep}table={pg_table}"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_killed_ten_times_keeps_postgres_equal_to_dynamodb() {
    let admin = dynamo_admin().await;
    let (table, src, dst) = pair(&admin).await;
    for id in 0..300 {
        table.put(item(id, 0), Default::default()).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("follow.json");

    let writers: Vec<_> = (0..WRITERS)
        .map(|lane| {
            let table = table.clone();
            tokio::spawn(write_randomly(table, lane, 1_000 + lane, WRITES / WRITERS))
        })
        .collect();
    kill_repeatedly(&src, &dst, &checkpoint, 20_261_201, 10).await;
    for writer in writers {
        writer.await.unwrap();
    }

    let mut child = follower(&src, &dst, &checkpoint, &[]);
    wait_until_equal(&src, &dst, &mut child).await;
    let summary = summary(&interrupt(child));
    assert_eq!(summary["resyncs"], 0, "{summary}");
    assert!(equal(&src, &dst), "equal after the follower stopped");
    assert!(checkpoint.exists());
    admin.delete(table_name(&src)).await.unwrap();
}

fn table_name(location: &str) -> &str {
    location.trim_start_matches("dynamodb://")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_stream_is_answered_by_a_visible_full_resync() {
    let admin = dynamo_admin().await;
    let (table, src, dst) = pair(&admin).await;
    for id in 0..200 {
        table.put(item(id, 0), Default::default()).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("follow.json");
    let mut child = follower(&src, &dst, &checkpoint, &["--delete"]);
    wait_until_equal(&src, &dst, &mut child).await;
    let first = summary(&interrupt(child));
    assert_eq!(first["copies"], 1, "{first}");

    // While no follower runs, the table is dropped and made again under the same name: its new
    // stream does not hold the saved position (moto cannot re-enable a stream on one table,
    // which real DynamoDB also answers with a new stream). Rows the old table had must go.
    let name = table_name(&src);
    admin.delete(name).await.unwrap();
    let table = admin
        .create(
            &TableDefinition::new(name, KeySchema::partition("id", KeyType::String)),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    admin
        .enable_stream(name, StreamView::NewImage)
        .await
        .unwrap();
    for id in 150..250 {
        table.put(item(id, 7), Default::default()).await.unwrap();
    }

    let resync = follow_through_one_resync(&src, &dst, &checkpoint).await;
    assert!(resync.contains("now has stream"), "{resync}");
    admin.delete(name).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_whose_destination_index_was_deleted_copies_everything_again() {
    let admin = dynamo_admin().await;
    let name = unique_name("follow-gone");
    let table = streamed_table(&admin, &name, StreamView::NewImage).await;
    for id in 0..50 {
        table.put(item(id, 0), Default::default()).await.unwrap();
    }
    let src = format!("dynamodb://{name}");
    let dir = tempfile::tempdir().unwrap();
    // A tantivy index: `stores check` reads it while the follower writes (a redb file takes
    // one process at a time).
    let file = dir.path().join("dst");
    let dst = format!("tantivy://{}/dst", dir.path().display());
    let checkpoint = dir.path().join("follow.json");
    let mut child = follower(&src, &dst, &checkpoint, &[]);
    wait_until_equal(&src, &dst, &mut child).await;
    summary(&interrupt(child));

    // While no follower runs, the destination index is deleted and the source changes: the
    // feed's changes alone would leave a new index without the 50 items copied first.
    std::fs::remove_dir_all(&file).unwrap();
    for id in 50..60 {
        table.put(item(id, 1), Default::default()).await.unwrap();
    }
    let resync = follow_through_one_resync(&src, &dst, &checkpoint).await;
    assert!(resync.contains("dst` does not exist"), "{resync}");
    admin.delete(&name).await.unwrap();
}
