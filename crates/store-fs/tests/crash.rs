//! Crash test: a writer process is killed with `SIGKILL` at seeded points, and every write it
//! acknowledged must then be in the store with exactly the acknowledged content.
//!
//! The test re-runs its own binary as the writer (`--exact crash_writer_child`, with
//! [`CHILD_ENV`] naming the store and the seed). The writer puts and deletes objects of many
//! sizes in a loop, small and streamed, printing `ack <i> <key> <etag>` only after each call
//! returned `Ok`. The parent replays the same seeded plan, so it knows every operation's key
//! and body; it kills the writer after a seeded number of acknowledgements, reads what the
//! writer acknowledged before dying, reopens the store (the dead writer's lock must be free)
//! and checks every key: the last acknowledged state, or the one operation that was in flight.

#[path = "common/scratch.rs"]
mod scratch;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use scratch::{Cleanup, unique_dir};
use sha2::{Digest, Sha256};
use store_core::object::{GetOptions, ListEntry, ListOptions, PutOptions};
use store_core::testkit::object::pattern;
use store_core::{ObjectKey, ObjectStore};
use store_fs::FsStore;

/// Set in the writer child: `<store folder>\t<seed>`.
const CHILD_ENV: &str = "STORE_FS_CRASH_CHILD";
/// Crash points.
const POINTS: u64 = 12;

/// One planned operation of the writer.
#[derive(Debug, Clone)]
enum Op {
    Put {
        key: String,
        body: Bytes,
        streamed: bool,
    },
    Delete {
        key: String,
    },
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Operation `i` of the writer seeded with `seed`: the same on both sides.
fn plan(seed: u64, i: u64) -> Op {
    let r = mix(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i);
    let key = match r % 3 {
        0 => format!("k{}", (r >> 8) % 10),
        1 => format!("dir/k{}", (r >> 8) % 10),
        _ => format!("dir/sub/k{}", (r >> 8) % 5),
    };
    if (r >> 16).is_multiple_of(10) {
        return Op::Delete { key };
    }
    let size = match (r >> 24) % 20 {
        0..=12 => (r >> 32) % 4096,
        13..=18 => 64 * 1024 + (r >> 32) % (256 * 1024),
        // Over the 1 MiB write batch, so streamed puts write several batches.
        _ => 1024 * 1024 + (r >> 32) % (1024 * 1024),
    } as usize;
    Op::Put {
        key,
        body: Bytes::from(pattern(size, r | 1)),
        streamed: (r >> 40).is_multiple_of(2),
    }
}

fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// The writer: runs only when the parent starts this binary with [`CHILD_ENV`] set.
#[test]
fn crash_writer_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (root, seed) = spec.split_once('\t').expect("root and seed");
    let seed: u64 = seed.parse().expect("seed");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = FsStore::open(root)
            .await
            .expect("the writer opens the store");
        let mut out = std::io::stdout().lock();
        for i in 0.. {
            let line = match plan(seed, i) {
                Op::Put {
                    key,
                    body,
                    streamed,
                } => {
                    let k = ObjectKey::new(key.as_str()).unwrap();
                    let result = if streamed {
                        let chunks: Vec<_> = body
                            .chunks(64 * 1024)
                            .map(Bytes::copy_from_slice)
                            .map(Ok)
                            .collect();
                        let stream = futures::stream::iter(chunks).boxed();
                        store.put_stream(&k, stream, PutOptions::new()).await
                    } else {
                        store.put(&k, body, PutOptions::new()).await
                    };
                    let etag = result.expect("put").etag.expect("etag");
                    format!("ack {i} {key} {etag}")
                }
                Op::Delete { key } => {
                    store
                        .delete(&ObjectKey::new(key.as_str()).unwrap())
                        .await
                        .expect("delete");
                    format!("ack {i} {key} deleted")
                }
            };
            writeln!(out, "{line}")
                .and_then(|()| out.flush())
                .expect("stdout");
        }
    });
}

/// Applies an acknowledged operation (a put's etag, or `None` for a delete) to the model of
/// key → etag.
fn apply(model: &mut BTreeMap<String, String>, key: String, etag: Option<String>) {
    match etag {
        Some(etag) => model.insert(key, etag),
        None => model.remove(&key),
    };
}

/// What the store holds: key → etag, the bodies of `touched` keys re-hashed to prove they are
/// not torn (the others were checked at an earlier point and not written since).
async fn actual_state(store: &FsStore, touched: &BTreeSet<String>) -> BTreeMap<String, String> {
    let entries: Vec<ListEntry> = store.list(ListOptions::new()).try_collect().await.unwrap();
    let mut state = BTreeMap::new();
    for entry in entries {
        let meta = entry.as_object().expect("no delimiter");
        if !touched.contains(meta.key.as_str()) {
            state.insert(
                meta.key.as_str().to_owned(),
                meta.etag.clone().expect("etag"),
            );
            continue;
        }
        let got = store.get(&meta.key, GetOptions::new()).await.unwrap();
        let etag = got.meta.etag.clone().expect("etag");
        let body = got.bytes().await.unwrap();
        assert_eq!(
            etag_of(&body),
            etag,
            "`{}` is torn: its body does not match its etag",
            meta.key
        );
        assert_eq!(body.len() as u64, meta.size);
        state.insert(meta.key.as_str().to_owned(), etag);
    }
    state
}

/// Temporary files anywhere under `dir`.
fn temp_files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else if entry.file_name().to_string_lossy().starts_with(".tmp-") {
                out.push(entry.path().display().to_string());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let started = Instant::now();
    let root = unique_dir("crash");
    let _cleanup = Cleanup(root.clone());
    let exe = std::env::current_exe().unwrap();
    let mut model: BTreeMap<String, String> = BTreeMap::new();
    let mut swept = 0;
    let mut landed = 0;
    for point in 0..POINTS {
        let seed = 7_000 + point;
        let kill_after = 1 + mix(seed) % 30;
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, format!("{}\t{seed}", root.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The test harness may print its own text before the first ack on a line.
                let Some(at) = line.find("ack ") else {
                    continue;
                };
                if tx.send(line[at..].to_owned()).is_err() {
                    break;
                }
            }
        });
        let mut acked: Vec<String> = Vec::new();
        while (acked.len() as u64) < kill_after {
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(line) => acked.push(line),
                Err(_) => {
                    let _ = child.kill();
                    let mut err = String::new();
                    child
                        .stderr
                        .take()
                        .unwrap()
                        .read_to_string(&mut err)
                        .unwrap();
                    panic!(
                        "point {point}: the writer stopped after {} acks: {err}",
                        acked.len()
                    );
                }
            }
        }
        // A seeded pause, so the kill lands at different phases of the next write.
        std::thread::sleep(Duration::from_micros(mix(seed ^ 1) % 8_000));
        let killed_at = started.elapsed();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        // What it acknowledged between our count and its death counts too.
        acked.extend(rx.try_iter());

        // Replay the plan: each operation generated and hashed once.
        let mut touched = BTreeSet::new();
        let mut effect = |i: u64| -> (String, Option<String>) {
            let (key, etag) = match plan(seed, i) {
                Op::Put { key, body, .. } => (key, Some(etag_of(&body))),
                Op::Delete { key } => (key, None),
            };
            touched.insert(key.clone());
            (key, etag)
        };
        for (n, line) in acked.iter().enumerate() {
            let parts: Vec<&str> = line.split(' ').collect();
            let [_, i, acked_key, acked_etag] = parts[..] else {
                panic!("a malformed ack: {line:?}");
            };
            assert_eq!(i.parse::<usize>().unwrap(), n, "acks arrive in order");
            let (key, etag) = effect(n as u64);
            assert_eq!(acked_key, key, "the acknowledged key is the planned one");
            apply(&mut model, key, etag.clone());
            let expected = etag.unwrap_or_else(|| "deleted".to_owned());
            assert_eq!(
                acked_etag, expected,
                "the acknowledged etag is the content's SHA-256"
            );
        }
        let (key, etag) = effect(acked.len() as u64);
        let in_flight = format!("{key} -> {etag:?}");
        let mut in_flight_model = model.clone();
        apply(&mut in_flight_model, key, etag);

        let store = FsStore::builder(&root)
            .sweep_on_open(false)
            .build()
            .await
            .unwrap_or_else(|e| panic!("point {point}: reopening after the kill: {e}"));
        let actual = actual_state(&store, &touched).await;
        assert!(
            actual == model || actual == in_flight_model,
            "point {point} (killed after {} acks, in flight: {in_flight}):\n store {actual:?}\n acked {model:?}",
            acked.len()
        );
        if actual != model {
            landed += 1;
        }
        model = actual;
        swept += store.sweep_temp_files().await.unwrap();
        assert!(temp_files(&root).is_empty(), "{:?}", temp_files(&root));
        drop(store);
        eprintln!(
            "point {point}: {} acks, killed at {killed_at:?}, {:?}",
            acked.len(),
            started.elapsed()
        );
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{POINTS} crash points ({landed} with the write in flight committed), {} keys at the \
         end, {swept} temporary files swept, {elapsed:?}",
        model.len()
    );
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
}
