//! Locations written relative to the working directory name their files by absolute path:
//! one file written two ways is one source, and two files written alike from two
//! directories are two.

use std::path::Path;
use std::process::{Command, Output};

use super::*;

/// Runs `stores` with `args` in the directory `cwd`.
fn stores_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stores"))
        .args(args)
        .current_dir(cwd)
        .env_remove("STORES_POSTGRES_URL")
        .env_remove("PGPASSWORD")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

#[test]
fn an_archive_of_one_relative_path_is_not_overwritten_from_another_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    std::fs::create_dir(&one).unwrap();
    std::fs::create_dir(&two).unwrap();
    make_table(&one.join("s.db"), 20);
    make_table(&two.join("s.db"), 3);
    let archive = file_url(&dir.path().join("archive"));
    let relative = "sqlite://s.db?table=items";
    expect_code(&stores_in(&one, &["backup", relative, &archive]), 0);

    // The same words in another directory are another database: refused.
    let err = expect_error(&stores_in(&two, &["backup", relative, &archive]));
    assert!(err.contains("already holds a finished archive of"), "{err}");
    assert!(
        err.contains(&one.join("s.db").display().to_string()),
        "{err}"
    );
    let absolute_one = table_url(&one.join("s.db"), "items");
    expect_code(&stores(&["check", &absolute_one, &archive]), 0);

    // The same database written absolute is the same source: backed up again in place.
    expect_code(&stores(&["backup", &absolute_one, &archive]), 0);
    expect_code(&stores(&["check", &absolute_one, &archive]), 0);
}

#[test]
fn a_checkpoint_taken_through_a_relative_path_resumes_through_an_absolute_one() {
    let dir = tempfile::tempdir().unwrap();
    make_table(&dir.path().join("s.db"), 20);
    let checkpoint = dir.path().join("job.json").display().to_string();
    let relative = [
        "copy",
        "sqlite://s.db?table=items",
        "sqlite://d.db?table=items",
        "--checkpoint",
        &checkpoint,
    ];
    expect_code(&stores_in(dir.path(), &relative), 0);
    let (src, dst) = (
        table_url(&dir.path().join("s.db"), "items"),
        table_url(&dir.path().join("d.db"), "items"),
    );
    let out = stores(&["copy", &src, &dst, "--checkpoint", &checkpoint]);
    expect_code(&out, 0);
    assert!(stderr(&out).contains("already done"), "{}", stderr(&out));
}
