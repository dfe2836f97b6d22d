//! `stores copy`, `backup` and `restore` killed with SIGKILL at seeded points, then run again
//! with the same checkpoint until they finish: the sink ends equal to the source by key and
//! digest (`stores check` exits 0) — nothing lost, nothing doubled. Records and objects.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const N: usize = 3_000;
/// A bound on resumed runs per job (the delay grows until runs make progress, so far fewer
/// are needed).
const MAX_KILLS: u64 = 60;

/// Runs the job `args` again and again with the same checkpoint, killing it with SIGKILL at a
/// seeded moment after each start — past `startup` (what a run that has nothing left to do
/// takes), within the first 35% of the work of a whole run (`span`) — until a run outlives its
/// moment and finishes by itself. Returns how many kills landed.
fn kill_and_resume(
    args: &[String],
    checkpoint: &Path,
    seed: u64,
    startup: Duration,
    span: Duration,
) -> u64 {
    let mut rng = Seeded(seed);
    let startup = startup.as_micros() as u64;
    let work = (span.as_micros() as u64).saturating_sub(startup).max(1);
    // Added to the delay each time a kill found no batch confirmed since the last one (a
    // loaded machine starts slower than the quiet run measured), so every job progresses.
    let mut patience = 0u64;
    let mut confirmed = confirmed_records(checkpoint);
    for landed in 0..MAX_KILLS {
        let delay = Duration::from_micros(
            startup + patience + work / 20 + rng.next() % (work * 3 / 10).max(1),
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_stores"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("stores starts");
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            let now = confirmed_records(checkpoint);
            if now <= confirmed {
                patience += work / 10 + 1;
            }
            confirmed = now;
            continue;
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a resumed run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return landed;
    }
    panic!("the job never finished in {MAX_KILLS} resumed runs: is it making progress?");
}

/// The records the checkpoint says the sink confirmed (0 before the first batch).
fn confirmed_records(checkpoint: &Path) -> u64 {
    std::fs::read(checkpoint)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|json| json["records"].as_u64())
        .unwrap_or(0)
}

fn timed(args: &[String]) -> Duration {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_stores"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed()
}

/// Times the job `scratch` (a whole run, then a run its checkpoint says is done: the cost of
/// starting alone), then runs the same job as `real` under seeded kills until it finishes;
/// returns how many kills landed.
fn timed_then_killed(scratch: &[String], real: &[String], checkpoint: &Path, seed: u64) -> u64 {
    let span = timed(scratch);
    let startup = timed(scratch);
    kill_and_resume(real, checkpoint, seed, startup, span)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn killed_copies_backups_and_restores_resume_to_an_equal_result() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    make_table(&db, N);
    let source = table_url(&db, "items");
    let mut landed = 0;

    for (round, seed) in [(0u64, 7u64), (1, 1_234_567), (2, 99), (3, 4_242)] {
        let scratch = dir.path().join(format!("scratch-{round}"));
        let real = dir.path().join(format!("real-{round}"));
        std::fs::create_dir_all(&scratch).unwrap();
        std::fs::create_dir_all(&real).unwrap();
        let job = |root: &Path, verb: &str| -> (Vec<String>, String, std::path::PathBuf) {
            let checkpoint_path = root.join(format!("{verb}.checkpoint.json"));
            let checkpoint = path(&checkpoint_path);
            let (a, target) = match verb {
                "copy" => {
                    let target = table_url(&root.join("copy.db"), "items");
                    let mut a = args(&["copy", &source, &target, "--batch-size", "100"]);
                    a.extend(args(&["--checkpoint", &checkpoint]));
                    (a, target)
                }
                "backup" => {
                    let target = file_url(&root.join("archive"));
                    let mut a = args(&["backup", &source, &target, "--batch-size", "100"]);
                    a.extend(args(&["--checkpoint", &checkpoint]));
                    (a, target)
                }
                _ => {
                    let archive = file_url(&root.join("archive"));
                    let target = table_url(&root.join("restored.db"), "items");
                    let mut a = args(&["restore", &archive, &target, "--batch-size", "100"]);
                    a.extend(args(&["--checkpoint", &checkpoint]));
                    (a, target)
                }
            };
            (a, target, checkpoint_path)
        };
        for verb in ["copy", "backup", "restore"] {
            let (scratch_args, _, _) = job(&scratch, verb);
            let (real_args, target, checkpoint) = job(&real, verb);
            landed += timed_then_killed(
                &scratch_args,
                &real_args,
                &checkpoint,
                seed ^ verb.len() as u64,
            );
            let compare_to = if verb == "restore" {
                file_url(&real.join("archive"))
            } else {
                source.clone()
            };
            let out = stores(&["check", &compare_to, &target]);
            expect_code(&out, 0);
        }
    }
    eprintln!("{landed} kills landed mid-job");
    assert!(
        landed >= 30,
        "only {landed} kills landed mid-job; the test proves too little"
    );
}

#[test]
fn killed_copies_into_the_embedded_stores_resume_to_an_equal_result() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    make_table(&db, N);
    let source = table_url(&db, "items");
    let mut landed = 0;
    for (round, seed) in [(0u64, 31u64), (1, 8_675_309)] {
        for store in ["redb", "tantivy"] {
            let target = |root: &Path| match store {
                "redb" => format!("redb://{}", root.join("items.redb").display()),
                _ => format!("tantivy://{}/items", root.display()),
            };
            let job = |root: &Path| -> (Vec<String>, std::path::PathBuf) {
                std::fs::create_dir_all(root).unwrap();
                let checkpoint = root.join("copy.checkpoint.json");
                let mut a = args(&["copy", &source, &target(root), "--batch-size", "100"]);
                a.extend(args(&["--checkpoint", &path(&checkpoint)]));
                (a, checkpoint)
            };
            let (scratch_args, _) = job(&dir.path().join(format!("scratch-{store}-{round}")));
            let real = dir.path().join(format!("real-{store}-{round}"));
            let (real_args, checkpoint) = job(&real);
            landed += timed_then_killed(&scratch_args, &real_args, &checkpoint, seed);
            expect_code(&stores(&["check", &source, &target(&real)]), 0);
        }
    }
    eprintln!("{landed} kills landed mid-copy");
    assert!(
        landed >= 8,
        "only {landed} kills landed mid-copy; the test proves too little"
    );
}

#[test]
fn killed_object_copies_backups_and_restores_resume_to_an_equal_result() {
    let dir = tempfile::tempdir().unwrap();
    let src_dir = dir.path().join("src");
    block_on(async {
        let store = store_fs::FsStore::open(&src_dir).await.unwrap();
        for i in 0..600usize {
            let body: Vec<u8> = (0..2_000 + i * 13).map(|b| (b * 31 + i) as u8).collect();
            let key = store_core::ObjectKey::new(format!("d{}/o-{i:04}", i % 7)).unwrap();
            let options = store_core::object::PutOptions::new()
                .content_type("application/x-test")
                .metadata("n", i.to_string());
            store_core::ObjectStore::put(&store, &key, body.into(), options)
                .await
                .unwrap();
        }
    });
    let source = file_url(&src_dir);
    let mut landed = 0;
    for (round, seed) in [(0u64, 5u64), (1, 77_777)] {
        let job = |root: &Path, verb: &str| -> (Vec<String>, String, std::path::PathBuf) {
            std::fs::create_dir_all(root).unwrap();
            let checkpoint = root.join(format!("{verb}.checkpoint.json"));
            let (from, to) = match verb {
                "copy" => (source.clone(), file_url(&root.join("copy"))),
                "backup" => (source.clone(), file_url(&root.join("archive"))),
                _ => (
                    file_url(&root.join("archive")),
                    file_url(&root.join("restored")),
                ),
            };
            let mut a = args(&[verb, &from, &to, "--batch-size", "20"]);
            a.extend(args(&["--checkpoint", &path(&checkpoint)]));
            (a, to, checkpoint)
        };
        let scratch = dir.path().join(format!("scratch-{round}"));
        let real = dir.path().join(format!("real-{round}"));
        for verb in ["copy", "backup", "restore"] {
            let (scratch_args, _, _) = job(&scratch, verb);
            let (real_args, target, checkpoint) = job(&real, verb);
            landed += timed_then_killed(&scratch_args, &real_args, &checkpoint, seed);
            // Contents, content types and user metadata, against the source itself.
            expect_code(&stores(&["check", &source, &target]), 0);
        }
    }
    eprintln!("{landed} kills landed mid-job");
    assert!(
        landed >= 12,
        "only {landed} kills landed mid-job; the test proves too little"
    );
}

/// An OpenSearch index backed up in two slices read at once, killed at seeded points: each
/// resumed run starts every slice after its own last confirmed hit, and the archive ends
/// equal to the index.
#[test]
fn killed_opensearch_backups_in_slices_resume_to_an_equal_result() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    make_table(&db, N);
    let search = block_on(integration_tests::services::endpoint(
        integration_tests::services::Service::OpenSearch,
    ));
    let host = search.trim_start_matches("http://").trim_end_matches('/');
    let index = format!(
        "opensearch://{host}/{}",
        integration_tests::names::unique_name("crash-backup")
    );
    expect_code(&stores(&["copy", &table_url(&db, "items"), &index]), 0);
    let mut landed = 0;
    for (round, seed) in [(0u64, 5u64), (1, 77_777)] {
        let job = |root: &Path| -> (Vec<String>, std::path::PathBuf) {
            std::fs::create_dir_all(root).unwrap();
            let checkpoint = root.join("backup.checkpoint.json");
            let archive = file_url(&root.join("archive"));
            let mut a = args(&["backup", &index, &archive, "--batch-size", "100"]);
            a.extend(args(&["--checkpoint", &path(&checkpoint)]));
            (a, checkpoint)
        };
        let (scratch_args, _) = job(&dir.path().join(format!("scratch-{round}")));
        let real = dir.path().join(format!("real-{round}"));
        let (real_args, checkpoint) = job(&real);
        landed += timed_then_killed(&scratch_args, &real_args, &checkpoint, seed);
        let cursor = std::fs::read_to_string(&checkpoint).unwrap();
        assert!(cursor.contains("seqs:["), "read in slices: {cursor}");
        let archive = file_url(&real.join("archive"));
        expect_code(&stores(&["check", &index, &archive]), 0);
    }
    eprintln!("{landed} kills landed mid-backup");
    assert!(
        landed >= 4,
        "only {landed} kills landed mid-backup; the test proves too little"
    );
}
