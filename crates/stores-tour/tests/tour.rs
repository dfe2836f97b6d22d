//! The tour as a newcomer runs it: the binary, with no service, twice on one data directory.

use std::path::Path;
use std::process::Command;

fn tour(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_stores-tour"))
        .args(args)
        // No service: the tour must not need one.
        .env_remove("STORES_POSTGRES_URL")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("the tour runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the tour failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn runs_line<'a>(output: &'a str, what: &str) -> &'a str {
    output
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no `{what}` line in:\n{output}"))
}

#[test]
fn all_four_parts_run_on_embedded_stores_and_the_data_survives_a_second_run() {
    let dir = std::env::temp_dir().join(format!("stores-tour-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let dir_arg = dir.to_str().expect("a UTF-8 temp path");

    let first = tour(&["--data-dir", dir_arg]);
    for part in ["[fs", "[redb", "[tantivy", "[sqlite"] {
        assert!(first.contains(part), "no `{part}` step in:\n{first}");
    }
    assert!(
        first.contains("tour finished: every step succeeded"),
        "{first}"
    );
    assert!(runs_line(&first, "runs recorded in this store").contains(" 1 (this one"));
    assert!(runs_line(&first, "runs recorded in this database").contains(" 1 (this one"));
    assert!(runs_line(&first, "runs recorded in this table").contains(" 1 (this one"));
    assert!(runs_line(&first, "runs recorded in this index").contains(" 1 (this one"));
    assert!(Path::new(&dir).join("objects").is_dir());

    let second = tour(&["--data-dir", dir_arg]);
    assert!(
        runs_line(&second, "runs recorded in this store").contains(" 2 (this one"),
        "{second}"
    );
    assert!(
        runs_line(&second, "runs recorded in this database").contains(" 2 (this one"),
        "{second}"
    );
    assert!(
        runs_line(&second, "runs recorded in this table").contains(" 2 (this one"),
        "{second}"
    );
    assert!(
        runs_line(&second, "runs recorded in this index").contains(" 2 (this one"),
        "{second}"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn memory_mode_writes_nothing_and_still_runs_every_part() {
    let out = tour(&["--memory"]);
    assert!(out.contains("in-memory backends"), "{out}");
    assert!(out.contains("tour finished: every step succeeded"), "{out}");
    assert!(out.contains("runs recorded in this database"), "{out}");
}

#[test]
fn a_bad_argument_is_one_line_and_exit_code_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_stores-tour"))
        .arg("--frobnicate")
        .output()
        .expect("the tour runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
