//! Running `stores sync --follow` against the harness's services: starting, killing,
//! interrupting and checking followers.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use integration_tests::services::setting;

use super::Seeded;

/// How long the follower may take to catch up at the end.
pub const CATCH_UP: Duration = Duration::from_secs(240);

/// The services' settings the `stores` process needs (from the environment or
/// `.services/services.env`).
pub fn service_env() -> Vec<(String, String)> {
    [
        "STORES_DYNAMODB_ENDPOINT",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    ]
    .iter()
    .filter_map(|name| setting(name).map(|value| ((*name).to_owned(), value)))
    .collect()
}

pub fn stores() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stores"));
    command.envs(service_env());
    command
}

/// `stores check A B`: whether both sides hold the same records; a check that could not run
/// (a side that does not exist yet) is `Err` with its message.
pub fn check(a: &str, b: &str) -> Result<bool, String> {
    let out = stores().args(["check", a, b]).output().unwrap();
    match out.status.code() {
        Some(0) => Ok(true),
        Some(2) => Ok(false),
        _ => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}

/// Whether both sides hold the same records; a check that cannot run fails the test.
pub fn equal(a: &str, b: &str) -> bool {
    check(a, b).unwrap_or_else(|e| panic!("stores check failed: {e}"))
}

/// Starts a follower with `--json` events on a pipe.
pub fn follower(src: &str, dst: &str, checkpoint: &Path, extra: &[&str]) -> Child {
    stores()
        .args([
            "sync",
            src,
            dst,
            "--follow",
            "--json",
            "--poll-interval",
            "0.05",
        ])
        .args(["--batch-size", "500", "--checkpoint"])
        .arg(checkpoint)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("stores starts")
}

/// Stops a follower with SIGTERM, as Ctrl-C would, and returns what it printed.
pub fn interrupt(child: Child) -> Output {
    let pid = child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    child.wait_with_output().unwrap()
}

/// Waits until `stores check` reports both sides equal, or fails after [`CATCH_UP`].
pub async fn wait_until_equal(src: &str, dst: &str, follower: &mut Child) {
    let start = Instant::now();
    loop {
        if let Some(status) = follower.try_wait().unwrap() {
            panic!("the follower exited early with {status}");
        }
        // The sink may not exist until the follower's copy creates it.
        let outcome = check(src, dst);
        if outcome == Ok(true) {
            return;
        }
        assert!(
            start.elapsed() < CATCH_UP,
            "the follower did not catch up in {CATCH_UP:?}: {outcome:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Asserts the follower stopped cleanly: exit 0 and a summary as its last event.
pub fn summary(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the follower failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    super::conforms_to_event_schema(&stdout);
    let last = stdout.lines().last().expect("events");
    let summary: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(summary["event"], "summary", "{stdout}");
    assert_eq!(summary["ok"], true);
    summary
}

/// Runs a `--delete` follower until both sides are equal and stops it: it must have resynced
/// exactly once. Returns the `resync` event's line.
pub async fn follow_through_one_resync(src: &str, dst: &str, checkpoint: &Path) -> String {
    let mut child = follower(src, dst, checkpoint, &["--delete"]);
    wait_until_equal(src, dst, &mut child).await;
    let out = interrupt(child);
    let summary = summary(&out);
    assert_eq!(summary["resyncs"], 1, "{summary}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find(|line| line.contains(r#""event":"resync""#))
        .expect("a resync event")
        .to_owned()
}

/// Starts followers again and again, killing each with SIGKILL after a seeded 0.3 to 2.5 s,
/// `kills` times; a follower that exits by itself fails the test.
pub async fn kill_repeatedly(src: &str, dst: &str, checkpoint: &Path, seed: u64, kills: usize) {
    let mut rng = Seeded(seed);
    for _ in 0..kills {
        let mut child = follower(src, dst, checkpoint, &[]);
        let delay = Duration::from_millis(300 + rng.next() % 2_200);
        tokio::time::sleep(delay).await;
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "the follower exited by itself with {status}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
}
