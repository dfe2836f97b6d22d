//! Benchmark: `SqliteStore::insert_rows` against a plain rusqlite loop (one transaction, one
//! prepared statement), and a streamed `query` against a plain rusqlite read loop.
//!
//! ```text
//! cargo run -p store-rusqlite --release --example sqlite_bench -- --rows 1000000 --runs 3
//! ```
//!
//! Both sides use the same schema and the same pragmas (`journal_mode=WAL`,
//! `synchronous=FULL`, `foreign_keys=ON`, `busy_timeout=5000`), a fresh database file per
//! run, and generate the same rows inside the timed region (ours as `Value`s, the baseline
//! as native Rust values). One full-size warm-up run of each, then the runs interleave, the
//! order alternating; the lines give the median rows a second (above 1, ours is faster) with
//! the spread (min–max).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::{TryStreamExt, stream};
use store_core::testkit::bench::{Measure, Samples, rotation};
use store_core::{Number, SqlStore, Value};
use store_rusqlite::SqliteStore;
use store_rusqlite::rusqlite::{self, Connection, params};

const SCHEMA: &str = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
                      qty INTEGER NOT NULL, price DECIMAL_TEXT NOT NULL, payload BLOB)";

struct Args {
    rows: i64,
    runs: usize,
    dir: PathBuf,
}

fn args() -> Args {
    let mut out = Args {
        rows: 1_000_000,
        runs: 3,
        dir: std::env::temp_dir().join(format!("store-rusqlite-bench-{}", std::process::id())),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => out.rows = value.parse().expect("--rows N"),
            "--runs" => out.runs = value.parse().expect("--runs N"),
            "--dir" => out.dir = value.into(),
            other => panic!("unknown flag {other} (--rows N, --runs N, --dir PATH)"),
        }
    }
    out.runs = out.runs.max(3);
    out
}

/// The fields of row `i`, shared by both sides.
fn name(i: i64) -> String {
    format!("item number {i:08}")
}
fn qty(i: i64) -> i64 {
    i % 1000
}
fn price(i: i64) -> String {
    format!("{}.{:02}", i % 100_000, i % 100)
}
fn payload(i: i64) -> [u8; 32] {
    let mut p = [0u8; 32];
    p[..8].copy_from_slice(&i.to_le_bytes());
    p
}

fn fresh(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

fn baseline_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

fn baseline_insert(path: &Path, rows: i64) -> Duration {
    let conn = baseline_connection(path).unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    let started = Instant::now();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    {
        let mut stmt = conn
            .prepare(
                "INSERT INTO items (id, name, qty, price, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .unwrap();
        for i in 1..=rows {
            stmt.execute(params![i, name(i), qty(i), price(i), &payload(i)[..]])
                .unwrap();
        }
    }
    conn.execute_batch("COMMIT").unwrap();
    started.elapsed()
}

fn baseline_read(path: &Path) -> (Duration, i64) {
    let conn = baseline_connection(path).unwrap();
    let started = Instant::now();
    let mut stmt = conn
        .prepare("SELECT id, name, qty, price, payload FROM items")
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut n = 0;
    while let Some(row) = rows.next().unwrap() {
        let _id: i64 = row.get(0).unwrap();
        let _name: String = row.get(1).unwrap();
        let _qty: i64 = row.get(2).unwrap();
        let _price: String = row.get(3).unwrap();
        let _payload: Vec<u8> = row.get(4).unwrap();
        n += 1;
    }
    (started.elapsed(), n)
}

async fn ours_insert(path: &Path, rows: i64) -> Duration {
    let store = SqliteStore::open(path).await.unwrap();
    store.batch_execute(SCHEMA).await.unwrap();
    let started = Instant::now();
    let source = stream::iter((1..=rows).map(|i| {
        let price: Number = price(i).parse()?;
        Ok(vec![
            Value::from(i),
            Value::from(name(i)),
            Value::from(qty(i)),
            Value::Number(price),
            Value::Bytes(bytes::Bytes::copy_from_slice(&payload(i))),
        ])
    }));
    let n = store
        .insert_rows("items", &["id", "name", "qty", "price", "payload"], source)
        .await
        .unwrap();
    assert_eq!(n as i64, rows);
    started.elapsed()
}

async fn ours_read(path: &Path) -> (Duration, i64) {
    let store = SqliteStore::open(path).await.unwrap();
    let started = Instant::now();
    let n = store
        .query("SELECT id, name, qty, price, payload FROM items", &[])
        .try_fold(0i64, |n, _row| async move { Ok(n + 1) })
        .await
        .unwrap();
    (started.elapsed(), n)
}

fn main() {
    let args = args();
    std::fs::create_dir_all(&args.dir).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "sqlite_bench: {} rows, {} runs each, SQLite {}, files in {}",
        args.rows,
        args.runs,
        rusqlite::version(),
        args.dir.display()
    );
    println!(
        "  pragmas (both): journal_mode=WAL, synchronous=FULL, foreign_keys=ON, busy_timeout=5000"
    );
    // Run 0 warms both sides at full size and is not counted; then the order alternates.
    let mut inserts = [Samples::new("ours"), Samples::new("rusqlite_prepared_loop")];
    let mut reads = [Samples::new("ours"), Samples::new("rusqlite_read_loop")];
    for run in 0..=args.runs.max(1) {
        let paths = [
            fresh(&args.dir, &format!("ours-{run}.db")),
            fresh(&args.dir, &format!("base-{run}.db")),
        ];
        for at in rotation(run, 2) {
            let inserted = match at {
                0 => runtime.block_on(ours_insert(&paths[0], args.rows)),
                _ => baseline_insert(&paths[1], args.rows),
            };
            let (read, n) = match at {
                0 => runtime.block_on(ours_read(&paths[0])),
                _ => baseline_read(&paths[1]),
            };
            assert_eq!(n, args.rows);
            if run > 0 {
                inserts[at].push_rate(args.rows as f64, inserted);
                reads[at].push_rate(args.rows as f64, read);
            }
        }
        for name in [format!("ours-{run}.db"), format!("base-{run}.db")] {
            fresh(&args.dir, &name);
        }
    }
    Measure::Rate("rows/s").report_rounds("insert_rows", &inserts[0], &inserts[1]);
    Measure::Rate("rows/s").report_rounds("query_stream", &reads[0], &reads[1]);
    let _ = std::fs::remove_dir_all(&args.dir);
}
