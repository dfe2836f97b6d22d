//! Four `stores backup --partition I/4` processes started at once write one archive between
//! them; it restores to a table equal to the source.

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
    let children: Vec<_> = (0..4)
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
