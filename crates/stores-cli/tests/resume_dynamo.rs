//! A copy into a DynamoDB table (on the harness's moto) whose checkpoint says earlier runs
//! wrote records there, after the table was deleted: every run is refused, before it makes
//! the table again, until `--restart`.

mod common;

use common::follow::{equal, stores};
use common::{block_on, make_table};
use integration_tests::clients::dynamo_admin;
use integration_tests::names::unique_name;

#[test]
fn a_resumed_copy_into_a_deleted_dynamodb_table_is_refused_every_time() {
    let admin = block_on(dynamo_admin());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    make_table(&db, 60);
    let src = format!("sqlite://{}?table=items", db.display());
    let table = unique_name("resume-gone");
    let dst = format!("dynamodb://{table}");
    let checkpoint = dir.path().join("job.json");
    let run = |extra: &[&str]| {
        let mut command = stores();
        command.args(["copy", &src, &dst, "--batch-size", "20", "--checkpoint"]);
        command.arg(&checkpoint).args(extra);
        command.output().unwrap()
    };
    let first = run(&[]);
    assert!(first.status.success(), "{first:?}");
    // As a run killed after its last batch leaves it.
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    state["done"] = false.into();
    std::fs::write(&checkpoint, serde_json::to_vec(&state).unwrap()).unwrap();
    block_on(admin.delete(&table)).unwrap();

    for _ in 0..2 {
        let out = run(&[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("wrote 60 records") && err.contains("--restart"),
            "{err}"
        );
        assert!(
            block_on(admin.open(&table)).is_err(),
            "the refused run made the table again"
        );
    }
    let restarted = run(&["--restart"]);
    assert!(restarted.status.success(), "{restarted:?}");
    assert!(equal(&src, &dst));
    block_on(admin.delete(&table)).unwrap();
}
