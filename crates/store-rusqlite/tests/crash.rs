//! Crash test: a child process (this test binary, run again) writes rows and prints each id
//! once its commit returned `Ok`; the parent SIGKILLs it after a seeded random number of
//! acknowledgments, at 12 points, reopens the file each time and checks that every
//! acknowledged row is there, whole, and that `PRAGMA integrity_check` says `ok`.
//!
//! `STORE_SQLITE_CRASH_SEED` picks another seed (the seed in use is printed).

#[path = "support/temp.rs"]
mod temp;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::stream;
use store_core::{SqlStore, SqlStoreExt, Value};
use store_rusqlite::SqliteStore;
use temp::TempDir;

/// Set in the child: the database file it writes.
const CHILD_ENV: &str = "STORE_SQLITE_CRASH_CHILD";
const TEST_NAME: &str = "acknowledged_commits_survive_sigkill";
const POINTS: usize = 12;
const DEFAULT_SEED: u64 = 0x5eed_5eed_0001;

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

/// The payload row `id` carries: its bytes depend on the id, so a torn row shows.
fn payload(id: i64) -> Vec<u8> {
    (0..(64 + id % 300))
        .map(|i| (id.wrapping_mul(31) + i) as u8)
        .collect()
}

/// FNV-1a of the payload, stored beside it.
fn digest(bytes: &[u8]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
    }
    (h >> 1) as i64
}

fn values(id: i64) -> Vec<Value> {
    let bytes = payload(id);
    let sum = digest(&bytes);
    vec![id.into(), Value::Bytes(bytes.into()), sum.into()]
}

fn ack(ids: &[i64]) {
    let line: Vec<String> = ids.iter().map(i64::to_string).collect();
    let mut out = std::io::stdout().lock();
    writeln!(out, "ack {}", line.join(" ")).unwrap();
    out.flush().unwrap();
}

/// The child: writes until killed, in single-row commits, multi-row transactions and bulk
/// loads, acknowledging each after its commit returned.
fn child(path: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(path).await.unwrap();
        store
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, payload BLOB NOT NULL, \
                 digest INTEGER NOT NULL)",
            )
            .await
            .unwrap();
        let max = store
            .query_one("SELECT coalesce(max(id), 0) AS m FROM t", &[])
            .await
            .unwrap();
        let mut next = max.get("m").and_then(Value::as_i64).unwrap() + 1;
        let insert = "INSERT INTO t (id, payload, digest) VALUES ($1, $2, $3)";
        for round in 0u64.. {
            let ids: Vec<i64> = match round % 10 {
                3 | 7 => {
                    let ids: Vec<i64> = (next..next + 3).collect();
                    let mut tx = store.begin(Default::default()).await.unwrap();
                    for id in &ids {
                        tx.execute(insert, &values(*id)).await.unwrap();
                    }
                    tx.commit().await.unwrap();
                    ids
                }
                9 => {
                    let ids: Vec<i64> = (next..next + 50).collect();
                    let rows = ids.iter().map(|id| Ok(values(*id)));
                    store
                        .insert_rows("t", &["id", "payload", "digest"], stream::iter(rows))
                        .await
                        .unwrap();
                    ids
                }
                _ => {
                    store.execute(insert, &values(next)).await.unwrap();
                    vec![next]
                }
            };
            next += ids.len() as i64;
            ack(&ids);
        }
    });
}

/// Runs the child until it has acknowledged `acks` commits, kills it, returns the ids it
/// acknowledged.
fn run_child_until(path: &std::path::Path, acks: usize) -> Vec<i64> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, path)
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
    let mut acknowledged = Vec::new();
    let mut seen = 0;
    while seen < acks {
        let line = incoming
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("the child stopped acknowledging after {seen} commits"));
        if let Some(ids) = line.strip_prefix("ack ") {
            acknowledged.extend(ids.split(' ').map(|id| id.parse::<i64>().unwrap()));
            seen += 1;
        }
    }
    child.kill().expect("SIGKILL the child");
    child.wait().unwrap();
    // Whatever the child printed before it died was acknowledged too.
    drop(reader.join());
    while let Ok(line) = incoming.try_recv() {
        if let Some(ids) = line.strip_prefix("ack ") {
            acknowledged.extend(ids.split(' ').map(|id| id.parse::<i64>().unwrap()));
        }
    }
    acknowledged
}

/// Reopens the file and checks every acknowledged row and the file's integrity.
fn verify(path: &std::path::Path, acknowledged: &BTreeSet<i64>, point: usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(path).await.unwrap();
        let check = store
            .query_one("PRAGMA integrity_check", &[])
            .await
            .unwrap();
        assert_eq!(
            check.get("integrity_check"),
            Some(&Value::from("ok")),
            "point {point}: integrity"
        );
        let rows = store
            .query_all("SELECT id, payload, digest FROM t", &[])
            .await
            .unwrap();
        let mut present = BTreeSet::new();
        for row in &rows {
            let id = row.get("id").and_then(Value::as_i64).unwrap();
            let Some(Value::Bytes(bytes)) = row.get("payload") else {
                panic!("point {point}: row {id} lost its payload: {row:?}");
            };
            assert_eq!(
                bytes.as_ref(),
                payload(id).as_slice(),
                "point {point}: row {id} whole"
            );
            assert_eq!(row.get("digest"), Some(&Value::from(digest(bytes))));
            present.insert(id);
        }
        let missing: Vec<_> = acknowledged.difference(&present).collect();
        assert!(
            missing.is_empty(),
            "point {point}: acknowledged rows lost: {missing:?}"
        );
    });
}

#[test]
fn acknowledged_commits_survive_sigkill() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        child(&path);
        return;
    }
    let seed = std::env::var("STORE_SQLITE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let mut rng = Rng(seed | 1);
    let dir = TempDir::new("crash");
    let path = dir.file("crash.db");
    let started = Instant::now();
    let mut acknowledged = BTreeSet::new();
    let mut points = Vec::new();
    for point in 0..POINTS {
        let acks = 1 + (rng.next() % 120) as usize;
        let ids = run_child_until(&path, acks);
        acknowledged.extend(ids);
        verify(&path, &acknowledged, point);
        points.push(acks);
    }
    let elapsed = started.elapsed();
    eprintln!(
        "crash test: seed {seed:#x}, {POINTS} kills after {points:?} acknowledgments, \
         {} acknowledged rows all present, in {elapsed:.1?}",
        acknowledged.len()
    );
    assert!(
        elapsed < Duration::from_secs(30),
        "the crash test took {elapsed:?}"
    );
}
