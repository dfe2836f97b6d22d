//! Four `stores backup --partition I/4` processes started at once write one archive between
//! them; it restores to a table equal to the source. Partitioned copies of tables and objects.

mod common;

use std::process::{Command, Stdio};

use common::*;

#[test]
fn four_concurrent_partition_processes_make_one_archive_that_restores_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    make_table(&db, 2_000);
    let source = table_url(&db, "items");
    let archive = file_url(&dir.path().join("archive"));
    // Unfinished (one partition of four done), it is said to be so.
    let first = ["backup", &source, &archive, "--partition", "0/4"];
    expect_code(&stores(&first), 0);
    let line = expect_error(&stores(&["ls", &archive]));
    assert!(line.contains("has not finished"), "{line}");
    let children: Vec<_> = (1..4)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_stores"))
                .args(["backup", &source, &archive, "--batch-size", "100"])
                .args(["--partition", &format!("{i}/4")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("stores starts")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("archive/manifest.json"))
            .expect("the last partition wrote the manifest"),
    )
    .unwrap();
    assert_eq!(manifest["partitions"], 4);
    assert_eq!(manifest["collections"][0]["records"], 2_000);

    let restored = table_url(&dir.path().join("restored.db"), "items");
    expect_code(&stores(&["restore", &archive, &restored]), 0);
    expect_code(&stores(&["check", &source, &restored]), 0);
}

#[test]
fn four_partition_processes_copy_a_table_by_one_plan_and_none_go_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    make_table(&db, 2_000);
    let source = table_url(&db, "items");
    let target = table_url(&dir.path().join("copy.db"), "items");

    // Without a place to share the plan, a partition of a table is refused up front.
    let out = stores(&["copy", &source, &target, "--partition", "0/4"]);
    expect_code(&out, 1);
    assert!(stderr(&out).contains("--plan"), "{}", stderr(&out));
    assert_eq!(stores_count(&target), 0, "nothing was copied");

    // One after another: a SQLite file takes one writing process at a time. A dry run of a
    // share counts that share, by the plan the real run keeps (the first one's cut anew and
    // kept nowhere).
    let plan = file_url(&dir.path().join("plan"));
    for i in 0..4 {
        let partition = format!("{i}/4");
        let args = ["copy", &source, &target, "--batch-size", "100", "--json"];
        let share = [&args[..], &["--partition", &partition, "--plan", &plan]].concat();
        let dry = stores(&[&share[..], &["--dry-run"]].concat());
        expect_code(&dry, 0);
        assert!(!dir.path().join("plan/plan.json").exists() || i > 0);
        let out = stores(&share);
        expect_code(&out, 0);
        let would = summary(&dry)["records"].as_u64().unwrap();
        assert_eq!(Some(would), summary(&out)["records"].as_u64());
        assert!((400..=600).contains(&would), "a quarter of 2,000: {would}");
    }
    assert!(dir.path().join("plan/plan.json").is_file());
    expect_code(&stores(&["check", &source, &target]), 0);

    // A restore's share too; replacing the target by a share of the archive is refused.
    let archive = file_url(&dir.path().join("archive"));
    expect_code(
        &stores(&["backup", &source, &archive, "--batch-size", "100"]),
        0,
    );
    let restored = table_url(&dir.path().join("restored.db"), "items");
    let share = [
        "restore",
        &archive,
        &restored,
        "--partition",
        "1/4",
        "--json",
    ];
    let dry = stores(&[&share[..], &["--dry-run"]].concat());
    let out = stores(&share);
    expect_code(&out, 0);
    let would = summary(&dry)["records"].as_u64().unwrap();
    assert_eq!(Some(would), summary(&out)["records"].as_u64());
    assert!(would < 2_000, "a share, not the whole archive: {would}");
    let line = expect_error(&stores(&[
        "restore",
        &archive,
        &restored,
        "--partition",
        "1/4",
        "--mode",
        "replace",
        "--yes",
    ]));
    assert!(line.contains("does not take --partition"), "{line}");
}

#[test]
fn four_partition_processes_copy_objects_between_them_each_a_share() {
    let dir = tempfile::tempdir().unwrap();
    let src_dir = dir.path().join("src");
    block_on(async {
        let store = store_fs::FsStore::open(&src_dir).await.unwrap();
        for i in 0..200 {
            let key = store_core::ObjectKey::new(format!("p/{i:03}")).unwrap();
            store_core::ObjectStoreExt::put_str(&store, &key, &format!("body {i}"))
                .await
                .unwrap();
        }
    });
    let source = file_url(&src_dir);
    let target = file_url(&dir.path().join("dst"));
    let mut shares = Vec::new();
    for i in 0..4 {
        let partition = format!("{i}/4");
        let dry = [&["--dry-run", "--json"][..], &["copy", &source, &target]].concat();
        let would = summary(&stores(&[&dry[..], &["--partition", &partition]].concat()));
        let out = stores(&[
            "copy",
            "--json",
            &source,
            &target,
            "--partition",
            &partition,
        ]);
        expect_code(&out, 0);
        let copied = summary(&out)["objects"].as_u64().unwrap();
        assert_eq!(would["objects"].as_u64(), Some(copied), "{would}");
        shares.push(copied);
        // Until the last share is copied, the copy differs from the source.
        let code = if i == 3 { 0 } else { 2 };
        expect_code(&stores(&["check", &source, &target]), code);
    }
    assert_eq!(shares.iter().sum::<u64>(), 200, "{shares:?}");
    assert!(shares.iter().all(|&n| n > 20), "uneven shares: {shares:?}");
}

#[test]
fn a_dry_run_of_a_partition_counts_by_the_plan_its_backup_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    make_table(&db, 1_000);
    let source = table_url(&db, "items");
    let archive = file_url(&dir.path().join("archive"));
    expect_code(
        &stores(&["backup", &source, &archive, "--partition", "0/2"]),
        0,
    );
    // The first 300 rows go: cut again now, the second half would start 150 rows later.
    sql(&db, &format!("DELETE FROM items WHERE id < '{}'", key(300)));

    let dry = stores(&[
        "backup",
        &source,
        &archive,
        "--partition",
        "1/2",
        "--dry-run",
        "--json",
    ]);
    expect_code(&dry, 0);
    let would: u64 = summary(&dry)["records"].as_u64().unwrap();
    let real = stores(&["backup", &source, &archive, "--partition", "1/2", "--json"]);
    expect_code(&real, 0);
    assert_eq!(would, summary(&real)["records"].as_u64().unwrap());
    assert_eq!(
        would, 500,
        "the second half of the plan cut from 1,000 rows"
    );
    expect_code(&stores(&["check", &source, &archive]), 2);
}

#[test]
fn a_backup_keeps_its_plan_in_its_archive_and_refuses_another() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    make_table(&db, 10);
    let source = table_url(&db, "items");
    let archive = file_url(&dir.path().join("archive"));
    let plan = file_url(&dir.path().join("plan"));
    let out = stores(&[
        "backup",
        &source,
        &archive,
        "--partition",
        "0/2",
        "--plan",
        &plan,
    ]);
    expect_code(&out, 1);
    assert!(
        stderr(&out).contains("partitions/plan.json"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("archive").exists(), "nothing was written");
}

/// The summary event of a `--json` run.
fn summary(out: &std::process::Output) -> serde_json::Value {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "summary")
        .expect("a summary event")
}

/// How many records `stores ls` lists at `url`.
fn stores_count(url: &str) -> usize {
    let out = stores(&["ls", "--json", url]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"item\""))
        .count()
}
