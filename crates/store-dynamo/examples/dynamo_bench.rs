//! The store-dynamo benchmark (a program, not a timed test), against a local DynamoDB
//! (moto): run it with `crates/store-dynamo/bench/run.sh`.
//!
//! - 10,000 items of about 1 KB: `batch_write` vs a naive sequential `put_item` loop on the
//!   raw SDK, and vs boto3's `Table.batch_writer()` (a Python script, run when
//!   `STORES_BENCH_PYTHON` and `STORES_BENCH_BOTO3_SCRIPT` are set);
//! - 2,000 `get_item` calls through store-dynamo vs the raw SDK.
//!
//! Each line reads `bench <name>: ours <value> vs <baseline> <value> = <ratio>x`.

use std::error::Error;
use std::process::Command;
use std::time::{Duration, Instant};

use store_core::document::{BatchWriteOptions, GetItemOptions, WriteOp};
use store_core::{DocKey, Document, DocumentStore, KeySchema, KeyType};
use store_dynamo::convert::{key_item, to_item};
use store_dynamo::sdk::config::{BehaviorVersion, Credentials, Region};
use store_dynamo::{TableAdmin, TableDefinition};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn schema() -> KeySchema {
    KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number)
}

fn item(i: usize, payload: &str) -> Document {
    Document::new()
        .with("pk", format!("p{}", i % 100))
        .with("sk", i as i64)
        .with("payload", payload)
        .with("i", i as i64)
}

fn key(i: usize) -> DocKey {
    DocKey::partition(format!("p{}", i % 100)).with_sort(i as i64)
}

fn line(name: &str, ours: Duration, baseline: &str, theirs: Duration, ratio: f64) {
    println!(
        "bench {name}: ours {:.3}s vs {baseline} {:.3}s = {ratio:.2}x",
        ours.as_secs_f64(),
        theirs.as_secs_f64()
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let endpoint = env_or("STORES_DYNAMODB_ENDPOINT", "http://127.0.0.1:5000");
    let items: usize = env_or("BENCH_ITEMS", "10000").parse()?;
    let gets: usize = env_or("BENCH_GETS", "2000").parse()?;
    let config = store_dynamo::sdk::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(Region::new(env_or("AWS_REGION", "us-east-1")))
        .credentials_provider(Credentials::new(
            env_or("AWS_ACCESS_KEY_ID", "test"),
            env_or("AWS_SECRET_ACCESS_KEY", "test"),
            None,
            None,
            "bench",
        ))
        .build();
    let client = store_dynamo::sdk::Client::from_conf(config);
    let admin = TableAdmin::from_client(client.clone());
    let run = std::process::id();
    let payload = "x".repeat(1000);
    let docs: Vec<Document> = (0..items).map(|i| item(i, &payload)).collect();
    let mut tables = Vec::new();

    let result = async {
        // Ours: batch_write, 25 a call, 8 calls in flight.
        let name = format!("bench-ours-{run}");
        let store = admin
            .create(&TableDefinition::new(&name, schema()), Duration::from_secs(60))
            .await?;
        tables.push(name);
        let ops: Vec<WriteOp> = docs.iter().cloned().map(WriteOp::Put).collect();
        let start = Instant::now();
        let report = store
            .batch_write(
                ops,
                BatchWriteOptions {
                    concurrency: 8,
                    ..BatchWriteOptions::default()
                },
            )
            .await?;
        let ours = start.elapsed();
        assert!(report.is_complete(), "unwritten: {}", report.failed.len());

        // Naive: one put_item after the other on the raw SDK.
        let naive_table = format!("bench-naive-{run}");
        admin
            .create(&TableDefinition::new(&naive_table, schema()), Duration::from_secs(60))
            .await?;
        tables.push(naive_table.clone());
        let start = Instant::now();
        for doc in &docs {
            client
                .put_item()
                .table_name(&naive_table)
                .set_item(Some(to_item(doc)))
                .send()
                .await?;
        }
        let naive = start.elapsed();
        line(
            &format!("batch_write_{items}"),
            ours,
            "naive_put_item_loop",
            naive,
            naive.as_secs_f64() / ours.as_secs_f64(),
        );

        // boto3's batch_writer, when the Python baseline is available.
        if let (Ok(python), Ok(script)) = (
            std::env::var("STORES_BENCH_PYTHON"),
            std::env::var("STORES_BENCH_BOTO3_SCRIPT"),
        ) {
            let boto_table = format!("bench-boto3-{run}");
            admin
                .create(&TableDefinition::new(&boto_table, schema()), Duration::from_secs(60))
                .await?;
            tables.push(boto_table.clone());
            let out = Command::new(python)
                .args([&script, &endpoint, &boto_table, &items.to_string(), "1000"])
                .output()?;
            if !out.status.success() {
                return Err(format!(
                    "the boto3 baseline failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
                .into());
            }
            let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
            let seconds = report["seconds"].as_f64().ok_or("no seconds in boto3 output")?;
            let boto = Duration::from_secs_f64(seconds);
            line(
                &format!("batch_write_{items}"),
                ours,
                "boto3_batch_writer",
                boto,
                boto.as_secs_f64() / ours.as_secs_f64(),
            );
        } else {
            println!("bench batch_write_{items}: boto3 baseline skipped (run bench/run.sh)");
        }

        // Gets: the same keys through the store and through the raw SDK, alternating blocks
        // so that both see the same server state.
        let keys: Vec<DocKey> = (0..gets).map(|i| key(i % items.max(1))).collect();
        let table = store.table_name().to_owned();
        for k in keys.iter().take(200) {
            store.get(k, GetItemOptions::new()).await?;
            client
                .get_item()
                .table_name(&table)
                .set_key(Some(key_item(&schema(), k)))
                .send()
                .await?;
        }
        let (mut ours, mut raw) = (Duration::ZERO, Duration::ZERO);
        for block in keys.chunks(100) {
            let start = Instant::now();
            for k in block {
                let got = store.get(k, GetItemOptions::new()).await?;
                assert!(got.is_some());
            }
            ours += start.elapsed();
            let start = Instant::now();
            for k in block {
                let got = client
                    .get_item()
                    .table_name(&table)
                    .set_key(Some(key_item(&schema(), k)))
                    .send()
                    .await?;
                assert!(got.item().is_some());
            }
            raw += start.elapsed();
        }
        line(
            &format!("get_item_{gets}"),
            ours,
            "raw_sdk_get_item",
            raw,
            ours.as_secs_f64() / raw.as_secs_f64(),
        );
        println!(
            "bench get_item_{gets}: per get ours {:.3} ms vs raw sdk {:.3} ms (ratio = ours / raw; target <= 1.05)",
            ours.as_secs_f64() * 1000.0 / gets as f64,
            raw.as_secs_f64() * 1000.0 / gets as f64
        );
        Ok::<_, Box<dyn Error>>(())
    }
    .await;
    for table in tables {
        let _ = admin.delete(&table).await;
    }
    result
}
