//! The store-dynamo benchmark (a program, not a timed test), against a local DynamoDB (moto,
//! or dynalite with `--server dynalite`): run it with `crates/store-dynamo/bench/run.sh`. It
//! prints the server's CPU time per writer beside the rates (`STORES_BENCH_SERVER` names the
//! server, `STORES_BENCH_SERVER_PID_FILE` its pid file; run.sh sets both).
//!
//! - 10,000 items of about 1 KB: `batch_write` vs a naive sequential `put_item` loop on the
//!   raw SDK, and vs boto3's `Table.batch_writer()` (a Python script, run when
//!   `STORES_BENCH_PYTHON` and `STORES_BENCH_BOTO3_SCRIPT` are set);
//! - 2,000 `get_item` calls through store-dynamo vs the raw SDK.
//!
//! Every contender first runs once at full size to warm the server, then `BENCH_ROUNDS` (default
//! 3) rounds run them in rotated order; each line reads
//! `bench <name>: ours <median> [min–max] vs <baseline> <median> [min–max] = <ratio>x`, the ratio
//! being ours over the baseline: of items written a second for the writes (above 1: ours is
//! faster), of the time of one get for the reads (below 1: ours is faster).

use std::error::Error;
use std::process::Command;
use std::time::{Duration, Instant};

use store_core::document::{BatchWriteOptions, GetItemOptions, WriteOp};
use store_core::testkit::bench::{
    CpuMark, Measure, Samples, ServerProcess, rotation, server_cpu_medians,
};
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

/// The three ways of writing the same items, each into a table of its own.
#[derive(Clone, Copy, PartialEq)]
enum Writer {
    /// store-dynamo's `batch_write`, 25 a call, 8 calls in flight.
    Ours,
    /// One `put_item` after the other on the raw SDK.
    Naive,
    /// boto3's `Table.batch_writer()`, a Python child process.
    Boto3,
}

/// What the writers share: the SDK client, the admin, the items and the boto3 script if any.
struct Bench {
    endpoint: String,
    client: store_dynamo::sdk::Client,
    admin: TableAdmin,
    docs: Vec<Document>,
    boto3: Option<(String, String)>,
    run: u32,
    /// The server, whose CPU time each write reports (when it runs here).
    server: Option<ServerProcess>,
}

impl Bench {
    /// Writes every item with `writer` into a new table, which is dropped afterwards; returns
    /// the time the writes took (the table's creation is not timed) and the CPU seconds the
    /// server spent on them, when its process is known.
    async fn write(
        &self,
        writer: Writer,
        round: usize,
    ) -> Result<(Duration, Option<f64>), Box<dyn Error>> {
        let name = format!("bench-{}-{round}-{}", writer.label(), self.run);
        let store = self
            .admin
            .create(
                &TableDefinition::new(&name, schema()),
                Duration::from_secs(60),
            )
            .await?;
        let mark = self.server.and_then(ServerProcess::mark);
        let took = self.write_into(writer, &store).await;
        let spent = mark.and_then(CpuMark::spent);
        self.admin.delete(&name).await?;
        Ok((took?, spent))
    }

    async fn write_into(
        &self,
        writer: Writer,
        store: &store_dynamo::DynamoStore,
    ) -> Result<Duration, Box<dyn Error>> {
        let table = store.table_name();
        let start = Instant::now();
        match writer {
            Writer::Ours => {
                let ops: Vec<WriteOp> = self.docs.iter().cloned().map(WriteOp::Put).collect();
                let options = BatchWriteOptions {
                    concurrency: 8,
                    ..BatchWriteOptions::default()
                };
                let report = store.batch_write(ops, options).await?;
                assert!(report.is_complete(), "unwritten: {}", report.failed.len());
            }
            Writer::Naive => {
                for doc in &self.docs {
                    self.client
                        .put_item()
                        .table_name(table)
                        .set_item(Some(to_item(doc)))
                        .send()
                        .await?;
                }
            }
            Writer::Boto3 => {
                let (python, script) = self.boto3.as_ref().ok_or("no boto3 baseline")?;
                let items = self.docs.len().to_string();
                let out = Command::new(python)
                    .args([script, &self.endpoint, table, &items, "1000"])
                    .output()?;
                if !out.status.success() {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    return Err(format!("the boto3 baseline failed: {stderr}").into());
                }
                // The child's own clock: its interpreter's start-up is not the writer's time.
                let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
                let seconds = report["seconds"].as_f64().ok_or("no seconds from boto3")?;
                return Ok(Duration::from_secs_f64(seconds));
            }
        }
        Ok(start.elapsed())
    }
}

impl Writer {
    fn label(self) -> &'static str {
        match self {
            Writer::Ours => "ours",
            Writer::Naive => "naive_put_item_loop",
            Writer::Boto3 => "boto3_batch_writer",
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let endpoint = env_or("STORES_DYNAMODB_ENDPOINT", "http://127.0.0.1:5000");
    let items: usize = env_or("BENCH_ITEMS", "10000").parse()?;
    let gets: usize = env_or("BENCH_GETS", "2000").parse()?;
    let rounds: usize = env_or("BENCH_ROUNDS", "3").parse::<usize>()?.max(1);
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
    let payload = "x".repeat(1000);
    let boto3 = match (
        std::env::var("STORES_BENCH_PYTHON"),
        std::env::var("STORES_BENCH_BOTO3_SCRIPT"),
    ) {
        (Ok(python), Ok(script)) => Some((python, script)),
        _ => {
            println!("bench batch_write_{items}: boto3 baseline skipped (run bench/run.sh)");
            None
        }
    };
    let bench = Bench {
        endpoint,
        admin: TableAdmin::from_client(client.clone()),
        client,
        docs: (0..items).map(|i| item(i, &payload)).collect(),
        boto3,
        run: std::process::id(),
        server: std::env::var_os("STORES_BENCH_SERVER_PID_FILE")
            .and_then(|file| ServerProcess::from_pid_file(file.as_ref())),
    };
    let mut writers = vec![Writer::Ours, Writer::Naive];
    if bench.boto3.is_some() {
        writers.push(Writer::Boto3);
    }
    let server = env_or("STORES_BENCH_SERVER", "moto");
    println!(
        "bench dynamodb: {items} items of about 1 KB on {server} ({}), {rounds} rounds after a \
         warm-up run of each writer",
        bench.endpoint
    );

    let mut samples: Vec<Samples> = writers.iter().map(|w| Samples::new(w.label())).collect();
    let mut server_cpu: Vec<Vec<(f64, f64)>> = vec![Vec::new(); writers.len()];
    for round in 0..=rounds {
        for at in rotation(round, writers.len()) {
            let (took, cpu) = bench.write(writers[at], round).await?;
            if round > 0 {
                samples[at].push_rate(items as f64, took);
                if let Some(cpu) = cpu {
                    server_cpu[at].push((cpu, took.as_secs_f64()));
                }
            }
        }
    }
    for baseline in &samples[1..] {
        let name = format!("batch_write_{items} (targets: 10x naive, 1.5x boto3)");
        Measure::Rate("items/s").report_rounds(&name, &samples[0], baseline);
    }
    report_server_cpu(
        &format!("batch_write_{items}"),
        &server,
        &writers,
        &server_cpu,
    );

    gets_against_the_raw_sdk(&bench, gets, rounds).await
}

/// Prints, for each writer, the median CPU seconds the server spent on one run and their share
/// of the run's time: a share near 100% means the server (moto and dynalite work on one core)
/// was the limit.
fn report_server_cpu(name: &str, server: &str, writers: &[Writer], runs: &[Vec<(f64, f64)>]) {
    let contenders = writers
        .iter()
        .map(|w| w.label())
        .zip(runs.iter().map(Vec::as_slice));
    if let Some(line) = server_cpu_medians(contenders) {
        println!("bench {name}: {server} CPU per run (median): {line}");
    }
}

/// `gets` point reads through store-dynamo and through the raw SDK on the same table, in
/// rotated rounds of the same keys; reported as the time of one get.
async fn gets_against_the_raw_sdk(
    bench: &Bench,
    gets: usize,
    rounds: usize,
) -> Result<(), Box<dyn Error>> {
    let name = format!("bench-gets-{}", bench.run);
    let store = bench
        .admin
        .create(
            &TableDefinition::new(&name, schema()),
            Duration::from_secs(60),
        )
        .await?;
    let result = async {
        bench.write_into(Writer::Ours, &store).await?;
        let keys: Vec<DocKey> = (0..gets)
            .map(|i| key(i % bench.docs.len().max(1)))
            .collect();
        let mut samples = [Samples::new("ours"), Samples::new("raw_sdk_get_item")];
        for round in 0..=rounds {
            for at in rotation(round, 2) {
                let start = Instant::now();
                for k in &keys {
                    let found = if at == 0 {
                        store.get(k, GetItemOptions::new()).await?.is_some()
                    } else {
                        let got = bench
                            .client
                            .get_item()
                            .table_name(&name)
                            .set_key(Some(key_item(&schema(), k)))
                            .send()
                            .await?;
                        got.item().is_some()
                    };
                    assert!(found, "{k:?} was written");
                }
                if round > 0 {
                    samples[at].push_time(start.elapsed() / gets.max(1) as u32);
                }
            }
        }
        Measure::Time.report_rounds(
            &format!("get_item (one of {gets}, target <= 1.05x)"),
            &samples[0],
            &samples[1],
        );
        Ok::<_, Box<dyn Error>>(())
    }
    .await;
    bench.admin.delete(&name).await?;
    result
}
