//! The store-rds benchmark: bulk loads and point selects against a real PostgreSQL. Every
//! contender runs once to warm the server, then `--rounds` rounds run them in rotated order;
//! each comparison prints as `bench <name>: ours <median> [min–max] vs <baseline> <median>
//! [min–max] = <ratio>x`, in rows or queries a second (ratio > 1 means ours is faster).
//!
//! Run it with `crates/store-rds/bench/run.sh` (builds in release, prepares the Python
//! baseline's virtualenv, reads the harness's `.services/services.env`). Options:
//! `--rows N` (default 1,000,000), `--insert-rows N` (rows for the per-row INSERT baseline,
//! default all), `--selects N` (default 20,000), `--tasks N` (default 8), `--rounds N` (default 3).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use store_core::sql::{IsolationLevel, SqlStore, SqlStoreExt};
use store_core::testkit::bench::{Measure, Samples, rotation};
use store_core::{Number, Value};
use store_rds::{PgConfig, PgStore};

struct Options {
    rows: i64,
    insert_rows: i64,
    selects: usize,
    tasks: usize,
    rounds: usize,
    /// `--profile ours|raw`: load once, then run only that contender's point selects (for
    /// `perf stat`/`perf record`), no comparison.
    profile: Option<String>,
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
        rounds: get("--rounds").unwrap_or(3).max(1) as usize,
        profile: args
            .iter()
            .position(|a| a == "--profile")
            .and_then(|i| args.get(i + 1))
            .cloned(),
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

/// The ways of loading the same rows into a fresh table.
#[derive(Clone, Copy)]
enum Loader {
    /// Ours: `copy_in`, binary COPY from a stream of rows.
    Copy,
    /// A prepared INSERT per row, in one transaction (on `--insert-rows` rows).
    PerRowInsert,
    /// INSERTs of 1,000 rows each, in one transaction.
    MultiRowInsert,
    /// psycopg2's `execute_values` (page size 1,000), the seed's Python tooling.
    Psycopg2,
    /// `psql \copy` of the same rows as CSV (written before the clocks start): PostgreSQL's
    /// own bulk path. The other loaders make their rows inside the timed region, as a program
    /// streaming from its own source would.
    PsqlCopy,
}

impl Loader {
    fn label(self) -> &'static str {
        match self {
            Loader::Copy => "ours",
            Loader::PerRowInsert => "per-row-insert",
            Loader::MultiRowInsert => "multi-row-insert-1000",
            Loader::Psycopg2 => "psycopg2-execute_values",
            Loader::PsqlCopy => "psql-\\copy-csv",
        }
    }
}

/// What the loaders share.
struct Load<'a> {
    store: &'a PgStore,
    url: &'a str,
    table: &'a str,
    opts: &'a Options,
    python: Option<String>,
    csv: PathBuf,
}

impl Load<'_> {
    /// Loads the rows with `loader` into a fresh table; returns the rows written and the time.
    async fn run(&self, loader: Loader) -> (i64, Duration) {
        let (store, table, n) = (self.store, self.table, self.opts.rows);
        fresh(store, table).await;
        let insert = format!(
            "INSERT INTO {table} (id, name, email, age, score) VALUES ($1, $2, $3, $4, $5)"
        );
        let started = Instant::now();
        let rows = match loader {
            Loader::Copy => {
                let rows = futures::stream::iter((1..=n).map(|i| Ok(row(i))));
                store.copy_in(table, &[], rows).await.expect("copy in") as i64
            }
            Loader::PerRowInsert => {
                let mut tx = store
                    .begin(IsolationLevel::ReadCommitted)
                    .await
                    .expect("begin");
                for i in 1..=self.opts.insert_rows {
                    tx.execute(&insert, &row(i)).await.expect("insert");
                }
                tx.commit().await.expect("commit");
                self.opts.insert_rows
            }
            Loader::MultiRowInsert => {
                let multi = multi_row_insert(table, MULTI_ROWS);
                let mut tx = store
                    .begin(IsolationLevel::ReadCommitted)
                    .await
                    .expect("begin");
                let mut i = 1;
                while i <= n {
                    let end = (i + MULTI_ROWS - 1).min(n);
                    if end - i + 1 == MULTI_ROWS {
                        let params: Vec<Value> = (i..=end).flat_map(row).collect();
                        tx.execute(&multi, &params).await.expect("multi-row insert");
                    } else {
                        for r in i..=end {
                            tx.execute(&insert, &row(r)).await.expect("insert");
                        }
                    }
                    i = end + 1;
                }
                tx.commit().await.expect("commit");
                n
            }
            Loader::Psycopg2 => {
                let python = self.python.as_deref().expect("only run with BENCH_PYTHON");
                let script =
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/execute_values.py");
                let output = std::process::Command::new(python)
                    .arg(&script)
                    .args([self.url, table, &n.to_string()])
                    .output()
                    .expect("run the Python baseline");
                let text = String::from_utf8_lossy(&output.stdout);
                let seconds = text
                    .lines()
                    .last()
                    .and_then(|l| l.strip_prefix("seconds "))
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .filter(|_| output.status.success())
                    .unwrap_or_else(|| {
                        let stderr = String::from_utf8_lossy(&output.stderr);
                        panic!("the psycopg2 baseline failed: {text}{stderr}")
                    });
                assert_eq!(count(store, table).await, n);
                // The child's own clock: the interpreter's start-up is not the load's time.
                return (n, Duration::from_secs_f64(seconds));
            }
            Loader::PsqlCopy => {
                // psql's start-up and log-in, timed alone just before, are not the load's time
                // (the other loaders' connections are open before their clocks start).
                let startup = psql(self.url, "SELECT 1");
                let copy = psql(
                    self.url,
                    &format!(
                        "\\copy {table} (id, name, email, age, score) FROM '{}' WITH (FORMAT csv)",
                        self.csv.display()
                    ),
                );
                assert_eq!(count(store, table).await, n);
                return (n, copy.saturating_sub(startup));
            }
        };
        let took = started.elapsed();
        assert_eq!(count(store, table).await, rows, "{}", loader.label());
        (rows, took)
    }
}

/// Runs one `psql -c command`; returns the time the process took.
fn psql(url: &str, command: &str) -> Duration {
    let started = Instant::now();
    let status = std::process::Command::new("psql")
        .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c", command])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run psql");
    assert!(status.success(), "psql failed: {status}");
    started.elapsed()
}

/// Rows per statement of the multi-row INSERT baseline.
const MULTI_ROWS: i64 = 1_000;

/// `INSERT … VALUES ($1, …, $5), …` for `rows` rows.
fn multi_row_insert(table: &str, rows: i64) -> String {
    let values: Vec<String> = (0..rows)
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
    format!(
        "INSERT INTO {table} (id, name, email, age, score) VALUES {}",
        values.join(", ")
    )
}

/// The data set as CSV, for `psql \copy`.
fn write_csv(path: &std::path::Path, n: i64) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("csv file"));
    for i in 1..=n {
        writeln!(
            out,
            "{i},user {i},user{i}@example.com,{},{}",
            i % 90,
            score(i)
        )
        .expect("csv");
    }
    out.flush().expect("csv");
}

/// The pooled stores compared with the raw client on point selects.
fn pools(url: &str, tasks: usize) -> Vec<(&'static str, PgStore)> {
    let config = || {
        PgConfig::from_url(url)
            .expect("the URL parses")
            .pool_size(tasks)
    };
    vec![
        ("ours", config().build().expect("the store")),
        (
            "ours-unverified",
            config()
                .verify_on_checkout(false)
                .build()
                .expect("the store"),
        ),
        (
            "ours-verified-every-checkout",
            config()
                .verify_after_idle(Duration::ZERO)
                .build()
                .expect("the store"),
        ),
    ]
}

/// A selected row as a raw-client user holds it: every column read into an owned value,
/// as `SqlStore` hands out its rows (the numeric as its wire bytes, less work than the
/// exact decimal `SqlStore` decodes).
#[allow(dead_code)] // the fields are read to be owned, not used
struct OwnedRow {
    id: i64,
    name: String,
    email: String,
    age: i32,
    score: NumericBytes,
}

impl OwnedRow {
    fn read(row: &tokio_postgres::Row) -> Self {
        Self {
            id: row.get(0),
            name: row.get(1),
            email: row.get(2),
            age: row.get(3),
            score: row.get(4),
        }
    }
}

/// A `numeric` column's binary form, copied.
struct NumericBytes(#[allow(dead_code)] Vec<u8>);

impl<'a> tokio_postgres::types::FromSql<'a> for NumericBytes {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Self(raw.to_vec()))
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        *ty == tokio_postgres::types::Type::NUMERIC
    }
}

/// A raw tokio-postgres connection with the select prepared on it.
type RawClient = (Arc<tokio_postgres::Client>, tokio_postgres::Statement);

/// `connections` raw clients, each with `select` prepared.
async fn raw_clients(url: &str, select: &str, connections: usize) -> Vec<RawClient> {
    let mut clients = Vec::new();
    for _ in 0..connections {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("raw client");
        tokio::spawn(connection);
        let stmt = client.prepare(select).await.expect("prepare");
        clients.push((Arc::new(client), stmt));
    }
    clients
}

/// `per_task` selects by id from each of `tasks` tasks through `store`, or, when `store` is
/// `None`, through the raw clients' prepared statement (task `t` on client `t % len`, so tasks
/// sharing a client pipeline on it); returns the elapsed time.
async fn selects(
    store: Option<&PgStore>,
    raw: &[RawClient],
    select: &str,
    n: i64,
    tasks: usize,
    per_task: usize,
) -> Duration {
    let ids = move |task: usize, k: usize| ((task * 7919 + k * 104_729) as i64 % n) + 1;
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let store = store.cloned();
            let (client, stmt) = raw[t % raw.len()].clone();
            let select = select.to_owned();
            tokio::spawn(async move {
                for k in 0..per_task {
                    if let Some(store) = &store {
                        let row = store.query_one(&select, &[ids(t, k).into()]).await;
                        assert!(row.expect("select").get("name").is_some());
                    } else {
                        let row = client.query_one(&stmt, &[&ids(t, k)]).await;
                        let row = OwnedRow::read(&row.expect("select"));
                        assert!(!row.name.is_empty());
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("task");
    }
    started.elapsed()
}

/// The point select every contender runs, by id.
fn point_select(table: &str) -> String {
    format!("SELECT id, name, email, age, score FROM {table} WHERE id = $1")
}

/// Loads the table, then runs only `contender`'s point selects (`ours`: the default pool;
/// `raw`: as many raw clients as tasks) and prints their rate: a run to profile.
async fn profile(load: &Load<'_>, contender: &str) {
    load.run(Loader::Copy).await;
    let _ = std::fs::remove_file(&load.csv);
    let select = point_select(load.table);
    let opts = load.opts;
    let per_task = opts.selects / opts.tasks;
    // `selects` hands every task a raw client even when the pool runs its queries: one idle
    // connection for `ours`, one per task for `raw`.
    let (pool, connections) = match contender {
        "ours" => (Some(load.store), 1),
        "raw" => (None, opts.tasks),
        other => panic!("--profile takes `ours` or `raw`, not `{other}`"),
    };
    let raw = raw_clients(load.url, &select, connections).await;
    let took = selects(pool, &raw, &select, opts.rows, opts.tasks, per_task).await;
    let total = (per_task * opts.tasks) as f64;
    println!(
        "profile {contender}: {:.0} q/s over {:.2} s",
        total / took.as_secs_f64(),
        took.as_secs_f64()
    );
    load.store
        .batch_execute(&format!("DROP TABLE IF EXISTS {}", load.table))
        .await
        .expect("drop");
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
        "store-rds benchmark: {n} rows ({} for the per-row INSERT), {} point selects from {} \
         tasks; {} rounds after a warm-up run of each contender",
        opts.insert_rows, opts.selects, opts.tasks, opts.rounds
    );

    let load = Load {
        store: &store,
        url: &url,
        table: &table,
        opts: &opts,
        python: std::env::var("BENCH_PYTHON").ok(),
        csv: std::env::temp_dir().join(format!("store-rds-bench-{}.csv", std::process::id())),
    };
    write_csv(&load.csv, n);
    if let Some(contender) = &opts.profile {
        return profile(&load, contender).await;
    }
    let mut loaders = vec![Loader::Copy, Loader::PerRowInsert, Loader::MultiRowInsert];
    if load.python.is_some() {
        loaders.push(Loader::Psycopg2);
    } else {
        eprintln!("  BENCH_PYTHON not set: skipping the psycopg2 baseline (run bench/run.sh)");
    }
    loaders.push(Loader::PsqlCopy);
    let mut loaded: Vec<Samples> = loaders.iter().map(|l| Samples::new(l.label())).collect();
    for round in 0..=opts.rounds {
        for at in rotation(round, loaders.len()) {
            let (rows, took) = load.run(loaders[at]).await;
            if round > 0 {
                loaded[at].push_rate(rows as f64, took);
            }
        }
    }
    let _ = std::fs::remove_file(&load.csv);
    for baseline in &loaded[1..] {
        Measure::Rate("rows/s").report_rounds(&format!("load_{n}_rows"), &loaded[0], baseline);
    }

    // Point selects on the COPY-loaded table from the same tasks: the pools in their three
    // modes against raw tokio-postgres clients with a prepared statement, as many connections
    // as the pool (the target's baseline) and one connection pipelining every task's queries.
    load.run(Loader::Copy).await;
    let select = point_select(&table);
    let raw = [
        raw_clients(&url, &select, opts.tasks).await,
        raw_clients(&url, &select, 1).await,
    ];
    let pools = pools(&url, opts.tasks);
    let per_task = opts.selects / opts.tasks;
    let total = (per_task * opts.tasks) as f64;
    let mut rates: Vec<Samples> = pools
        .iter()
        .map(|(label, _)| Samples::new(*label))
        .collect();
    rates.push(Samples::new(format!(
        "raw-client-{}-connections",
        opts.tasks
    )));
    rates.push(Samples::new("raw-client-1-connection-pipelined"));
    for round in 0..=opts.rounds {
        for at in rotation(round, rates.len()) {
            let pool = pools.get(at).map(|(_, store)| store);
            let clients = &raw[at.saturating_sub(pools.len()).min(1)];
            let took = selects(pool, clients, &select, n, opts.tasks, per_task).await;
            if round > 0 {
                rates[at].push_rate(total, took);
            }
        }
    }
    for ours in &rates[..pools.len()] {
        for (raw, target) in rates[pools.len()..].iter().zip([" (target >= 0.95x)", ""]) {
            let name = format!("point_selects_{}{target}", ours.label());
            Measure::Rate("q/s").report_rounds(&name, ours, raw);
        }
    }
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
