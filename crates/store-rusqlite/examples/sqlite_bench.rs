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
//! as native Rust values). One warm-up run of each, then the runs interleave; the lines give
//! the median and the spread (min–max).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::{TryStreamExt, stream};
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

fn median(runs: &mut [Duration]) -> Duration {
    runs.sort_unstable();
    runs[runs.len() / 2]
}

fn report(name: &str, baseline: &str, mut ours: Vec<Duration>, mut base: Vec<Duration>, rows: i64) {
    let (mo, mb) = (median(&mut ours), median(&mut base));
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "bench {name}: ours {:.3} s vs {baseline} {:.3} s = {:.2}x",
        secs(mo),
        secs(mb),
        secs(mo) / secs(mb)
    );
    println!(
        "  spread: ours {:.3}–{:.3} s, {baseline} {:.3}–{:.3} s over {} runs each; \
         median {:.0} vs {:.0} rows/s",
        secs(ours[0]),
        secs(ours[ours.len() - 1]),
        secs(base[0]),
        secs(base[base.len() - 1]),
        ours.len(),
        rows as f64 / secs(mo),
        rows as f64 / secs(mb)
    );
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
    let warm = (args.rows / 10).max(1000);
    baseline_insert(&fresh(&args.dir, "warm-base.db"), warm);
    runtime.block_on(ours_insert(&fresh(&args.dir, "warm-ours.db"), warm));

    let (mut ins_ours, mut ins_base, mut read_ours, mut read_base) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..args.runs {
        let base_path = fresh(&args.dir, &format!("base-{run}.db"));
        let ours_path = fresh(&args.dir, &format!("ours-{run}.db"));
        // Interleaved, alternating which side goes first.
        if run % 2 == 0 {
            ins_base.push(baseline_insert(&base_path, args.rows));
            ins_ours.push(runtime.block_on(ours_insert(&ours_path, args.rows)));
        } else {
            ins_ours.push(runtime.block_on(ours_insert(&ours_path, args.rows)));
            ins_base.push(baseline_insert(&base_path, args.rows));
        }
        let (d, n) = baseline_read(&base_path);
        assert_eq!(n, args.rows);
        read_base.push(d);
        let (d, n) = runtime.block_on(ours_read(&ours_path));
        assert_eq!(n, args.rows);
        read_ours.push(d);
        let _ = fresh(&args.dir, &format!("base-{run}.db"));
        let _ = fresh(&args.dir, &format!("ours-{run}.db"));
    }
    report(
        "insert_rows",
        "rusqlite_prepared_loop",
        ins_ours,
        ins_base,
        args.rows,
    );
    report(
        "query_stream",
        "rusqlite_read_loop",
        read_ours,
        read_base,
        args.rows,
    );
    let _ = std::fs::remove_dir_all(&args.dir);
}
