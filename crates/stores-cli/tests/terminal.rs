//! On a terminal, `stores` draws a progress line on stderr while it works and clears it
//! before its summary; off a terminal (pipes, `--json`) it draws nothing.

mod common;

use std::process::Command;

use common::*;

/// Runs `stores args` inside `script`, which gives it a pseudo-terminal, and returns all it
/// wrote there (stdout and stderr interleaved, escape sequences included).
fn on_a_terminal(args: &[String]) -> (bool, String) {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_stores").to_owned())
        .chain(args.iter().cloned())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &quoted.join(" "), "/dev/null"])
        .output()
        .expect("script (util-linux) runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_progress_line_draws_on_a_terminal_and_is_cleared_before_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    make_table(&db, 4_000);
    let target = table_url(&dir.path().join("dst.db"), "items");
    let args: Vec<String> = [
        "copy",
        &table_url(&db, "items"),
        &target,
        "--batch-size",
        "50",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (ok, screen) = on_a_terminal(&args);
    assert!(ok, "{screen}");
    let drawn = screen.find("records").expect("a progress line was drawn");
    let summary = screen
        .find("copied 4000 records")
        .unwrap_or_else(|| panic!("no summary in {screen:?}"));
    assert!(drawn < summary, "the summary came before any progress");
    // The line was erased (ESC [ 2K or ESC [ K) between the last draw and the summary.
    let before_summary = &screen[..summary];
    let last_draw = before_summary.rfind("records").unwrap();
    assert!(
        before_summary[last_draw..].contains("\u{1b}[2K")
            || before_summary[last_draw..].contains("\u{1b}[K"),
        "the progress line was not cleared: {:?}",
        &before_summary[last_draw..]
    );
    // The summary is the last thing on screen, on a line of its own.
    assert!(screen.trim_end().ends_with("s"), "{screen:?}");

    // Through a pipe there is no progress line at all.
    let piped = stores(&args.iter().map(String::as_str).collect::<Vec<_>>());
    expect_code(&piped, 0);
    assert!(!stderr(&piped).contains('\u{1b}'), "{}", stderr(&piped));
}
