//! Benchmark: `RedbStore::batch_write` of many items against the in-memory store and against
//! a plain redb loop that writes the same encoded bytes in one transaction.
//!
//! ```text
//! cargo run -p store-redb --release --example redb_bench -- --items 100000 --runs 3
//! ```
//!
//! Every side builds the same items inside the timed region; the redb sides use a fresh file
//! per run and immediate durability. One warm-up run of each, then the runs rotate the order;
//! the lines give the median of the runs and, in brackets, the fastest and slowest run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use store_core::document::{BatchWriteOptions, WriteOp};
use store_core::memory::MemoryDocumentStore;
use store_core::testkit::bench::{Measure, Samples, rotation};
use store_core::{Document, DocumentStore, KeySchema, KeyType, Number, Value};
use store_redb::RedbStore;
use store_redb::codec::{encode_document, encode_key};
use store_redb::redb::{Database, Durability, TableDefinition};

struct Args {
    items: i64,
    runs: usize,
    dir: PathBuf,
}

fn args() -> Args {
    let mut out = Args {
        items: 100_000,
        runs: 3,
        dir: std::env::temp_dir().join(format!("store-redb-bench-{}", std::process::id())),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--items" => out.items = value.parse().expect("--items N"),
            "--runs" => out.runs = value.parse::<usize>().expect("--runs N").max(1),
            "--dir" => out.dir = value.into(),
            other => panic!("unknown flag {other}; use --items, --runs, --dir"),
        }
    }
    out
}

fn schema() -> KeySchema {
    KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number)
}

fn item(i: i64) -> Document {
    let price: Number = format!("{}.{:02}", i % 1000, i % 100).parse().unwrap();
    Document::new()
        .with("pk", format!("user#{}", i % 1000))
        .with("sk", i)
        .with("name", format!("item number {i}"))
        .with("price", Value::Number(price))
        .with(
            "tags",
            Value::StringSet(["a".to_owned(), format!("t{}", i % 7)].into()),
        )
}

fn ops(n: i64) -> Vec<WriteOp> {
    (0..n).map(|i| WriteOp::Put(item(i))).collect()
}

async fn ours(args: &Args, run: usize) -> Duration {
    let path = args.dir.join(format!("ours-{run}.redb"));
    let store = RedbStore::open(&path, "bench", schema()).await.unwrap();
    let started = Instant::now();
    let report = store
        .batch_write(ops(args.items), BatchWriteOptions::default())
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(report.is_complete());
    elapsed
}

async fn memory(args: &Args) -> Duration {
    let store = MemoryDocumentStore::new("bench", schema()).unwrap();
    let started = Instant::now();
    let report = store
        .batch_write(ops(args.items), BatchWriteOptions::default())
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(report.is_complete());
    elapsed
}

fn plain(args: &Args, run: usize) -> Duration {
    let path = args.dir.join(format!("plain-{run}.redb"));
    let db = Database::create(&path).unwrap();
    let table: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
    let started = Instant::now();
    let mut txn = db.begin_write().unwrap();
    txn.set_durability(Durability::Immediate).unwrap();
    {
        let mut t = txn.open_table(table).unwrap();
        let schema = schema();
        for i in 0..args.items {
            let doc = item(i);
            let key = encode_key(&schema.key_of(&doc).unwrap());
            t.insert(key.as_slice(), encode_document(&doc).as_slice())
                .unwrap();
        }
    }
    txn.commit().unwrap();
    started.elapsed()
}

fn main() {
    let args = args();
    std::fs::create_dir_all(&args.dir).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut samples = [
        Samples::new("ours"),
        Samples::new("memory"),
        Samples::new("plain redb loop"),
    ];
    // Run 0 warms every contender and is not counted; then the order rotates each run.
    for run in 0..=args.runs {
        for at in rotation(run, samples.len()) {
            let took = match at {
                0 => runtime.block_on(ours(&args, run)),
                1 => runtime.block_on(memory(&args)),
                _ => plain(&args, run),
            };
            if run > 0 {
                samples[at].push_time(took);
            }
        }
    }
    let name = format!("batch_write {} items", args.items);
    Measure::Time.report_rounds(&name, &samples[0], &samples[1]);
    Measure::Time.report_rounds(
        &format!("{name} (target <= 1.5x)"),
        &samples[0],
        &samples[2],
    );
    let _ = std::fs::remove_dir_all(&args.dir);
}
