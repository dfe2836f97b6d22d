//! `stores sync` as a user runs it on SQLite files: following a source without a change feed
//! by syncing it again every interval, a rate limit pacing the calls, and keys spilled to
//! files past the memory limit.

mod common;

use common::*;

/// `sync --follow` from a source without a change feed syncs again every interval, deletes
/// included with --delete, until SIGTERM, which ends it with a summary and exit 0.
#[test]
fn follow_without_a_feed_syncs_again_every_interval() {
    let (dir, db) = setup();
    let (src, dst) = (
        table_url(&db, "items"),
        table_url(&dir.path().join("target.db"), "items"),
    );
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_stores"))
        .args(["sync", &src, &dst, "--follow", "--delete", "--json"])
        .args(["--poll-interval", "0.1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let wait_until_equal = || {
        let start = std::time::Instant::now();
        while stores(&["check", &src, &dst]).status.code() != Some(0) {
            assert!(
                start.elapsed().as_secs() < 60,
                "the follower never caught up"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    wait_until_equal();
    sql(
        &db,
        &format!(
            "DELETE FROM items WHERE id = '{}'; UPDATE items SET note = 'changed' WHERE id = '{}'",
            key(1),
            key(2)
        ),
    );
    wait_until_equal();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    expect_code(&out, 0);
    let text = stdout(&out);
    conforms_to_event_schema(&text);
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert!(summary["rounds"].as_u64().unwrap() >= 2, "{summary}");
    assert!(summary["deleted"].as_u64().unwrap() >= 1, "{summary}");
    assert_eq!(
        rows(&db, "items"),
        rows(&dir.path().join("target.db"), "items")
    );
}

/// `--rate-limit N` paces the calls to each store: 40 one-row batches into a table allowed 10
/// calls a second (a burst of 10, then one every 100 ms) take at least the 3 s the limit
/// demands, and the copy is exact.
#[test]
fn a_rate_limit_paces_the_calls_to_each_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    make_table(&db, 40);
    let target_db = dir.path().join("paced.db");
    make_table(&target_db, 0);
    let started = std::time::Instant::now();
    let out = stores(&[
        "copy",
        "--batch-size",
        "1",
        "--rate-limit",
        "10",
        &table_url(&db, "items"),
        &table_url(&target_db, "items"),
    ]);
    let elapsed = started.elapsed();
    expect_code(&out, 0);
    assert!(
        elapsed >= std::time::Duration::from_millis(2_900),
        "40 writes at 10 a second after a burst of 10 took only {elapsed:?}"
    );
    assert_eq!(rows(&target_db, "items"), rows(&db, "items"));

    let out = stores(&[
        "copy",
        "--rate-limit",
        "0",
        &table_url(&db, "items"),
        &table_url(&target_db, "items"),
    ]);
    expect_code(&out, 1);
    assert!(stderr(&out).contains("--rate-limit"), "{}", stderr(&out));
}

/// Past --in-memory-keys, sync and check spill keys to files under --spill-dir: the answers
/// are the ones an in-memory run gives, and nothing is left there.
#[test]
fn sync_and_check_spill_past_the_memory_limit_and_leave_nothing_behind() {
    let (dir, db) = setup();
    let source = table_url(&db, "items");
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).unwrap();
    let spill_dir = spill.to_str().unwrap();
    let spilling = ["--in-memory-keys", "7", "--spill-dir", spill_dir];
    // What a SIGKILLed run leaves: its directory, with a lock file nobody holds now.
    let killed = spill.join("stores-spill-4242-0-00000000deadbeef");
    std::fs::create_dir(&killed).unwrap();
    std::fs::write(killed.join(".lock"), b"").unwrap();
    std::fs::write(killed.join("0.spill"), b"frames of a killed run").unwrap();
    let small_db = dir.path().join("small.db");
    make_table(&small_db, 10);
    sql(
        &small_db,
        &format!("UPDATE items SET note = 'old' WHERE id = '{}'", key(3)),
    );
    let small = table_url(&small_db, "items");

    let out = stores(&[&["check", &source, &small][..], &spilling].concat());
    expect_code(&out, 2);
    let said = stdout(&out);
    assert!(
        said.contains("290 only in A, 0 only in B, 1 differing"),
        "{said}"
    );
    assert!(said.contains(&format!("differing: {}", key(3))), "{said}");
    // The sample is the smallest keys, as an in-memory check gives.
    let in_memory = stdout(&stores(&["check", &source, &small]));
    assert_eq!(said, in_memory);

    let out = stores(&[&["sync", &source, &small][..], &spilling].concat());
    expect_code(&out, 0);
    let said = stderr(&out);
    assert!(
        said.contains("290 new, 1 changed, 9 already equal, 0 deleted, 0 extra kept"),
        "{said}"
    );
    assert_eq!(rows(&small_db, "items"), rows(&db, "items"));

    // Back to ten rows, the 290 others deleted.
    let ten_db = dir.path().join("ten.db");
    make_table(&ten_db, 10);
    let ten = table_url(&ten_db, "items");
    let out = stores(&[&["sync", "--delete", &ten, &small][..], &spilling].concat());
    expect_code(&out, 0);
    let said = stderr(&out);
    assert!(
        said.contains("0 new, 0 changed, 10 already equal, 290 deleted"),
        "{said}"
    );
    expect_code(
        &stores(&[&["check", &ten, &small][..], &spilling].concat()),
        0,
    );
    // Nothing of these runs is left, nor of the killed one.
    assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 0);
}
