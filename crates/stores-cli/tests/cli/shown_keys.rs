//! Keys in text output: one key a line, none that drives the terminal. A key holding a line
//! break or an escape sequence is shown quoted with escapes by `ls` and in `check`'s list of
//! differences; `--json` carries it exactly.

use super::common::*;

#[test]
fn keys_with_line_breaks_and_escapes_are_shown_quoted_and_given_exactly_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    sql(
        &db,
        "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER); \
         INSERT INTO t VALUES ('plain', 1), ('two' || char(10) || 'lines', 2), \
         (char(27) || '[2J', 3)",
    );
    let out = stores(&["ls", &table_url(&db, "t")]);
    expect_code(&out, 0);
    let text = stdout(&out);
    assert!(!text.contains('\u{1b}'), "{text:?}");
    let lines: Vec<&str> = text.lines().collect();
    for shown in ["plain", r#""two\nlines""#, r#""\u{1b}[2J""#] {
        assert!(lines.contains(&shown), "{shown} in {lines:?}");
    }

    let out = stores(&["ls", &table_url(&db, "t"), "--json"]);
    expect_code(&out, 0);
    let keys: Vec<String> = stdout(&out)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter_map(|event| event["key"].as_str().map(str::to_owned))
        .collect();
    assert!(keys.contains(&"two\nlines".to_owned()), "{keys:?}");

    let other = dir.path().join("other.db");
    sql(
        &other,
        "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER); INSERT INTO t VALUES ('plain', 1)",
    );
    let out = stores(&["check", &table_url(&db, "t"), &table_url(&other, "t")]);
    expect_code(&out, 2);
    let report = stdout(&out);
    assert!(!report.contains('\u{1b}'), "{report:?}");
    assert!(
        report.contains(r#"only in A: "\u{1b}[2J", "two\nlines""#),
        "{report}"
    );
}

#[test]
fn ls_shows_keys_as_check_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kinds.db");
    sql(
        &db,
        "CREATE TABLE t (k PRIMARY KEY, v); \
         INSERT INTO t VALUES (1.5, 'a'), ('1', 'b'), (1, 'c'), (X'31', 'd'), ('word', 'e')",
    );
    let out = stores(&["ls", &table_url(&db, "t")]);
    expect_code(&out, 0);
    let mut lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    lines.sort();
    // Numbers plainly (not 15E-1), bytes as SQL writes them, text that reads as a number quoted.
    assert_eq!(lines, ["'1'", "1", "1.5", "X'31'", "word"]);
}
