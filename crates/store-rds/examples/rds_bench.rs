//! The store-rds benchmark: bulk loads and point selects against a real PostgreSQL, each
//! printed as `bench <name>: ours <value> vs <baseline> <value> = <ratio>x` (ratio > 1 means
//! ours is faster).
//!
//! Run it with `crates/store-rds/bench/run.sh` (builds in release, prepares the Python
//! baseline's virtualenv, reads the harness's `.services/services.env`). Options:
//! `--rows N` (default 1,000,000), `--insert-rows N` (rows for the per-row INSERT baseline,
//! default all), `--selects N` (default 20,000), `--tasks N` (default 8).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use store_core::sql::{IsolationLevel, SqlStore, SqlStoreExt};
use store_core::{Number, Value};
use store_rds::{PgConfig, PgStore};

struct Options {
    rows: i64,
    insert_rows: i64,
    selects: usize,
    tasks: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.replace('_', "").parse::<i64>().ok())
    };
    let rows = get("--rows").unwrap_or(1_000_000);
    Options {
        rows,
        insert_rows: get("--insert-rows").unwrap_or(rows).min(rows),
        selects: get("--selects").unwrap_or(20_000) as usize,
        tasks: get("--tasks").unwrap_or(8).max(1) as usize,
    }
}

fn url() -> String {
    if let Ok(url) = std::env::var("STORES_POSTGRES_URL") {
        return url;
    }
    let env = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.services/services.env");
    std::fs::read_to_string(&env)
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.trim()
                    .trim_start_matches("export ")
                    .strip_prefix("STORES_POSTGRES_URL=")
                    .map(str::to_owned)
            })
        })
        .unwrap_or_else(|| {
            eprintln!(
                "STORES_POSTGRES_URL is not set; start PostgreSQL: just services-up postgres"
            );
            std::process::exit(2)
        })
}

/// Row `i` of the data set: (id bigint, name text, email text, age int, score numeric).
fn row(i: i64) -> Vec<Value> {
    vec![
        Value::from(i),
        Value::String(format!("user {i}")),
        Value::String(format!("user{i}@example.com")),
        Value::from((i % 90) as i32),
        Value::Number(score(i)),
    ]
}

fn score(i: i64) -> Number {
    format!("{}.{:02}", i % 100_000, i % 100)
        .parse()
        .expect("a score")
}

const COLUMNS: &str = "id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, \
                       age int NOT NULL, score numeric NOT NULL";

async fn fresh(store: &PgStore, table: &str) {
    store
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} ({COLUMNS})"
        ))
        .await
        .expect("create the table");
}

async fn count(store: &PgStore, table: &str) -> i64 {
    store
        .query_one(&format!("SELECT count(*) AS n FROM {table}"), &[])
        .await
        .expect("count")
        .get("n")
        .and_then(Value::as_i64)
        .unwrap_or(-1)
}

fn report(name: &str, ours: Duration, baseline_name: &str, baseline: Duration, scale: f64) {
    // Baselines measured on fewer rows are scaled to the same row count.
    let baseline = baseline.as_secs_f64() * scale;
    println!(
        "bench {name}: ours {:.2}s vs {baseline_name} {:.2}s = {:.2}x",
        ours.as_secs_f64(),
        baseline,
        baseline / ours.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let opts = options();
    let url = url();
    let store = PgConfig::from_url(&url)
        .expect("the URL parses")
        .pool_size(opts.tasks)
        .build()
        .expect("the store");
    let table = format!("bench_load_{}", std::process::id());
    let n = opts.rows;
    println!(
        "store-rds benchmark: {n} rows, {} point selects from {} tasks",
        opts.selects, opts.tasks
    );

    // 1. Our binary COPY from a stream of rows.
    fresh(&store, &table).await;
    let started = Instant::now();
    let written = store
        .copy_in(
            &table,
            &[],
            futures::stream::iter((1..=n).map(|i| Ok(row(i)))),
        )
        .await
        .expect("copy in");
    let copy = started.elapsed();
    assert_eq!(written as i64, n);
    println!(
        "  our COPY: {:.2}s ({:.0} rows/s)",
        copy.as_secs_f64(),
        n as f64 / copy.as_secs_f64()
    );

    // 2. Per-row prepared INSERT in one transaction.
    fresh(&store, &table).await;
    let insert =
        format!("INSERT INTO {table} (id, name, email, age, score) VALUES ($1, $2, $3, $4, $5)");
    let started = Instant::now();
    let mut tx = store
        .begin(IsolationLevel::ReadCommitted)
        .await
        .expect("begin");
    for i in 1..=opts.insert_rows {
        tx.execute(&insert, &row(i)).await.expect("insert");
    }
    tx.commit().await.expect("commit");
    let per_row = started.elapsed();
    assert_eq!(count(&store, &table).await, opts.insert_rows);
    let per_row_scale = n as f64 / opts.insert_rows as f64;
    if opts.insert_rows < n {
        println!(
            "  per-row INSERT measured on {} rows, extrapolated to {n}",
            opts.insert_rows
        );
    }
    report(
        "load_copy_vs_per_row_insert",
        copy,
        "per-row-insert",
        per_row,
        per_row_scale,
    );

    // 3. Multi-row INSERT, 1,000 rows per statement, one transaction.
    fresh(&store, &table).await;
    let batch = 1_000i64;
    let values: Vec<String> = (0..batch)
        .map(|r| {
            let b = r * 5;
            format!(
                "(${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5
            )
        })
        .collect();
    let multi = format!(
        "INSERT INTO {table} (id, name, email, age, score) VALUES {}",
        values.join(", ")
    );
    let started = Instant::now();
    let mut tx = store
        .begin(IsolationLevel::ReadCommitted)
        .await
        .expect("begin");
    let mut i = 1;
    while i <= n {
        let end = (i + batch - 1).min(n);
        let params: Vec<Value> = (i..=end).flat_map(row).collect();
        if end - i + 1 == batch {
            tx.execute(&multi, &params).await.expect("multi-row insert");
        } else {
            for r in i..=end {
                tx.execute(&insert, &row(r)).await.expect("insert");
            }
        }
        i = end + 1;
    }
    tx.commit().await.expect("commit");
    let multi_time = started.elapsed();
    assert_eq!(count(&store, &table).await, n);
    report(
        "load_copy_vs_multi_row_insert_1000",
        copy,
        "multi-row-insert",
        multi_time,
        1.0,
    );

    // 4. psycopg2's execute_values (page size 1,000), the seed's Python tooling.
    if let Ok(python) = std::env::var("BENCH_PYTHON") {
        fresh(&store, &table).await;
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/execute_values.py");
        let output = std::process::Command::new(python)
            .arg(&script)
            .args([&url, &table, &n.to_string()])
            .output()
            .expect("run the Python baseline");
        let text = String::from_utf8_lossy(&output.stdout);
        match text
            .lines()
            .last()
            .and_then(|l| l.strip_prefix("seconds "))
            .and_then(|s| s.trim().parse::<f64>().ok())
        {
            Some(secs) if output.status.success() => {
                assert_eq!(count(&store, &table).await, n);
                report(
                    "load_copy_vs_psycopg2_execute_values",
                    copy,
                    "psycopg2-execute_values",
                    Duration::from_secs_f64(secs),
                    1.0,
                );
            }
            _ => eprintln!(
                "  psycopg2 baseline failed: {}{}",
                text,
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    } else {
        eprintln!("  BENCH_PYTHON not set: skipping the psycopg2 baseline (run bench/run.sh)");
    }

    // 5. psql \copy of the same rows as CSV: PostgreSQL's own bulk path.
    fresh(&store, &table).await;
    let csv = std::env::temp_dir().join(format!("store-rds-bench-{}.csv", std::process::id()));
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&csv).expect("csv file"));
        for i in 1..=n {
            writeln!(
                out,
                "{i},user {i},user{i}@example.com,{},{}",
                i % 90,
                score(i)
            )
            .expect("write csv");
        }
    }
    let started = Instant::now();
    let status = std::process::Command::new("psql")
        .args([
            url.as_str(),
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            &format!(
                "\\copy {table} (id, name, email, age, score) FROM '{}' WITH (FORMAT csv)",
                csv.display()
            ),
        ])
        .status();
    let psql = started.elapsed();
    let _ = std::fs::remove_file(&csv);
    match status {
        Ok(s) if s.success() => {
            assert_eq!(count(&store, &table).await, n);
            report("load_copy_vs_psql_copy_csv", copy, "psql-\\copy", psql, 1.0);
        }
        other => eprintln!("  psql \\copy baseline failed: {other:?}"),
    }

    // Point selects: reload with COPY, then 20,000 selects by id from 8 tasks.
    fresh(&store, &table).await;
    store
        .copy_in(
            &table,
            &[],
            futures::stream::iter((1..=n).map(|i| Ok(row(i)))),
        )
        .await
        .expect("reload");
    let select = format!("SELECT id, name, email, age, score FROM {table} WHERE id = $1");
    let ids = move |task: usize, k: usize| ((task * 7919 + k * 104_729) as i64 % n) + 1;
    let per_task = opts.selects / opts.tasks;

    let run_ours = |store: PgStore, select: String| async move {
        let started = Instant::now();
        let tasks: Vec<_> = (0..opts.tasks)
            .map(|t| {
                let (store, select) = (store.clone(), select.clone());
                tokio::spawn(async move {
                    for k in 0..per_task {
                        let row = store
                            .query_one(&select, &[ids(t, k).into()])
                            .await
                            .expect("select");
                        assert!(row.get("name").is_some());
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        started.elapsed()
    };
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("raw client");
    tokio::spawn(connection);
    let client = Arc::new(client);
    let stmt = client.prepare(&select).await.expect("prepare");
    let run_raw = |client: Arc<tokio_postgres::Client>, stmt: tokio_postgres::Statement| async move {
        let started = Instant::now();
        let tasks: Vec<_> = (0..opts.tasks)
            .map(|t| {
                let (client, stmt) = (client.clone(), stmt.clone());
                tokio::spawn(async move {
                    for k in 0..per_task {
                        let row = client
                            .query_one(&stmt, &[&ids(t, k)])
                            .await
                            .expect("select");
                        let name: &str = row.get(1);
                        assert!(!name.is_empty());
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        started.elapsed()
    };
    // Warm both paths, then take the best of three runs each.
    let _ = run_ours(store.clone(), select.clone()).await;
    let _ = run_raw(client.clone(), stmt.clone()).await;
    let mut ours = Duration::MAX;
    let mut raw = Duration::MAX;
    for _ in 0..3 {
        ours = ours.min(run_ours(store.clone(), select.clone()).await);
        raw = raw.min(run_raw(client.clone(), stmt.clone()).await);
    }
    let total = (per_task * opts.tasks) as f64;
    println!(
        "bench point_selects_pool_vs_raw_pipelined: ours {:.0} q/s vs raw-pipelined-client {:.0} q/s = {:.2}x",
        total / ours.as_secs_f64(),
        total / raw.as_secs_f64(),
        raw.as_secs_f64() / ours.as_secs_f64()
    );
    // The same with checkout verification off (one round trip fewer per query).
    let fast = PgConfig::from_url(&url)
        .expect("the URL parses")
        .pool_size(opts.tasks)
        .verify_on_checkout(false)
        .build()
        .expect("the store");
    let _ = run_ours(fast.clone(), select.clone()).await;
    let mut unverified = Duration::MAX;
    for _ in 0..3 {
        unverified = unverified.min(run_ours(fast.clone(), select.clone()).await);
    }
    println!(
        "bench point_selects_pool_unverified_vs_raw_pipelined: ours {:.0} q/s vs raw-pipelined-client {:.0} q/s = {:.2}x",
        total / unverified.as_secs_f64(),
        total / raw.as_secs_f64(),
        raw.as_secs_f64() / unverified.as_secs_f64()
    );
    // Verified only after a second unused (PgConfig::verify_after_idle): no round trip on
    // the hot path, a connection that sat idle still checked.
    let idle_checked = PgConfig::from_url(&url)
        .expect("the URL parses")
        .pool_size(opts.tasks)
        .verify_after_idle(Duration::from_secs(1))
        .build()
        .expect("the store");
    let _ = run_ours(idle_checked.clone(), select.clone()).await;
    let mut idle = Duration::MAX;
    for _ in 0..3 {
        idle = idle.min(run_ours(idle_checked.clone(), select.clone()).await);
    }
    println!(
        "bench point_selects_pool_verified_after_idle_vs_raw_pipelined: ours {:.0} q/s vs raw-pipelined-client {:.0} q/s = {:.2}x",
        total / idle.as_secs_f64(),
        total / raw.as_secs_f64(),
        raw.as_secs_f64() / idle.as_secs_f64()
    );
    let status = store.pool_status();
    println!(
        "  pool: {} of {} open, {} idle",
        status.size, status.max_size, status.available
    );

    // A streamed read of everything, to show the row stream's rate.
    let started = Instant::now();
    let mut streamed = 0u64;
    let scan = format!("SELECT * FROM {table}");
    let mut rows = store.query(&scan, &[]);
    while let Some(row) = rows.next().await {
        row.expect("row");
        streamed += 1;
    }
    drop(rows);
    println!(
        "  streamed {streamed} rows in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    store
        .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
        .await
        .expect("drop");
}
