//! Crash test: a child process (this test binary, run again) writes documents (single
//! indexes, updates, 20-document bulks) and refreshes (commits) every few rounds, printing the
//! ids of each commit once `refresh` returned; the parent SIGKILLs it after a seeded random
//! number of commits plus a seeded delay (so it dies mid-write or mid-commit), at 10 points,
//! reopens the index each time and checks that it opens cleanly, that every committed
//! document is there, exactly as written and searchable, and that it takes new writes.
//!
//! `STORE_TANTIVY_CRASH_SEED` picks another seed (the seed in use is printed).

#[path = "support/temp.rs"]
mod temp;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use store_core::search::{BulkOp, FieldType, IndexOptions, IndexSpec, SearchQuery, SearchRequest};
use store_core::{Document, SearchIndex, SearchIndexExt, Value};
use store_tantivy::TantivyIndex;
use temp::TempDir;

const CHILD_ENV: &str = "STORE_TANTIVY_CRASH_CHILD";
const START_ENV: &str = "STORE_TANTIVY_CRASH_START";
const TEST_NAME: &str = "committed_documents_survive_sigkill";
const NAME: &str = "crash";
const POINTS: usize = 10;
const DEFAULT_SEED: u64 = 0x5eed_7a47_0001;

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

async fn open(root: &Path) -> store_core::Result<TantivyIndex> {
    let index = TantivyIndex::builder(root, NAME)
        .memory_budget(16 << 20)
        .build()
        .await?;
    if !index.exists().await? {
        let spec = IndexSpec::new()
            .field("n", FieldType::Long)
            .field("body", FieldType::Text);
        index.create(&spec).await?;
    }
    Ok(index)
}

/// The document `n`: its payload depends on `n`, so a torn or mixed-up document shows.
fn item(n: i64) -> Document {
    let payload: Vec<u8> = (0..(32 + n % 200))
        .map(|i| (n.wrapping_mul(31) + i) as u8)
        .collect();
    Document::new()
        .with("n", n)
        .with("body", format!("word{} common text {n}", n % 13))
        .with("price", Value::Number(format!("{n}.50").parse().unwrap()))
        .with("payload", Value::Bytes(payload.into()))
}

fn touched(n: i64) -> Document {
    item(n).with("touched", true)
}

/// The child: writes and commits until killed; after each refresh prints `commit` and the ids
/// of that commit (`t<n>` for a document updated in it).
fn child(root: &str, start: i64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let index = open(Path::new(root)).await.unwrap();
        let mut next = start;
        let mut batch: Vec<String> = Vec::new();
        for round in 0u64.. {
            match round % 7 {
                3 => {
                    let ops = (next..next + 20)
                        .map(|n| BulkOp::Index {
                            id: format!("d{n}"),
                            doc: item(n),
                        })
                        .collect();
                    let report = index.bulk(ops).await.unwrap();
                    assert!(report.is_complete(), "{:?}", report.failed);
                    batch.extend((next..next + 20).map(|n| n.to_string()));
                    next += 20;
                }
                5 => {
                    index
                        .index(&format!("d{next}"), item(next), IndexOptions::new())
                        .await
                        .unwrap();
                    let partial = Document::new().with("touched", true);
                    index
                        .update(&format!("d{next}"), partial, IndexOptions::new())
                        .await
                        .unwrap();
                    batch.push(format!("t{next}"));
                    next += 1;
                }
                _ => {
                    index
                        .index(&format!("d{next}"), item(next), IndexOptions::new())
                        .await
                        .unwrap();
                    batch.push(next.to_string());
                    next += 1;
                }
            }
            if round % 3 == 2 {
                index.refresh().await.unwrap();
                let mut out = std::io::stdout().lock();
                writeln!(out, "commit {}", batch.join(" ")).unwrap();
                out.flush().unwrap();
                batch.clear();
            }
        }
    });
}

/// Runs the child until it has reported `commits` commits and `delay` more, kills it, returns
/// the committed documents it reported (id → updated).
fn run_child_until(root: &Path, start: i64, commits: usize, delay: Duration) -> Vec<(i64, bool)> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, root)
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
    let parse = |line: &str| -> Vec<(i64, bool)> {
        line.strip_prefix("commit ")
            .map(|ids| {
                ids.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(|id| match id.strip_prefix('t') {
                        Some(n) => (n.parse().unwrap(), true),
                        None => (id.parse().unwrap(), false),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut committed = Vec::new();
    let mut seen = 0;
    while seen < commits {
        let line = incoming
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("the child stopped committing after {seen} commits"));
        if line.starts_with("commit ") {
            committed.extend(parse(&line));
            seen += 1;
        }
    }
    std::thread::sleep(delay);
    child.kill().expect("SIGKILL the child");
    child.wait().unwrap();
    drop(reader.join());
    while let Ok(line) = incoming.try_recv() {
        committed.extend(parse(&line));
    }
    committed
}

/// Reopens the index and checks every committed document and the index's health.
fn verify(root: &Path, committed: &BTreeMap<i64, bool>, point: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let index = open(root)
            .await
            .unwrap_or_else(|e| panic!("point {point}: the index must reopen cleanly: {e}"));
        for (n, was_touched) in committed {
            let stored = index
                .get(&format!("d{n}"))
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("point {point}: committed document d{n} lost"));
            let expected = if *was_touched { touched(*n) } else { item(*n) };
            assert_eq!(
                stored.source, expected,
                "point {point}: document d{n} whole"
            );
        }
        let total = index.count(&SearchQuery::MatchAll).await.unwrap();
        assert!(
            total >= committed.len() as u64,
            "point {point}: {total} documents"
        );
        assert_eq!(
            index
                .count(&SearchQuery::matches("body", "common"))
                .await
                .unwrap(),
            total,
            "point {point}: every document is searchable by its text"
        );
        if let Some((n, _)) = committed.last_key_value() {
            assert_eq!(
                index.count(&SearchQuery::term("n", *n)).await.unwrap(),
                1,
                "point {point}: the last committed document is found by term"
            );
        }
        let request = SearchRequest::new(SearchQuery::MatchAll)
            .sort(store_core::search::SortField::asc("n"))
            .size(500);
        use futures::TryStreamExt;
        let ids: Vec<String> = index
            .search_all(request)
            .map_ok(|hit| hit.id)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(
            ids.len() as u64,
            total,
            "point {point}: paging sees every document"
        );
        for n in committed.keys() {
            assert!(
                ids.contains(&format!("d{n}")),
                "point {point}: d{n} searchable"
            );
        }
        // The reopened index takes writes and commits.
        index
            .index("probe", item(-1), IndexOptions::new().refresh())
            .await
            .unwrap();
        index
            .delete("probe", IndexOptions::new().refresh())
            .await
            .unwrap();
        index.close().await.unwrap();
    });
}

#[test]
fn committed_documents_survive_sigkill() {
    if let Ok(root) = std::env::var(CHILD_ENV) {
        let start = std::env::var(START_ENV).unwrap().parse().unwrap();
        child(&root, start);
        return;
    }
    let seed = std::env::var("STORE_TANTIVY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let mut rng = Rng(seed | 1);
    let dir = TempDir::new("crash");
    let started = Instant::now();
    let mut committed: BTreeMap<i64, bool> = BTreeMap::new();
    let mut points = Vec::new();
    let mut next = 0;
    for point in 0..POINTS {
        let commits = 1 + (rng.next() % 8) as usize;
        let delay = Duration::from_millis(rng.next() % 40);
        for (n, was_touched) in run_child_until(dir.path(), next, commits, delay) {
            committed.insert(n, was_touched);
        }
        // Ids past the last commit may have been written and lost: start after them.
        next = committed.last_key_value().map_or(0, |(n, _)| n + 1) + 1_000;
        verify(dir.path(), &committed, point);
        points.push((commits, delay.as_millis()));
    }
    let elapsed = started.elapsed();
    eprintln!(
        "crash test: seed {seed:#x}, {POINTS} kills after (commits, ms) {points:?}, {} committed \
         documents all present, in {elapsed:.1?}",
        committed.len()
    );
    assert!(
        elapsed < Duration::from_secs(90),
        "the crash test took {elapsed:?}"
    );
}
