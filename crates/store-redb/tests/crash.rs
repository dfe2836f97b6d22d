//! Crash test: a child process (this test binary, run again) writes items (single puts,
//! updates, three-item transactions, 50-item batches) and prints their ids once the call
//! returned `Ok`; the parent SIGKILLs it after a seeded random number of acknowledgments, at 12
//! points, reopens the file each time and checks that every acknowledged item is there, whole,
//! that the secondary index agrees with the items, and that redb finds the file intact.
//!
//! `STORE_REDB_CRASH_SEED` picks another seed (the seed in use is printed).

#[path = "support/temp.rs"]
mod temp;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use store_core::document::{
    BatchWriteOptions, GetItemOptions, PutItemOptions, Query, Scan, TransactAction, Update,
    UpdateOptions, WriteOp,
};
use store_core::{DocKey, Document, DocumentStore, KeySchema, KeyType, Value};
use store_redb::RedbStore;
use temp::TempDir;

/// Set in the child: the store file it writes, and the first id to write.
const CHILD_ENV: &str = "STORE_REDB_CRASH_CHILD";
const START_ENV: &str = "STORE_REDB_CRASH_START";
const TEST_NAME: &str = "acknowledged_writes_survive_sigkill";
const POINTS: usize = 12;
const DEFAULT_SEED: u64 = 0x5eed_0ed6_0001;

/// A small deterministic generator (xorshift64*), so a failing point can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

async fn open(path: &Path) -> store_core::Result<RedbStore> {
    let schema = KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number);
    let index = KeySchema::partition("status", KeyType::String).with_sort("due", KeyType::Number);
    RedbStore::builder(path, "crash", schema)
        .index("by-status", index)
        .build()
        .await
}

fn key(id: i64) -> DocKey {
    DocKey::partition(format!("c{}", id % 7)).with_sort(id)
}

/// The payload item `id` carries: its bytes depend on the id, so a torn item shows.
fn payload(id: i64) -> Vec<u8> {
    (0..(64 + id % 300))
        .map(|i| (id.wrapping_mul(31) + i) as u8)
        .collect()
}

fn status(id: i64) -> &'static str {
    if id % 2 == 0 { "open" } else { "closed" }
}

fn item(id: i64) -> Document {
    Document::new()
        .with("pk", format!("c{}", id % 7))
        .with("sk", id)
        .with("payload", Value::Bytes(payload(id).into()))
        .with("status", status(id))
        .with("due", -id)
}

fn ack(ids: &[i64]) {
    let line: Vec<String> = ids.iter().map(i64::to_string).collect();
    let mut out = std::io::stdout().lock();
    writeln!(out, "ack {}", line.join(" ")).unwrap();
    out.flush().unwrap();
}

/// The child: writes until killed, acknowledging each call after it returned.
fn child(path: &str, start: i64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = open(Path::new(path)).await.unwrap();
        let mut next = start;
        for round in 0u64.. {
            let ids: Vec<i64> = match round % 10 {
                3 | 7 => {
                    let ids: Vec<i64> = (next..next + 3).collect();
                    let actions = ids
                        .iter()
                        .map(|id| TransactAction::Put {
                            item: item(*id),
                            condition: None,
                        })
                        .collect();
                    store.transact_write(actions).await.unwrap();
                    ids
                }
                5 => {
                    let it = item(next);
                    let update = Update::new()
                        .set("payload", it.get("payload").unwrap().clone())
                        .set("status", status(next))
                        .set("due", -next);
                    store
                        .update(&key(next), &update, UpdateOptions::new())
                        .await
                        .unwrap();
                    vec![next]
                }
                9 => {
                    let ids: Vec<i64> = (next..next + 50).collect();
                    let ops = ids.iter().map(|id| WriteOp::Put(item(*id))).collect();
                    let report = store
                        .batch_write(ops, BatchWriteOptions::default())
                        .await
                        .unwrap();
                    assert!(report.is_complete());
                    ids
                }
                _ => {
                    store.put(item(next), PutItemOptions::new()).await.unwrap();
                    vec![next]
                }
            };
            next += ids.len() as i64;
            ack(&ids);
        }
    });
}

/// Runs the child until it has acknowledged `acks` calls, kills it, returns the ids it
/// acknowledged.
fn run_child_until(path: &Path, start: i64, acks: usize) -> Vec<i64> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, path)
        .env(START_ENV, start.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the child starts");
    let stdout = child.stdout.take().unwrap();
    let (lines, incoming) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let parse = |line: &str| -> Vec<i64> {
        line.split_once("ack ")
            .map(|(_, ids)| ids.split(' ').map(|id| id.parse().unwrap()).collect())
            .unwrap_or_default()
    };
    let mut acknowledged = Vec::new();
    let mut seen = 0;
    while seen < acks {
        let line = incoming
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("the child stopped acknowledging after {seen} calls"));
        let ids = parse(&line);
        if !ids.is_empty() {
            acknowledged.extend(ids);
            seen += 1;
        }
    }
    child.kill().expect("SIGKILL the child");
    child.wait().unwrap();
    // Whatever the child printed before it died was acknowledged too.
    drop(reader.join());
    while let Ok(line) = incoming.try_recv() {
        acknowledged.extend(parse(&line));
    }
    acknowledged
}

/// Reopens the file and checks every acknowledged item, the index and the file's integrity.
fn verify(path: &Path, acknowledged: &BTreeSet<i64>, point: usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = open(path).await.unwrap();
        let items: Vec<Document> = store.scan(Scan::new()).try_collect().await.unwrap();
        let mut present = BTreeSet::new();
        for doc in &items {
            let id = doc.get("sk").and_then(Value::as_i64).unwrap();
            assert_eq!(doc, &item(id), "point {point}: item {id} whole");
            present.insert(id);
        }
        let missing: Vec<_> = acknowledged.difference(&present).collect();
        assert!(
            missing.is_empty(),
            "point {point}: acknowledged items lost: {missing:?}"
        );
        let mut indexed = BTreeSet::new();
        for s in ["open", "closed"] {
            let ids: Vec<i64> = store
                .query(Query::partition(s).index("by-status"))
                .map_ok(|doc| doc.get("sk").and_then(Value::as_i64).unwrap())
                .try_collect()
                .await
                .unwrap();
            assert!(
                ids.windows(2).all(|w| w[0] > w[1]),
                "point {point}: index order"
            );
            indexed.extend(ids);
        }
        assert_eq!(
            indexed, present,
            "point {point}: the index matches the items"
        );
        if let Some(id) = acknowledged.last() {
            let got = store.get(&key(*id), GetItemOptions::new()).await.unwrap();
            assert_eq!(got, Some(item(*id)));
        }
    });
    let mut db = store_redb::redb::Database::open(path).expect("the file opens");
    assert!(
        db.check_integrity().expect("integrity check"),
        "point {point}: redb found the file damaged"
    );
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        let start = std::env::var(START_ENV).unwrap().parse().unwrap();
        child(&path, start);
        return;
    }
    let seed = std::env::var("STORE_REDB_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let mut rng = Rng(seed | 1);
    let dir = TempDir::new("crash");
    let path = dir.file("crash.redb");
    let started = Instant::now();
    let mut acknowledged = BTreeSet::new();
    let mut points = Vec::new();
    for point in 0..POINTS {
        let acks = 1 + (rng.next() % 120) as usize;
        let start = acknowledged.last().map_or(0, |id| id + 1);
        let ids = run_child_until(&path, start, acks);
        acknowledged.extend(ids);
        verify(&path, &acknowledged, point);
        points.push(acks);
    }
    let elapsed = started.elapsed();
    eprintln!(
        "crash test: seed {seed:#x}, {POINTS} kills after {points:?} acknowledgments, \
         {} acknowledged items all present, in {elapsed:.1?}",
        acknowledged.len()
    );
    assert!(
        elapsed < Duration::from_secs(60),
        "the crash test took {elapsed:?}"
    );
}
