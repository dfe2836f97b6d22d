//! The `stores` binary as a user runs it, on embedded backends only (SQLite files, store-redb
//! files, store-tantivy indexes and store-fs folders in temporary directories): backup, check, restore, copy, sync, ls, dry runs, JSON
//! events, exit codes and the one-line errors.

mod common;
#[path = "cli/create_refusals.rs"]
mod create_refusals;
#[path = "cli/dry_fidelity.rs"]
mod dry_fidelity;
#[path = "cli/embedded.rs"]
mod embedded;
#[path = "cli/large_rows.rs"]
mod large_rows;
#[path = "cli/queries.rs"]
mod queries;
#[path = "cli/relative_paths.rs"]
mod relative_paths;
#[path = "cli/resume_gone.rs"]
mod resume_gone;
#[path = "cli/shown_keys.rs"]
mod shown_keys;
#[path = "cli/sqlite_classes.rs"]
mod sqlite_classes;
#[path = "cli/whole_rows.rs"]
mod whole_rows;

use std::path::{Path, PathBuf};

use common::*;

/// The data part files of an archive folder (plain files under `data/`).
fn data_parts(archive: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.to_string_lossy().contains(".ndjson.zst") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&archive.join("data"), &mut found);
    found.sort();
    found
}

#[test]
fn backup_check_restore_check_and_a_changed_row_is_named() {
    let (dir, db) = setup();
    let source = table_url(&db, "items");
    let archive = file_url(&dir.path().join("archive"));

    let out = stores(&["backup", &source, &archive, "--batch-size", "64"]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains(&format!("backed up {ROWS} records")),
        "{}",
        stderr(&out)
    );

    let out = stores(&["check", &source, &archive]);
    expect_code(&out, 0);
    assert!(stdout(&out).contains("equal"), "{}", stdout(&out));
    assert!(stdout(&out).contains(&format!("{ROWS} records")));

    let restored_db = dir.path().join("restored.db");
    let restored = table_url(&restored_db, "items");
    let out = stores(&["restore", &archive, &restored]);
    expect_code(&out, 0);
    assert!(stderr(&out).contains(&format!("restored {ROWS} records")));
    assert_eq!(rows(&restored_db, "items"), rows(&db, "items"));

    let out = stores(&["check", &source, &restored]);
    expect_code(&out, 0);

    // One changed row: exit 2, and the key is named.
    let changed = key(42);
    sql(
        &restored_db,
        &format!("UPDATE items SET note = 'changed' WHERE id = '{changed}'"),
    );
    let out = stores(&["check", &source, &restored]);
    expect_code(&out, 2);
    let report = stdout(&out);
    assert!(report.contains("1 differing"), "{report}");
    assert!(report.contains(&changed), "{report}");

    // A missing row is named as only on one side.
    sql(
        &restored_db,
        &format!("DELETE FROM items WHERE id = '{}'", key(7)),
    );
    let out = stores(&["check", &source, &restored]);
    expect_code(&out, 2);
    assert!(stdout(&out).contains(&format!("only in A: {}", key(7))));
}

#[test]
fn dry_runs_write_nothing() {
    let (dir, db) = setup();
    let source = table_url(&db, "items");
    let archive_dir = dir.path().join("archive");
    let archive = file_url(&archive_dir);

    // A backup dry run counts, and creates no archive.
    let out = stores(&["backup", "--dry-run", &source, &archive]);
    expect_code(&out, 0);
    assert!(stderr(&out).contains(&format!("would back up {ROWS} records")));
    assert!(!archive_dir.exists());

    expect_code(&stores(&["backup", &source, &archive]), 0);

    // A restore dry run into a new database creates no file.
    let new_db = dir.path().join("new.db");
    let out = stores(&[
        "restore",
        "--dry-run",
        &archive,
        &table_url(&new_db, "items"),
    ]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains(&format!("would restore {ROWS} records")),
        "{}",
        stderr(&out)
    );
    assert!(!new_db.exists());

    // A copy dry run into a table holding some of the rows leaves it as it was.
    let target_db = dir.path().join("target.db");
    make_table(&target_db, 10);
    sql(
        &target_db,
        &format!("UPDATE items SET note = 'old' WHERE id = '{}'", key(3)),
    );
    let before = rows(&target_db, "items");
    let target = table_url(&target_db, "items");
    let out = stores(&["copy", "--dry-run", &source, &target]);
    expect_code(&out, 0);
    let said = stderr(&out);
    assert!(
        said.contains(&format!("would copy {ROWS} records")),
        "{said}"
    );
    assert!(
        said.contains("290 new, 1 changed, 9 already equal"),
        "{said}"
    );
    assert!(said.contains("nothing was written"), "{said}");
    assert_eq!(rows(&target_db, "items"), before);

    // So does a sync dry run with --delete.
    let out = stores(&["sync", "--dry-run", "--delete", &target, &source]);
    expect_code(&out, 0);
    assert!(stderr(&out).contains("290 to delete"), "{}", stderr(&out));
    assert_eq!(rows(&db, "items").len(), ROWS);
    assert_eq!(rows(&target_db, "items"), before);
}

#[test]
fn json_events_are_one_object_a_line_ending_with_a_summary() {
    let (dir, db) = setup();
    let source = table_url(&db, "items");
    let archive = file_url(&dir.path().join("archive"));

    let out = stores(&["backup", "--json", "--batch-size", "100", &source, &archive]);
    expect_code(&out, 0);
    conforms_to_event_schema(&stdout(&out));
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect();
    for event in &events {
        assert!(event["event"].is_string(), "{event}");
    }
    assert_eq!(events[0]["event"], "start");
    assert_eq!(events[0]["source"], source.as_str());
    let progress: Vec<_> = events.iter().filter(|e| e["event"] == "progress").collect();
    // Each counts the archive's bytes so far: in the end, its parts' bytes.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("archive/manifest.json")).unwrap())
            .unwrap();
    let parts: Vec<(u64, u64)> = manifest["collections"][0]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["records"].as_u64().unwrap(), p["bytes"].as_u64().unwrap()))
        .collect();
    // A batch (and its part) per progress event: at most 100 records, the first ones fewer
    // while the records' size is not known yet.
    assert_eq!(progress.len(), parts.len(), "{events:?}");
    assert!(
        parts.iter().all(|(records, _)| (1..=100).contains(records)),
        "{parts:?}"
    );
    let records: u64 = parts.iter().map(|(records, _)| records).sum();
    assert_eq!(records, ROWS as u64);
    let part_bytes: u64 = parts.iter().map(|(_, bytes)| bytes).sum();
    let bytes: Vec<u64> = progress
        .iter()
        .map(|p| p["bytes"].as_u64().unwrap())
        .collect();
    assert!(bytes.windows(2).all(|w| w[0] < w[1]), "{bytes:?}");
    assert_eq!(bytes.last(), Some(&part_bytes));

    // A restore counts the archive's bytes that held the records written: whole parts, and
    // a share by lines of the part a batch ends in (batches of 40 end inside parts of 100).
    let copy = table_url(&dir.path().join("copy.db"), "items");
    let out = stores(&["restore", "--json", "--batch-size", "40", &archive, &copy]);
    expect_code(&out, 0);
    let restore_events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let read: Vec<(u64, u64)> = restore_events
        .iter()
        .filter(|e| e["event"] == "progress")
        .map(|e| (e["records"].as_u64().unwrap(), e["bytes"].as_u64().unwrap()))
        .collect();
    assert_eq!(read.len(), ROWS.div_ceil(40), "{read:?}");
    for &(records, bytes) in &read {
        assert_eq!(bytes, bytes_holding(&parts, records), "{read:?}");
    }
    assert_eq!(read.last().map(|r| r.1), Some(part_bytes));
    // Against the size its manifest gives.
    let sized: Vec<_> = restore_events
        .iter()
        .filter(|e| e["event"] == "sized")
        .map(|e| (e["records"].as_u64().unwrap(), e["bytes"].as_u64().unwrap()))
        .collect();
    assert_eq!(sized, [(ROWS as u64, part_bytes)]);
    let last = events.last().unwrap();
    assert_eq!(last["event"], "summary");
    assert_eq!(last["command"], "backup");
    assert_eq!(last["records"], ROWS as u64);
    assert_eq!(last["ok"], true);

    // check --json: a summary saying equal, with both digests.
    let out = stores(&["check", "--json", &source, &archive]);
    expect_code(&out, 0);
    conforms_to_event_schema(&stdout(&out));
    let text = stdout(&out);
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "summary");
    assert_eq!(last["equal"], true);
    assert_eq!(last["left"]["digest"], last["right"]["digest"]);
    assert_eq!(last["left"]["count"], ROWS as u64);

    // A failure ends with an error event, and still one `error:` line on stderr.
    let out = stores(&["copy", "--json", "nope://x", &source]);
    expect_error(&out);
    conforms_to_event_schema(&stdout(&out));
    let text = stdout(&out);
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "error");
    assert_eq!(last["kind"], "invalid input");
    // So does a command line that does not parse: one line, not clap's usage block.
    for args in [
        vec!["copy", "--json", "--batch-size", "0", "a", "b"],
        vec!["--json", "nosuch"],
    ] {
        let out = stores(&args);
        let line = expect_error(&out);
        assert!(line.contains("see `stores --help`"), "{line}");
        conforms_to_event_schema(&stdout(&out));
        let event: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(event["event"], "error");
        assert_eq!(event["kind"], "invalid input");
    }
    // A missing argument is named, on the one line.
    for (args, named) in [
        (vec!["copy", source.as_str()], "not provided: <DST>"),
        (vec!["check"], "not provided: <A>, <B>"),
        (
            vec!["sync", "--cleanup", "a", "b"],
            "not provided: --follow",
        ),
        (vec!["copy", "--restart", "a", "b"], "add --checkpoint"),
        (vec!["sync", "--max-delete", "3", "a", "b"], "add --delete"),
    ] {
        let line = expect_error(&stores(&args));
        assert!(line.contains(named), "{line}");
    }
    // An archive is no source of a copy or sync: the refusal says so, and what to run.
    let out = stores(&["sync", &archive, &source]);
    let line = expect_error(&out);
    assert!(
        line.contains("it is an archive") && line.contains("stores restore"),
        "{line}"
    );
    // `stores` alone shows its usage, as a failure.
    let out = stores(&[]);
    expect_code(&out, 1);
    assert!(stderr(&out).contains("Usage: stores"), "{}", stderr(&out));

    // The other commands' events follow the schema too.
    let restored = table_url(&dir.path().join("restored.db"), "items");
    for args in [
        vec!["restore", "--json", &archive, &restored],
        vec![
            "sync",
            "--json",
            "--dry-run",
            "--delete",
            &source,
            &restored,
        ],
        vec!["copy", "--json", &source, &restored],
        vec!["ls", "--json", &source],
    ] {
        let out = stores(&args);
        expect_code(&out, 0);
        conforms_to_event_schema(&stdout(&out));
    }
}

#[test]
fn bad_input_is_one_error_line_exit_1_and_writes_nothing() {
    let (dir, db) = setup();
    let target_db = dir.path().join("target.db");
    let target = table_url(&target_db, "items");

    let line = expect_error(&stores(&["copy", "ftp://host/x", &target]));
    assert!(line.contains("unknown location scheme `ftp://`"), "{line}");
    assert!(!target_db.exists());

    let line = expect_error(&stores(&[
        "copy",
        &format!("sqlite://{}", db.display()),
        &target,
    ]));
    assert!(line.contains("add ?table=NAME"), "{line}");

    let line = expect_error(&stores(&["copy", &table_url(&db, "nope"), &target]));
    assert!(line.contains("`nope`"), "{line}");
    assert!(!target_db.exists());

    let line = expect_error(&stores(&[
        "copy",
        &table_url(&dir.path().join("missing.db"), "items"),
        &target,
    ]));
    assert!(line.contains("missing.db"), "{line}");
    assert!(!target_db.exists());

    let line = expect_error(&stores(&["copy", &file_url(dir.path()), &target]));
    assert!(line.contains("cannot copy objects into a table"), "{line}");
    assert!(!target_db.exists());

    let line = expect_error(&stores(&[
        "restore",
        "--mode",
        "replace",
        &file_url(&dir.path().join("a")),
        &target,
    ]));
    assert!(line.contains("--yes"), "{line}");

    let line = expect_error(&stores(&[
        "restore",
        &file_url(&dir.path().join("no-archive")),
        &target,
    ]));
    assert!(line.contains("no-archive"), "{line}");
    assert!(!target_db.exists());

    // A source without a change feed has nothing for --cleanup to drop.
    let line = expect_error(&stores(&[
        "sync",
        &table_url(&db, "items"),
        &target,
        "--follow",
        "--cleanup",
    ]));
    assert!(line.contains("no change feed"), "{line}");
    assert!(!target_db.exists());
}

#[test]
fn a_password_never_appears_in_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "hunter2-very-secret";
    let target = table_url(&dir.path().join("t.db"), "items");
    // Nothing listens on port 1: the connection is refused at once.
    let source = format!("postgres://alice:{secret}@127.0.0.1:1/app?table=items");
    // libpq's `password` parameter is as secret.
    let param = format!("postgres://127.0.0.1:1/app?table=items&password={secret}&user=alice");
    for (source, shown) in [(&source, "alice:***@127.0.0.1:1"), (&param, "password=***")] {
        for args in [
            vec!["copy", source.as_str(), target.as_str()],
            vec!["copy", "--json", source.as_str(), target.as_str()],
        ] {
            let out = stores(&args);
            let line = expect_error(&out);
            assert!(
                !stdout(&out).contains(secret) && !line.contains(secret),
                "{line}"
            );
            assert!(line.contains(shown), "{line}");
        }
    }
}

#[test]
fn a_schema_file_with_sql_in_a_column_type_is_refused_before_anything_runs() {
    let (dir, db) = setup();
    let archive_dir = dir.path().join("archive");
    let archive = file_url(&archive_dir);
    expect_code(&stores(&["backup", &table_url(&db, "items"), &archive]), 0);
    let schema_file = archive_dir.join("schema/items.json");
    let mut schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&schema_file).unwrap()).unwrap();
    schema["columns"][1]["type"] = "TEXT); DROP TABLE victim; --".into();
    std::fs::write(&schema_file, serde_json::to_vec(&schema).unwrap()).unwrap();

    let target_db = dir.path().join("target.db");
    sql(&target_db, "CREATE TABLE victim (id INTEGER PRIMARY KEY)");
    let line = expect_error(&stores(&[
        "restore",
        &archive,
        &table_url(&target_db, "items"),
    ]));
    assert!(line.contains("not a plain SQL type"), "{line}");
    assert!(
        rows(&target_db, "victim").is_empty(),
        "the table is still there"
    );
}

#[test]
fn a_tampered_archive_part_is_refused_and_named() {
    let (dir, db) = setup();
    let archive_dir = dir.path().join("archive");
    let archive = file_url(&archive_dir);
    expect_code(
        &stores(&[
            "backup",
            "--batch-size",
            "100",
            &table_url(&db, "items"),
            &archive,
        ]),
        0,
    );
    let parts = data_parts(&archive_dir);
    assert!(parts.len() >= 3, "{parts:?}");
    let victim = &parts[1];
    let mut bytes = std::fs::read(victim).unwrap();
    bytes[10] ^= 0x55;
    std::fs::write(victim, bytes).unwrap();
    let sha = victim
        .file_name()
        .unwrap()
        .to_string_lossy()
        .split('.')
        .next()
        .unwrap()
        .to_owned();

    let target_db = dir.path().join("restored.db");
    let line = expect_error(&stores(&[
        "restore",
        &archive,
        &table_url(&target_db, "items"),
    ]));
    assert!(line.contains("damaged"), "{line}");
    assert!(
        line.contains(&format!("data/items/{sha}.ndjson.zst")),
        "{line}"
    );
    assert!(!target_db.exists(), "nothing may be written");
}

#[test]
fn partitioned_backups_merge_and_checkpoints_resume() {
    let (dir, db) = setup();
    let source = table_url(&db, "items");
    let archive = file_url(&dir.path().join("archive"));
    for partition in ["0/2", "1/2"] {
        let out = stores(&["backup", "--partition", partition, &source, &archive]);
        expect_code(&out, 0);
        assert!(stderr(&out).contains(&format!("partition {partition}")));
    }
    expect_code(&stores(&["check", &source, &archive]), 0);

    let target_db = dir.path().join("copy.db");
    let target = table_url(&target_db, "items");
    let checkpoint = dir.path().join("copy.checkpoint.json");
    let checkpoint = checkpoint.to_str().unwrap();
    let out = stores(&["copy", "--checkpoint", checkpoint, &source, &target]);
    expect_code(&out, 0);
    let out = stores(&["copy", "--checkpoint", checkpoint, &source, &target]);
    expect_code(&out, 0);
    assert!(stderr(&out).contains("already done"), "{}", stderr(&out));
    let out = stores(&[
        "copy",
        "--restart",
        "--checkpoint",
        checkpoint,
        &source,
        &target,
    ]);
    expect_code(&out, 0);
    assert!(stderr(&out).contains(&format!("copied {ROWS} records")));
    expect_code(&stores(&["check", &source, &target]), 0);
}

#[test]
fn restore_modes() {
    let (dir, db) = setup();
    let source = table_url(&db, "items");
    let archive = file_url(&dir.path().join("archive"));
    expect_code(&stores(&["backup", &source, &archive]), 0);

    let target_db = dir.path().join("target.db");
    make_table(&target_db, 5);
    sql(&target_db, "INSERT INTO items (id) VALUES ('only-here')");
    let target = table_url(&target_db, "items");

    let line = expect_error(&stores(&[
        "restore",
        "--mode",
        "create-only",
        &archive,
        &target,
    ]));
    assert!(line.contains("create-only"), "{line}");
    assert_eq!(rows(&target_db, "items").len(), 6);

    // upsert keeps the extra row; replace removes it.
    expect_code(&stores(&["restore", &archive, &target]), 0);
    assert_eq!(rows(&target_db, "items").len(), ROWS + 1);
    expect_code(&stores(&["check", &source, &target]), 2);
    let out = stores(&["restore", "--mode", "replace", "--yes", &archive, &target]);
    expect_code(&out, 0);
    assert!(stderr(&out).contains("1 deleted"), "{}", stderr(&out));
    expect_code(&stores(&["check", &source, &target]), 0);

    // --data-only needs the table to exist.
    let empty_db = dir.path().join("empty.db");
    sql(&empty_db, "CREATE TABLE other (x TEXT PRIMARY KEY)");
    let line = expect_error(&stores(&[
        "restore",
        "--data-only",
        &archive,
        &table_url(&empty_db, "items"),
    ]));
    assert!(line.contains("does not exist"), "{line}");
}

#[test]
fn help_documents_exit_codes_and_events_and_the_tour_runs() {
    let out = stores(&["--help"]);
    expect_code(&out, 0);
    let help = stdout(&out);
    for needle in [
        "EXIT CODES",
        "JSON EVENTS",
        "\"event\":\"summary\"",
        "sqlite:///",
    ] {
        assert!(help.contains(needle), "no {needle} in:\n{help}");
    }
    // A usage mistake is exit 1, never 2 (which means differences).
    expect_code(&stores(&["copy", "only-one-argument"]), 1);

    let out = stores(&["tour", "--memory"]);
    expect_code(&out, 0);
    assert!(stdout(&out).contains("tour finished: every step succeeded"));
    let out = stores(&["tour", "--bogus"]);
    expect_code(&out, 1);
    assert!(stderr(&out).contains("stores tour: unknown argument `--bogus`"));
    let out = stores(&["tour", "--help"]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("    stores tour [--data-dir DIR"),
        "{}",
        stdout(&out)
    );
    // A data directory that is a file: one `error:` line naming it.
    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().display().to_string();
    let out = stores(&["tour", "--data-dir", &path]);
    expect_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.starts_with("error: stores tour: cannot use") && err.contains(&path),
        "{err}"
    );
}

#[test]
fn an_unreachable_endpoint_is_one_line_with_what_to_check() {
    let dir = tempfile::tempdir().unwrap();
    let target_db = dir.path().join("t.db");
    // Nothing listens on port 1.
    let line = expect_error(&stores(&[
        "copy",
        "opensearch://127.0.0.1:1/articles",
        &table_url(&target_db, "articles"),
    ]));
    assert!(line.contains("opensearch://127.0.0.1:1/articles"), "{line}");
    assert!(line.contains("is the service running"), "{line}");
    assert!(!target_db.exists());
}

/// `STORES_SEARCH_CA_FILE` reaches the search client: a file that is not there is named in a
/// one-line error before anything is sent, for `elasticsearch://` as for `opensearch://`.
#[test]
fn a_search_ca_file_that_is_missing_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let target_db = dir.path().join("t.db");
    let missing = dir.path().join("no-such-ca.pem");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stores"))
        .args([
            "copy",
            "elasticsearch+https://127.0.0.1:1/articles",
            &table_url(&target_db, "articles"),
        ])
        .env("STORES_SEARCH_CA_FILE", &missing)
        .output()
        .unwrap();
    let line = expect_error(&out);
    assert!(
        line.contains("elasticsearch+https://127.0.0.1:1/articles"),
        "{line}"
    );
    assert!(line.contains("cannot read the CA file"), "{line}");
    assert!(line.contains("no-such-ca.pem"), "{line}");
    assert!(!target_db.exists());
}

/// The bytes of the archive parts `parts` (records, bytes) that hold their first `records`
/// records: whole parts, then the next one's bytes in proportion to its records taken.
fn bytes_holding(parts: &[(u64, u64)], mut records: u64) -> u64 {
    let mut total = 0;
    for &(in_part, bytes) in parts {
        if records >= in_part {
            total += bytes;
            records -= in_part;
        } else {
            return total + bytes * records / in_part;
        }
    }
    total
}
