//! The batch size a command uses when `--batch-size` is not given: the sink's preference (a
//! PostgreSQL table takes 20,000 records a batch, each a `COPY` and its commit), else 5,000;
//! `--batch-size` always wins. Seen in the `--json` progress events, one per batch, against
//! PostgreSQL 15.

mod common;

use common::follow::{equal, stores};
use integration_tests::clients::postgres_connect;
use integration_tests::names::unique_ident;
use integration_tests::services::{Service, endpoint};

/// Rows in the source table: more than one batch of 20,000.
const ROWS: u64 = 25_000;

/// The records of each batch a command wrote, from its `--json` progress events.
fn batches(args: &[&str]) -> Vec<u64> {
    let out = stores().args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let batches: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|event| event["event"] == "progress")
        .map(|event| event["batch"].as_u64().unwrap())
        .collect();
    assert_eq!(batches.iter().sum::<u64>(), ROWS, "{args:?}: {batches:?}");
    batches
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_table_is_written_in_batches_of_its_own_size_unless_one_is_given() {
    let url = endpoint(Service::Postgres).await;
    let client = postgres_connect(&url).await.unwrap();
    let src = unique_ident("batch_src");
    client
        .batch_execute(&format!(
            "CREATE TABLE {src} (id bigint PRIMARY KEY, note text NOT NULL); \
             INSERT INTO {src} SELECT g, 'row ' || g FROM generate_series(1, {ROWS}) AS g"
        ))
        .await
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let table = |name: &str| format!("{url}{sep}table={name}");
    let dir = tempfile::tempdir().unwrap();
    let archive = format!("file://{}", dir.path().join("archive").display());

    // Into an archive, which has no preference: 5,000 (after the first, smaller pages that
    // size the records).
    let backup = batches(&["backup", &table(&src), &archive]);
    assert_eq!(backup.iter().max(), Some(&5_000), "{backup:?}");

    // Into a PostgreSQL table: 20,000.
    let restored = unique_ident("batch_dst");
    let restore = batches(&["restore", &archive, &table(&restored)]);
    assert_eq!(restore, [20_000, 5_000]);
    assert!(equal(&table(&src), &table(&restored)));

    // Unless --batch-size says otherwise.
    let copied = unique_ident("batch_copy");
    let copy = batches(&[
        "copy",
        "--batch-size",
        "7000",
        &table(&src),
        &table(&copied),
    ]);
    assert_eq!(copy.iter().max(), Some(&7_000), "{copy:?}");
    assert!(equal(&table(&src), &table(&copied)));

    client
        .batch_execute(&format!(
            "DROP TABLE {src}; DROP TABLE {restored}; DROP TABLE {copied}"
        ))
        .await
        .unwrap();
}
