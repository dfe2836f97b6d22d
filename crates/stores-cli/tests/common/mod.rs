//! Helpers shared by the `stores` binary tests: running it, and SQLite fixtures.
#![allow(dead_code, unreachable_pub)]

pub mod follow;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use store_core::sql::SqlStoreExt;
use store_core::{Document, SqlStore, Value};
use store_rusqlite::SqliteStore;

pub const ROWS: usize = 300;

/// A temp dir with a source table `items` of [`ROWS`] rows in `src.db`.
pub fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("src.db");
    make_table(&db, ROWS);
    (dir, db)
}

/// Runs `stores` with `args`, without any service's environment.
pub fn stores(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stores"))
        .args(args)
        .env_remove("STORES_POSTGRES_URL")
        .env_remove("PGPASSWORD")
        .env_remove("DATABASE_URL")
        .output()
        .expect("stores runs")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the exit code, showing the output when it is not the expected one.
#[track_caller]
pub fn expect_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// Asserts a failure: exit 1 and exactly one `error:` line on stderr, which it returns.
#[track_caller]
pub fn expect_error(out: &Output) -> String {
    expect_code(out, 1);
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one error line expected:\n{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    lines[0].to_owned()
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A SQLite file with a table `items` of `n` rows: text keys (Unicode too), exact decimals,
/// 64-bit extremes, bytes and nulls.
pub fn make_table(db: &Path, n: usize) {
    block_on(async {
        let store = SqliteStore::open(db).await.unwrap();
        store
            .batch_execute(
                "CREATE TABLE items (id TEXT PRIMARY KEY, price DECIMAL_TEXT, qty INTEGER, \
                 data BLOB, note TEXT)",
            )
            .await
            .unwrap();
        for i in 0..n {
            let note = if i % 7 == 0 {
                Value::Null
            } else {
                Value::from(format!("note {i} ✓"))
            };
            let qty = if i % 2 == 0 {
                i64::MIN + i as i64
            } else {
                i64::MAX - i as i64
            };
            store
                .execute(
                    "INSERT INTO items (id, price, qty, data, note) VALUES ($1, $2, $3, $4, $5)",
                    &[
                        Value::from(key(i)),
                        Value::Number(
                            format!("1234567890123456789012345678901234567.{}", i % 10)
                                .parse()
                                .unwrap(),
                        ),
                        Value::from(qty),
                        Value::Bytes(bytes::Bytes::from(vec![0, 255, (i % 256) as u8])),
                        note,
                    ],
                )
                .await
                .unwrap();
        }
    });
}

pub fn key(i: usize) -> String {
    format!("k-{i:05}-é")
}

pub fn sql(db: &Path, statement: &str) {
    block_on(async {
        let store = SqliteStore::open(db).await.unwrap();
        store.batch_execute(statement).await.unwrap();
    });
}

pub fn rows(db: &Path, table: &str) -> Vec<Document> {
    block_on(async {
        let store = SqliteStore::open(db).await.unwrap();
        store
            .query_all(&format!("SELECT * FROM {table} ORDER BY id"), &[])
            .await
            .unwrap()
    })
}

pub fn table_url(db: &Path, table: &str) -> String {
    format!("sqlite://{}?table={table}", db.display())
}

pub fn file_url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

/// Asserts that every line of `ndjson` conforms to docs/cli-events.schema.json (checked by
/// scripts/validate-json.py, a real JSON Schema validator).
#[track_caller]
pub fn conforms_to_event_schema(ndjson: &str) {
    use std::io::Write as _;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut child = Command::new("/usr/bin/python3")
        .arg(root.join("scripts/validate-json.py"))
        .arg(root.join("docs/cli-events.schema.json"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ndjson.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "events do not match docs/cli-events.schema.json: {}\n{ndjson}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A small seeded generator (splitmix64), so every run kills at the same points.
pub struct Seeded(pub u64);

impl Seeded {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
