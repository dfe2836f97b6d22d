//! A dry run says what the real run does: it refuses a record the real run would refuse even
//! when the target already holds that record (nulls aside), and a create-only restore refuses
//! a target that holds records unless its own checkpoint wrote them.

use super::common::*;

/// Rows 1..=n of `t` with `v` = the id, in a new database at `db`; `extra` adds a column that
/// is NULL in every row.
fn numbered(db: &std::path::Path, n: i64, extra: bool) {
    let column = if extra { ", gone" } else { "" };
    let values: Vec<String> = (1..=n).map(|i| format!("({i}, {i})")).collect();
    sql(
        db,
        &format!(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v{column}); INSERT INTO t (id, v) VALUES {}",
            values.join(", ")
        ),
    );
}

#[test]
fn a_dry_run_checks_every_record_a_copy_or_restore_writes_not_only_those_that_differ() {
    let dir = tempfile::tempdir().unwrap();
    let (src_db, dst_db) = (dir.path().join("src.db"), dir.path().join("dst.db"));
    // The target holds the same rows, but not the column that is NULL everywhere in the
    // source: a sync finds nothing to change, while a copy writes `gone` and is refused.
    numbered(&src_db, 3, true);
    numbered(&dst_db, 3, false);
    let (src, dst) = (table_url(&src_db, "t"), table_url(&dst_db, "t"));
    let archive = file_url(&dir.path().join("archive"));
    expect_code(&stores(&["backup", &src, &archive]), 0);
    let why = "attribute `gone` has no column in table `t`";
    for args in [
        vec!["copy", &src, &dst],
        vec!["restore", &archive, &dst],
        vec!["restore", "--mode", "create-only", &archive, &dst],
    ] {
        for dry_run in [true, false] {
            let mut args = args.clone();
            if dry_run {
                args.insert(1, "--dry-run");
            }
            let line = expect_error(&stores(&args));
            let refused = line.contains(why) || line.contains("already holds records");
            assert!(refused, "{args:?}: {line}");
        }
    }
    // A sync and a replacing restore write only what differs: nothing here, dry or not.
    for args in [
        vec!["sync", &src, &dst],
        vec!["restore", "--mode", "replace", "--yes", &archive, &dst],
    ] {
        for dry_run in [true, false] {
            let mut args = args.clone();
            if dry_run {
                args.insert(1, "--dry-run");
            }
            let out = stores(&args);
            expect_code(&out, 0);
            let said = stderr(&out);
            let equal = said.contains("3 already equal") || said.contains("3 unchanged");
            assert!(equal && said.contains("0 new"), "{args:?}: {said}");
        }
    }
    assert_eq!(rows(&dst_db, "t").len(), 3);
}

#[test]
fn a_create_only_restore_resumes_its_own_checkpoint_and_refuses_a_share() {
    let dir = tempfile::tempdir().unwrap();
    let (src_db, dst_db) = (dir.path().join("src.db"), dir.path().join("dst.db"));
    numbered(&src_db, 5, false);
    let archive = file_url(&dir.path().join("archive"));
    expect_code(&stores(&["backup", &table_url(&src_db, "t"), &archive]), 0);
    // The target refuses the third row until the trigger is dropped: the first run writes
    // two batches of one row, then fails.
    sql(
        &dst_db,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v); \
         CREATE TRIGGER stop BEFORE INSERT ON t WHEN NEW.id = 3 \
         BEGIN SELECT RAISE(ABORT, 'row 3 is refused'); END;",
    );
    let dst = table_url(&dst_db, "t");
    let checkpoint = dir.path().join("restore.checkpoint.json");
    let checkpoint = checkpoint.to_str().unwrap();
    let restore_in = |mode: &str, extra: &[&str]| {
        let mut args = vec![
            "restore",
            "--mode",
            mode,
            "--data-only",
            "--batch-size",
            "1",
            "--checkpoint",
            checkpoint,
        ];
        args.extend_from_slice(extra);
        args.extend([archive.as_str(), dst.as_str()]);
        stores(&args)
    };
    let restore = |extra: &[&str]| restore_in("create-only", extra);

    // An upsert restore's checkpoint (it wrote into a target it never checked) is another
    // job's to a create-only restore.
    let line = expect_error(&restore_in("upsert", &[]));
    assert!(line.contains("row 3 is refused"), "{line}");
    let line = expect_error(&restore(&[]));
    assert!(line.contains("another job"), "{line}");
    std::fs::remove_file(checkpoint).unwrap();
    sql(&dst_db, "DELETE FROM t");

    let line = expect_error(&restore(&[]));
    assert!(line.contains("row 3 is refused"), "{line}");
    assert_eq!(rows(&dst_db, "t").len(), 2);
    sql(&dst_db, "DROP TRIGGER stop");

    // Another share cannot know the target was empty before the first share wrote.
    let line = expect_error(&restore(&["--partition", "1/2"]));
    assert!(line.contains("create-only"), "{line}");
    assert!(line.contains("--mode upsert"), "{line}");
    // The rows the target holds are this restore's own: the dry run and the run resume.
    let out = restore(&["--dry-run"]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("nothing was written"),
        "{}",
        stderr(&out)
    );
    assert_eq!(rows(&dst_db, "t").len(), 2);
    let out = restore(&[]);
    expect_code(&out, 0);
    assert_eq!(rows(&dst_db, "t").len(), 5);
    expect_code(&stores(&["check", &table_url(&src_db, "t"), &dst]), 0);

    // Without the checkpoint, the full target is refused, dry run or not.
    std::fs::remove_file(checkpoint).unwrap();
    for extra in [&["--dry-run"][..], &[]] {
        let line = expect_error(&restore(extra));
        assert!(line.contains("already holds records"), "{line}");
    }
}

#[test]
fn keys_of_two_types_are_refused_by_a_search_index_rather_than_sharing_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    // A column of no declared type holds the number 1 and the text '1': one `_id`, "1".
    sql(
        &db,
        "CREATE TABLE t (id PRIMARY KEY, v); INSERT INTO t VALUES (1, 'a number'), ('1', 'text')",
    );
    std::fs::create_dir(dir.path().join("search")).unwrap();
    let index = format!("tantivy://{}/search/t", dir.path().display());
    let source = table_url(&db, "t");
    for dry_run in [true, false] {
        let mut args = vec!["copy", &source, &index];
        if dry_run {
            args.insert(1, "--dry-run");
        }
        let line = expect_error(&stores(&args));
        assert!(
            line.contains("the record keyed '1': its key is of type string"),
            "{line}"
        );
        assert!(line.contains("keys of different types"), "{line}");
    }
    assert!(!dir.path().join("search/t").exists());
}
