//! `stores sync postgres://…?table=T opensearch://…/INDEX --follow` against PostgreSQL 15's
//! logical replication and OpenSearch 2.19: a writer makes 20,000 random inserts, updates,
//! deletes and key changes while the follower is SIGKILLed and restarted at ten seeded points;
//! at the end `stores check` reports both sides equal. A dropped slot is answered by a visible
//! full resync, and `--cleanup` drops the slot and publication.

mod common;

use std::time::Duration;

use common::Seeded;
use common::follow::*;
use integration_tests::clients::postgres_connect;
use integration_tests::names::unique_ident;
use integration_tests::services::{Service, endpoint};
use store_rds::tokio_postgres::Client;

/// The writes the writer makes while the follower is killed and restarted.
const WRITES: u64 = 20_000;
/// The keys they fall on.
const KEYS: u64 = 2_000;

/// A PostgreSQL table with rows 0..`rows`, its `stores` location, and an OpenSearch index
/// location for it; plus a client on the database.
async fn pair(rows: u64) -> (Client, String, String, String) {
    let url = endpoint(Service::Postgres).await;
    let client = postgres_connect(&url).await.unwrap();
    let table = unique_ident("follow_src");
    client
        .batch_execute(&format!(
            "CREATE TABLE {table} (id bigint PRIMARY KEY, v bigint NOT NULL, \
                 n numeric, note text); \
             INSERT INTO {table} SELECT g, 0, 12345678901234567890.123456789012345678, \
                 'é ✓ ' || g FROM generate_series(0, {}) AS g",
            rows.saturating_sub(1)
        ))
        .await
        .unwrap();
    let search = endpoint(Service::OpenSearch).await;
    let host = search.trim_start_matches("http://").trim_end_matches('/');
    let sep = if url.contains('?') { '&' } else { '?' };
    (
        client,
        format!("{url}{sep}table={table}"),
        format!("opensearch://{host}/{}", table.replace('_', "-")),
        table,
    )
}

/// `count` random writes: new versions of rows (inserts or updates), one in six a delete,
/// one in fifty a key change, each its own transaction.
async fn write_randomly(client: &Client, table: &str, seed: u64, count: u64) {
    let mut rng = Seeded(seed);
    for version in 0..count {
        let id = (rng.next() % KEYS) as i64;
        let version = version as i64;
        let sql = match rng.next() % 50 {
            0 => format!(
                "UPDATE {table} SET id = {} WHERE id = {id}",
                KEYS as i64 + (rng.next() % KEYS) as i64
            ),
            1..=8 => format!("DELETE FROM {table} WHERE id = {id}"),
            _ => format!(
                "INSERT INTO {table} VALUES ({id}, {version}, {version}.{version}, 'v{version}') \
                 ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v, n = EXCLUDED.n, \
                     note = EXCLUDED.note"
            ),
        };
        // A key change onto a key that exists fails; that is a write that did not happen.
        let _ = client.batch_execute(&sql).await;
    }
}

/// `stores sync SRC DST --follow --cleanup`, which must succeed.
fn cleanup(src: &str, dst: &str, checkpoint: &std::path::Path) {
    let out = stores()
        .args(["sync", src, dst, "--follow", "--cleanup", "--checkpoint"])
        .arg(checkpoint)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Slots whose name starts with `prefix` (a follower's slot ends with a hash of its sink).
async fn slot_count(client: &Client, prefix: &str) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_replication_slots WHERE starts_with(slot_name, $1)",
            &[&prefix],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_killed_ten_times_keeps_opensearch_equal_to_postgres() {
    let (client, src, dst, table) = pair(500).await;
    // A feed needs a checkpoint to keep its place in.
    let out = stores()
        .args(["sync", &src, &dst, "--follow"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--checkpoint"));
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("follow.json");
    let writer = {
        let table = table.clone();
        let url = endpoint(Service::Postgres).await;
        tokio::spawn(async move {
            let client = postgres_connect(&url).await.unwrap();
            write_randomly(&client, &table, 7, WRITES).await;
        })
    };
    kill_repeatedly(&src, &dst, &checkpoint, 20_261_202, 10).await;
    writer.await.unwrap();

    let mut child = follower(&src, &dst, &checkpoint, &[]);
    wait_until_equal(&src, &dst, &mut child).await;
    let summary = summary(&interrupt(child));
    assert_eq!(summary["resyncs"], 0, "{summary}");
    assert!(equal(&src, &dst));

    // --cleanup drops the slot (which would keep WAL forever) and the checkpoint.
    let slot = format!("stores_public_{table}");
    assert_eq!(slot_count(&client, &slot).await, 1);
    cleanup(&src, &dst, &checkpoint);
    assert_eq!(slot_count(&client, &slot).await, 0);
    assert!(!checkpoint.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_slot_is_answered_by_a_visible_full_resync() {
    let (client, src, dst, table) = pair(300).await;
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("follow.json");
    let mut child = follower(&src, &dst, &checkpoint, &["--delete"]);
    wait_until_equal(&src, &dst, &mut child).await;
    summary(&interrupt(child));

    // While no follower runs, someone drops the slot, and rows change and go.
    let slot = format!("stores_public_{table}");
    // The stopped follower's server process may hold the slot for a moment longer.
    let drop_slot = format!(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
         WHERE starts_with(slot_name, '{slot}')"
    );
    let mut tries = 0;
    while let Err(e) = client.batch_execute(&drop_slot).await {
        tries += 1;
        assert!(tries < 100, "the slot could not be dropped: {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client
        .batch_execute(&format!(
            "DELETE FROM {table} WHERE id < 50; \
             UPDATE {table} SET note = 'changed' WHERE id BETWEEN 50 AND 99"
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let resync = follow_through_one_resync(&src, &dst, &checkpoint).await;
    assert!(resync.contains("no longer exists"), "{resync}");
    cleanup(&src, &dst, &checkpoint);
}

/// Without REPLICATION: `--watermark updated_at` follows new and changed rows; a delete is not
/// seen (the documented limit of that mode) until a `sync --delete`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watermark_follower_sees_changes_but_not_deletes() {
    let url = endpoint(Service::Postgres).await;
    let client = postgres_connect(&url).await.unwrap();
    let table = unique_ident("follow_wm");
    client
        .batch_execute(&format!(
            "CREATE TABLE {table} (id bigint PRIMARY KEY, note text, \
                 updated_at timestamptz NOT NULL DEFAULT clock_timestamp()); \
             INSERT INTO {table} (id, note) SELECT g, 'first' FROM generate_series(1, 100) g"
        ))
        .await
        .unwrap();
    let search = endpoint(Service::OpenSearch).await;
    let host = search.trim_start_matches("http://").trim_end_matches('/');
    let sep = if url.contains('?') { '&' } else { '?' };
    let src = format!("{url}{sep}table={table}");
    let dst = format!("opensearch://{host}/{}", table.replace('_', "-"));
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("follow.json");
    let flags = ["--watermark", "updated_at", "--lag-window", "0.2"];
    let mut child = follower(&src, &dst, &checkpoint, &flags);
    wait_until_equal(&src, &dst, &mut child).await;
    client
        .batch_execute(&format!(
            "INSERT INTO {table} (id, note) VALUES (101, 'new'); \
             UPDATE {table} SET note = 'changed', updated_at = clock_timestamp() WHERE id = 5"
        ))
        .await
        .unwrap();
    wait_until_equal(&src, &dst, &mut child).await;
    client
        .batch_execute(&format!("DELETE FROM {table} WHERE id = 6"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !equal(&src, &dst),
        "a delete reached the sink in watermark mode"
    );
    let out = interrupt(child);
    summary(&out);
    // The limit is said where the person running it sees it.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: following by watermark: deletes"),
        "{stderr}"
    );
    let out = stores()
        .args(["sync", &src, &dst, "--delete"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // (The index shows the delete after its next refresh.)
    let start = std::time::Instant::now();
    while !equal(&src, &dst) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "sync --delete left a difference"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
