//! The `stores` backup/restore benchmark (issue 14), against the harness's services:
//!
//! ```text
//! cargo build --release -p stores-cli            # the `stores` binary this program runs
//! cargo run --release -p stores-cli --example sync_bench -- [--full] [--rounds N] [--only LIST]
//! ```
//!
//! (`just bench-sync` does both.) In the same run, on the same data:
//!
//! - DynamoDB (moto), 1,000 items (`--full`: 10,000): `stores backup dynamodb://T file:///…` vs
//!   `dynamodump -m backup`, and `stores restore` vs `dynamodump -m restore` into a new table;
//! - the same on dynalite (`dynamodb-dynalite`, when `integration-tests/services/up.sh dynalite`
//!   started it; skipped with a note otherwise): a DynamoDB server that costs far less CPU a
//!   request than moto, so the clients' own costs show;
//! - OpenSearch, 10,000 documents of about 500 bytes (`--full`: 100,000): `stores backup
//!   opensearch://…/idx file:///…` vs `elasticdump --type=data`, and the restores into a new index;
//! - PostgreSQL, 100,000 rows (`--full`: 1,000,000) of one table: `stores backup
//!   postgres://…?table=t file:///…` vs `pg_dump -Fc -t t`, and `stores restore` vs `pg_restore`
//!   into a new database;
//! - `sync-memory`, no server: `stores sync --delete` of a SQLite table of 100,000 rows
//!   (`--full`: 1,000,000) into one that differs, spilling past `--in-memory-keys` (the
//!   default) vs every key in memory; the target is ours' peak RSS (and within 2x the time).
//!
//! Every contender is a separate process timed from spawn to exit (what a user waits for) and run
//! under GNU time (`/usr/bin/time -f %M`), which waits for it with wait4 and reports its peak
//! resident set (`ru_maxrss`; server-side memory is not counted for anyone). Each contender runs
//! once at full size to warm the server (not counted), then `--rounds` (default 3) rounds run
//! every contender once, the order rotated each round. Each comparison prints
//! `bench <name>: ours <median> [min–max] vs <baseline> <median> [min–max] = <ratio>x`, the
//! ratio being the baseline's median time over ours (above 1: ours is faster), then the target
//! (at least 2x dynamodump and elasticdump; within 1.5x of pg_dump and pg_restore) and the peak
//! RSS of both sides (ours' target: at most 128 MiB).
//!
//! Every backup of ours is checked against its source with `stores check SRC ARCHIVE`, and every
//! restore of ours with `stores check SRC DST` (exit 0), so a fast but wrong run fails the
//! benchmark instead of counting; the baselines' restores are checked the same way once (their
//! warm-up run), and reported if they differ. The baselines are pinned and installed under the
//! user's cache directory (`~/.cache/stores-bench`): dynamodump from PyPI into a virtualenv,
//! elasticdump from npm. Everything created (tables, indexes, databases, files) is removed.

#[path = "sync_bench/harness.rs"]
mod harness;
#[path = "sync_bench/memory.rs"]
mod memory;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use futures::StreamExt;
use harness::{Cmd, Contender, Target, Verdict, compare, run_rounds};
use store_core::document::{BatchWriteOptions, WriteOp};
use store_core::search::{BulkOp, IndexSpec, SearchQuery};
use store_core::testkit::bench::ServerProcess;
use store_core::{Document, DocumentStore, KeySchema, KeyType, Number, SearchIndex, Value};
use store_dynamo::sdk::config::{BehaviorVersion, Credentials, Region};
use store_dynamo::{TableAdmin, TableDefinition};
use store_search::{BulkOptions, OpenSearchIndex};

const WORDS: [&str; 26] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
    "uniform", "victor", "whiskey", "xray", "yankee", "zulu",
];

/// Runs numbered below this are the warm-up runs (one per contender, four per service).
const WARM_UP_RUNS: usize = 4;

/// Seconds every dynamodump 1.11.1 backup sleeps before it starts (25 threads started 1 s apart).
const DYNAMODUMP_START_SLEEP: f64 = 25.0;

/// The PostgreSQL table's name in every database this benchmark creates.
const PG_TABLE: &str = "bench_rows";

/// Command-line options.
struct Options {
    full: bool,
    rounds: usize,
    only: Vec<String>,
    /// Whether `--only` named the services (a named one that is not up is an error; an unnamed
    /// dynalite that is not up is skipped with a note).
    only_given: bool,
    /// Sizes given with `--sizes D,O,P` (for trying the program out quickly; P also sizes
    /// sync-memory).
    sizes: Option<[usize; 3]>,
}

fn options() -> Result<Options> {
    let mut options = Options {
        full: false,
        rounds: 3,
        only: vec![
            "dynamodb".into(),
            "dynamodb-dynalite".into(),
            "opensearch".into(),
            "postgres".into(),
            "sync-memory".into(),
        ],
        only_given: false,
        sizes: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--full" => options.full = true,
            "--rounds" => {
                options.rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n >= 1)
                    .context("--rounds takes a number >= 1")?;
            }
            "--only" => {
                options.only_given = true;
                options.only = args
                    .next()
                    .context("--only takes a list: dynamodb,dynamodb-dynalite,opensearch,postgres,sync-memory")?
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .collect();
            }
            "--sizes" => {
                let list: Vec<usize> = args
                    .next()
                    .context("--sizes takes DYNAMODB,OPENSEARCH,POSTGRES counts")?
                    .split(',')
                    .map(|s| s.trim().parse())
                    .collect::<Result<_, _>>()
                    .context("--sizes takes three numbers")?;
                options.sizes = Some(
                    list.try_into()
                        .map_err(|_| anyhow::anyhow!("--sizes takes three numbers"))?,
                );
            }
            "-h" | "--help" => {
                println!(
                    "sync_bench [--full] [--rounds N] \
                     [--only dynamodb,dynamodb-dynalite,opensearch,postgres,sync-memory] [--sizes D,O,P]\n\
                     Runs the release `stores` binary (next to this example in target/release, or \
                     STORES_BIN) against dynamodump, elasticdump and pg_dump/pg_restore."
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}` (see --help)"),
        }
    }
    Ok(options)
}

/// What every service's benchmark shares.
struct Ctx {
    stores: PathBuf,
    /// Environment handed to every child: the harness's services.env (the process's own values
    /// win) and `AWS_ENDPOINT_URL` for DynamoDB on moto.
    env: Vec<(String, String)>,
    vars: BTreeMap<String, String>,
    /// Scratch space for archives and dumps, removed at the end.
    work: PathBuf,
    pid: u32,
    pg_bin: PathBuf,
    rounds: usize,
    rt: tokio::runtime::Runtime,
    /// The harness's state directory (`.services`), where the servers' pid files are.
    services: PathBuf,
    /// The server of the service being measured, whose CPU time each run reports.
    server: Cell<Option<ServerProcess>>,
    /// Environment set on every `stores` child after `env`: the endpoint of the DynamoDB
    /// server being measured.
    overrides: RefCell<Vec<(String, String)>>,
}

impl Ctx {
    /// Makes the server whose pid file is `pid_file` (under `.services`) the one each run
    /// reports the CPU time of, and says which it is.
    fn server_is(&self, pid_file: &str) {
        let server = ServerProcess::from_pid_file(&self.services.join(pid_file));
        match server {
            Some(_) => println!("bench note: server CPU is read from the process of {pid_file}"),
            None => println!("bench note: no running process in {pid_file}: no server CPU figures"),
        }
        self.server.set(server);
    }

    fn var(&self, name: &str) -> Result<&str> {
        self.vars.get(name).map(String::as_str).with_context(|| {
            format!(
                "{name} is not set: start the services (integration-tests/services/up.sh) or \
                 source .services/services.env"
            )
        })
    }

    /// `program` with the services' environment, reporting the measured server's CPU time
    /// when it is timed.
    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Cmd {
        Cmd::new(program).envs(&self.env).server(self.server.get())
    }

    fn stores(&self) -> Cmd {
        self.cmd(&self.stores).envs(&self.overrides.borrow())
    }

    /// `stores check A B` must exit 0 (equal). When it does not, it is run once more, so the
    /// error says whether the difference stays (a wrong copy) or goes (an inconsistent read).
    fn check(&self, a: &str, b: &str) -> Result<()> {
        let Err(first) = self.check_once(a, b) else {
            return Ok(());
        };
        match self.check_once(a, b) {
            Ok(()) => bail!("{first:#}; a second check found them equal"),
            Err(second) => bail!("{first:#}; a second check: {second:#}"),
        }
    }

    fn check_once(&self, a: &str, b: &str) -> Result<()> {
        let output = self.stores().args(["--json", "check", a, b]).output()?;
        if output.status.success() {
            return Ok(());
        }
        let summary = String::from_utf8_lossy(&output.stdout)
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok());
        match summary {
            Some(s) if s["event"] == "summary" => {
                let side = |k: &str| {
                    let sample: String = s[k]["sample"].to_string().chars().take(200).collect();
                    format!("{k} {} {sample}", s[k]["count"])
                };
                bail!(
                    "`stores check {a} {b}` found differences: counts {} vs {}; {}; {}; {}",
                    s["left"]["count"],
                    s["right"]["count"],
                    side("only_left"),
                    side("only_right"),
                    side("differing")
                )
            }
            _ => bail!(
                "`stores check {a} {b}` exited {}: {}",
                output.status,
                harness::tail(&output)
            ),
        }
    }

    /// A fresh scratch directory for one run.
    fn scratch(&self, name: &str) -> Result<PathBuf> {
        let dir = self.work.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    fn pg(&self, tool: &str) -> Cmd {
        self.cmd(self.pg_bin.join(tool))
    }
}

fn file_url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

/// `services.env` lines `export K=V`, with the process's own environment taking precedence.
fn service_vars(root: &Path) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    if let Ok(text) = std::fs::read_to_string(root.join(".services/services.env")) {
        for line in text.lines() {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            if line.starts_with('#') {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                vars.insert(k.trim().to_owned(), v.trim().trim_matches('"').to_owned());
            }
        }
    }
    for key in vars.keys().cloned().collect::<Vec<_>>() {
        if let Ok(value) = std::env::var(&key) {
            vars.insert(key, value);
        }
    }
    for key in [
        "STORES_POSTGRES_URL",
        "STORES_DYNAMODB_ENDPOINT",
        "STORES_DYNALITE_ENDPOINT",
        "STORES_OPENSEARCH_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    ] {
        if let Ok(value) = std::env::var(key) {
            vars.insert(key.to_owned(), value);
        }
    }
    vars
}

/// The newest PostgreSQL client tools: PG_BIN, else /usr/lib/postgresql/<newest>/bin, else PATH.
fn pg_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .max();
    match newest {
        Some(v) => PathBuf::from(format!("/usr/lib/postgresql/{v}/bin")),
        None => PathBuf::new(),
    }
}

/// The release `stores` next to this example (target/release/examples/ → target/release/).
fn stores_bin() -> Result<PathBuf> {
    if let Ok(path) = std::env::var("STORES_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("stores"))
        .context("cannot locate target/release")?;
    if !path.exists() {
        bail!(
            "{} does not exist: build it first with `cargo build --release -p stores-cli` \
             (`just bench-sync` does), or point STORES_BIN at a release `stores`",
            path.display()
        );
    }
    Ok(path)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("sync_bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool> {
    let options = options()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut vars = service_vars(&root);
    if let Some(endpoint) = vars.get("STORES_DYNAMODB_ENDPOINT").cloned() {
        vars.entry("AWS_ENDPOINT_URL".to_owned())
            .or_insert(endpoint);
    }
    let env = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let pid = std::process::id();
    let work = std::env::temp_dir().join(format!("stores-sync-bench-{pid}"));
    std::fs::create_dir_all(&work)?;
    let ctx = Ctx {
        stores: stores_bin()?,
        env,
        vars,
        work: work.clone(),
        pid,
        pg_bin: pg_bin(),
        rounds: options.rounds,
        rt: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?,
        services: root.join(".services"),
        server: Cell::new(None),
        overrides: RefCell::new(Vec::new()),
    };
    if !Path::new(harness::GNU_TIME).exists() {
        bail!(
            "{} (GNU time) is needed to read each child's peak RSS: apt-get install time",
            harness::GNU_TIME
        );
    }
    let size = |which: usize, reduced: usize, full: usize| match options.sizes {
        Some(sizes) => sizes[which],
        None if options.full => full,
        None => reduced,
    };
    println!(
        "sync_bench: {} sizes; each contender warmed with one full-size run, then {} rounds \
         interleaved, order rotated; times are wall-clock per command (spawn to exit); \
         ratio = baseline median / ours median (above 1 = ours is faster); peak RSS = GNU time \
         %M (wait4 ru_maxrss of the child process and the children it waited for)",
        match (options.sizes, options.full) {
            (Some(_), _) => "custom (--sizes)",
            (None, true) => "full (issue)",
            (None, false) => "reduced (pass --full for the issue's)",
        },
        options.rounds
    );
    println!("sync_bench: machine: {}", machine());
    println!("sync_bench: stores: {}", ctx.stores.display());

    let mut verdicts = Vec::new();
    let mut ok = true;
    for service in &options.only {
        let result = match service.as_str() {
            "dynamodb" => DynamoServer::moto(&ctx)
                .and_then(|server| dynamodb(&ctx, &server, size(0, 1_000, 10_000))),
            "dynamodb-dynalite" => match DynamoServer::dynalite(&ctx) {
                Some(server) => dynamodb(&ctx, &server, size(0, 1_000, 10_000)),
                None if !options.only_given => {
                    println!(
                        "bench dynamodb-dynalite: skipped: dynalite is not up \
                         (integration-tests/services/up.sh dynalite)"
                    );
                    continue;
                }
                None => Err(anyhow::anyhow!(
                    "STORES_DYNALITE_ENDPOINT is not set: integration-tests/services/up.sh dynalite"
                )),
            },
            "opensearch" => opensearch(&ctx, size(1, 10_000, 100_000)),
            "postgres" => postgres(&ctx, size(2, 100_000, 1_000_000)),
            "sync-memory" => memory::sync_memory(&ctx, size(2, 100_000, 1_000_000)),
            other => Err(anyhow::anyhow!(
                "unknown service `{other}` (dynamodb, dynamodb-dynalite, opensearch, postgres, \
                 sync-memory)"
            )),
        };
        match result {
            Ok(found) => verdicts.extend(found),
            Err(e) => {
                ok = false;
                println!("bench {service}: FAILED: {e:#}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    if !verdicts.is_empty() {
        println!("summary:");
        for verdict in &verdicts {
            println!("  {}: {}", verdict.name, verdict.text);
        }
    }
    Ok(ok)
}

/// Cores, memory, kernel: what the figures were measured on.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or_else(String::new, |kib| {
            format!(", {:.1} GiB RAM", kib as f64 / 1024.0 / 1024.0)
        });
    format!("{cores} cores{mem}")
}

// ---------------------------------------------------------------------------------------------
// DynamoDB (moto): stores vs dynamodump
// ---------------------------------------------------------------------------------------------

/// A DynamoDB server of the harness: moto (what the tests use), or dynalite (a second one for
/// the benchmarks, which costs far less CPU a request).
struct DynamoServer {
    name: &'static str,
    endpoint: String,
    /// Under `.services`.
    pid_file: &'static str,
}

impl DynamoServer {
    fn moto(ctx: &Ctx) -> Result<Self> {
        Ok(Self {
            name: "moto",
            endpoint: ctx.var("STORES_DYNAMODB_ENDPOINT")?.to_owned(),
            pid_file: "moto/moto.pid",
        })
    }

    fn dynalite(ctx: &Ctx) -> Option<Self> {
        Some(Self {
            name: "dynalite",
            endpoint: ctx.vars.get("STORES_DYNALITE_ENDPOINT")?.clone(),
            pid_file: "dynalite/dynalite.pid",
        })
    }

    /// The comparison names' prefix: `dynamodb` on moto (as before there was a choice),
    /// `dynamodb_dynalite` on dynalite.
    fn bench_prefix(&self) -> String {
        match self.name {
            "moto" => "dynamodb".to_owned(),
            other => format!("dynamodb_{other}"),
        }
    }
}

fn dynamo_admin(ctx: &Ctx, endpoint: &str) -> Result<TableAdmin> {
    let config = store_dynamo::sdk::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(
            ctx.vars
                .get("AWS_REGION")
                .cloned()
                .unwrap_or_else(|| "us-east-1".into()),
        ))
        .credentials_provider(Credentials::new(
            ctx.var("AWS_ACCESS_KEY_ID")?.to_owned(),
            ctx.var("AWS_SECRET_ACCESS_KEY")?.to_owned(),
            None,
            None,
            "sync-bench",
        ))
        .build();
    Ok(TableAdmin::from_client(
        store_dynamo::sdk::Client::from_conf(config),
    ))
}

/// About 500 bytes: a composite key, numbers (one a decimal), a flag, a list, a map, text.
fn dynamo_item(i: usize) -> Document {
    let text: Vec<&str> = (0..40).map(|k| WORDS[(i * 7 + k * 3) % 26]).collect();
    Document::new()
        .with("pk", format!("customer#{:05}", i % 500))
        .with("sk", i as i64)
        .with("name", format!("Item number {i}"))
        .with("qty", (i % 1000) as i64)
        .with(
            "price",
            Number::from_str(&format!("{}.{:02}", i % 10_000, i % 100)).expect("a decimal"),
        )
        .with("active", i.is_multiple_of(3))
        .with(
            "tags",
            vec![
                Value::from(WORDS[i % 26]),
                Value::from(WORDS[(i / 26) % 26]),
            ],
        )
        .with(
            "attrs",
            Document::new()
                .with("color", WORDS[(i * 5) % 26])
                .with("size", (i % 50) as i64),
        )
        .with("text", text.join(" "))
}

fn dynamodb(ctx: &Ctx, server: &DynamoServer, n: usize) -> Result<Vec<Verdict>> {
    ctx.server_is(server.pid_file);
    println!(
        "bench {}: {n} items of about 500 bytes on {} ({})",
        server.bench_prefix(),
        server.name,
        server.endpoint
    );
    let admin = dynamo_admin(ctx, &server.endpoint)?;
    let src = format!("sync-bench-src-{}", ctx.pid);
    let tables = RefCell::new(vec![src.clone()]);
    *ctx.overrides.borrow_mut() = ["STORES_DYNAMODB_ENDPOINT", "AWS_ENDPOINT_URL"]
        .map(|k| (k.to_owned(), server.endpoint.clone()))
        .to_vec();
    let result = dynamodb_rounds(ctx, server, &admin, &src, n, &tables);
    ctx.overrides.borrow_mut().clear();
    for table in tables.borrow().iter() {
        let _ = ctx.rt.block_on(admin.delete(table));
    }
    result
}

fn dynamodb_rounds(
    ctx: &Ctx,
    server: &DynamoServer,
    admin: &TableAdmin,
    src: &str,
    n: usize,
    tables: &RefCell<Vec<String>>,
) -> Result<Vec<Verdict>> {
    // The data, once.
    ctx.rt.block_on(async {
        let schema = KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number);
        let store = admin
            .create(&TableDefinition::new(src, schema), Duration::from_secs(60))
            .await?;
        let ops: Vec<WriteOp> = (0..n).map(|i| WriteOp::Put(dynamo_item(i))).collect();
        let report = store
            .batch_write(
                ops,
                BatchWriteOptions {
                    concurrency: 8,
                    ..BatchWriteOptions::default()
                },
            )
            .await?;
        if !report.is_complete() {
            bail!(
                "loading the source table left {} items unwritten",
                report.failed.len()
            );
        }
        Ok(())
    })?;
    let src_url = format!("dynamodb://{src}");
    let endpoint = server.endpoint.as_str();
    let hostport = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest)
        .trim_end_matches('/');
    let (host, port) = hostport
        .split_once(':')
        .context("STORES_DYNAMODB_ENDPOINT needs host:port")?;
    let tool = harness::ensure_dynamodump();
    let dynamodump = |mode: &str| -> Result<Cmd> {
        let bin = tool.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        Ok(ctx.cmd(bin).args([
            "-m",
            mode,
            "-r",
            ctx.vars
                .get("AWS_REGION")
                .map_or("us-east-1", String::as_str),
            "--host",
            host,
            "--port",
            port,
            "--accessKey",
            ctx.var("AWS_ACCESS_KEY_ID")?,
            "--secretKey",
            ctx.var("AWS_SECRET_ACCESS_KEY")?,
            "--log",
            "WARNING",
        ]))
    };

    // The archives the restores read, made once (untimed).
    let archive = ctx.scratch("ddb-archive")?;
    ctx.stores()
        .args(["backup", &src_url, &file_url(&archive)])
        .run()?;
    let dump = ctx.scratch("ddb-dump")?;
    let dump_ready = dynamodump("backup").and_then(|cmd| {
        cmd.args(["-s", src, "--dumpPath"])
            .arg(&dump)
            .cwd(&dump)
            .run()?;
        moto_schema_fix(&dump.join(src).join("schema.json"))
    });

    let table_name = |who: &str, run: usize| format!("sync-bench-{who}-{}-{run}", ctx.pid);
    let drop_table = |name: &str| {
        let _ = ctx.rt.block_on(admin.delete(name));
    };
    let mut contenders = vec![
        Contender::ours("stores backup", |run| {
            let dir = ctx.scratch(&format!("ddb-ours-{run}"))?;
            let sample = ctx
                .stores()
                .args(["backup", &src_url, &file_url(&dir)])
                .timed(&ctx.work)?;
            ctx.check(&src_url, &file_url(&dir))?;
            let _ = std::fs::remove_dir_all(&dir);
            Ok(sample)
        }),
        Contender::baseline(
            format!("dynamodump {}", harness::DYNAMODUMP_VERSION),
            |run| {
                let dir = ctx.scratch(&format!("ddb-dd-{run}"))?;
                let sample = dynamodump("backup")?
                    .args(["-s", src, "--dumpPath"])
                    .arg(&dir)
                    .cwd(&dir)
                    .timed(&ctx.work)?;
                let items = dump_items(&dir.join(src).join("data"))?;
                if items != n {
                    bail!("dynamodump's dump holds {items} items, not {n}");
                }
                let _ = std::fs::remove_dir_all(&dir);
                Ok(sample)
            },
        ),
        Contender::ours("stores restore", |run| {
            let table = table_name("ours", run);
            tables.borrow_mut().push(table.clone());
            let dst = format!("dynamodb://{table}");
            let sample = ctx
                .stores()
                .args(["restore", &file_url(&archive), &dst])
                .timed(&ctx.work)?;
            ctx.check(&src_url, &dst)?;
            drop_table(&table);
            Ok(sample)
        }),
        Contender::baseline(
            format!("dynamodump {} restore", harness::DYNAMODUMP_VERSION),
            |run| {
                if let Err(e) = &dump_ready {
                    bail!("the dump to restore could not be made: {e:#}");
                }
                let table = table_name("dd", run);
                tables.borrow_mut().push(table.clone());
                let sample = dynamodump("restore")?
                    .args(["-s", src, "-d", &table, "--noConfirm", "--dumpPath"])
                    .arg(&dump)
                    .cwd(&dump)
                    .timed(&ctx.work)?;
                if run < WARM_UP_RUNS {
                    report_check(
                        ctx,
                        "dynamodump's restore",
                        &src_url,
                        &format!("dynamodb://{table}"),
                    );
                }
                drop_table(&table);
                Ok(sample)
            },
        ),
    ];
    run_rounds(&mut contenders, ctx.rounds)?;
    let prefix = server.bench_prefix();
    let backup = compare(
        &format!("{prefix}_backup_{n}"),
        &contenders[0],
        &contenders[1],
        Target::AtLeast(2.0),
    );
    if contenders[1].failed.is_none() {
        // dynamodump 1.11.1 reads `args.read_capacity` (the option is `readCapacity`), so every
        // backup falls into its multi-table path, which starts 25 worker threads one second
        // apart (MAX_NUMBER_BACKUP_WORKERS, THREAD_START_DELAY) before it scans anything.
        let (ours, _, _) = harness::stats(&contenders[0].samples);
        let (theirs, _, _) = harness::stats(&contenders[1].samples);
        let work = theirs - DYNAMODUMP_START_SLEEP;
        println!(
            "bench {prefix}_backup_{n}: note: {DYNAMODUMP_START_SLEEP:.0} s of dynamodump's time \
             is its fixed thread-start sleep; without it its median would be {work:.3}s = \
             {:.2}x ours (derived, not measured)",
            work / ours
        );
    }
    Ok(vec![
        backup,
        compare(
            &format!("{prefix}_restore_{n}"),
            &contenders[2],
            &contenders[3],
            Target::AtLeast(2.0),
        ),
    ])
}

/// moto's DescribeTable lists `LocalSecondaryIndexes: []` and `GlobalSecondaryIndexes: []`
/// (DynamoDB itself leaves empty ones out); dynamodump passes them back to CreateTable, which
/// moto refuses ("List of GlobalSecondaryIndexes is empty"). The dump the restores read is made
/// once, untimed, so its schema.json is given the shape DynamoDB would have written.
fn moto_schema_fix(path: &Path) -> Result<()> {
    let mut schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let mut removed = Vec::new();
    if let Some(table) = schema["Table"].as_object_mut() {
        for key in ["LocalSecondaryIndexes", "GlobalSecondaryIndexes"] {
            if table
                .get(key)
                .and_then(serde_json::Value::as_array)
                .is_some_and(Vec::is_empty)
            {
                table.remove(key);
                removed.push(key);
            }
        }
    }
    if !removed.is_empty() {
        println!(
            "bench note: removed the empty {} that moto lists from dynamodump's schema.json \
             (CreateTable on moto refuses them; DynamoDB omits them)",
            removed.join(" and ")
        );
        std::fs::write(path, serde_json::to_vec_pretty(&schema)?)?;
    }
    Ok(())
}

/// Items in dynamodump's data files (each a Scan response with `Count`).
fn dump_items(dir: &Path) -> Result<usize> {
    let mut items = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("no {}", dir.display()))? {
        let text = std::fs::read_to_string(entry?.path())?;
        let page: serde_json::Value = serde_json::from_str(&text)?;
        items += page["Items"].as_array().map_or(0, Vec::len);
    }
    Ok(items)
}

/// Compares a baseline's restore with the source and says so (a difference is reported, not
/// fatal: the comparison measures the baseline as it is).
fn report_check(ctx: &Ctx, what: &str, a: &str, b: &str) {
    match ctx.check(a, b) {
        Ok(()) => eprintln!("  {what}: `stores check` found it equal to the source"),
        Err(e) => println!("bench note: {what} differs from its source: {e:#}"),
    }
}

// ---------------------------------------------------------------------------------------------
// OpenSearch: stores vs elasticdump
// ---------------------------------------------------------------------------------------------

/// About 500 bytes of JSON (the same document as store-search's bulk benchmark).
fn search_doc(n: usize) -> Document {
    let body: Vec<&str> = (0..52).map(|i| WORDS[(n * 7 + i * 3) % 26]).collect();
    Document::new()
        .with("id", n as i64)
        .with("title", format!("Document number {n}"))
        .with("body", body.join(" "))
        .with(
            "tags",
            vec![
                Value::from(WORDS[n % 26]),
                Value::from(WORDS[(n / 26) % 26]),
            ],
        )
        .with(
            "price",
            Number::from_str(&format!("{}.{:02}", n / 4, (n % 4) * 25)).expect("a decimal"),
        )
        .with("in_stock", n.is_multiple_of(3))
        .with(
            "created",
            format!("2024-{:02}-{:02}T12:00:00Z", n % 12 + 1, n % 28 + 1),
        )
}

fn opensearch(ctx: &Ctx, n: usize) -> Result<Vec<Verdict>> {
    ctx.server_is("opensearch/node.pid");
    println!("bench opensearch: {n} documents of about 500 bytes");
    let url = ctx
        .var("STORES_OPENSEARCH_URL")?
        .trim_end_matches('/')
        .to_owned();
    let src = format!("sync-bench-src-{}", ctx.pid);
    let base = OpenSearchIndex::builder(&src).url(&url).build()?;
    let indexes = RefCell::new(vec![src.clone()]);
    let result = opensearch_rounds(ctx, &base, &url, n, &indexes);
    for name in indexes.borrow().iter() {
        if let Ok(index) = base.sibling(name) {
            let _ = ctx.rt.block_on(index.drop_index());
        }
    }
    result
}

fn opensearch_rounds(
    ctx: &Ctx,
    base: &OpenSearchIndex,
    url: &str,
    n: usize,
    indexes: &RefCell<Vec<String>>,
) -> Result<Vec<Verdict>> {
    ctx.rt.block_on(async {
        base.create(&IndexSpec::new().shards(1).replicas(0)).await?;
        let ops = futures::stream::iter(0..n).map(|i| BulkOp::Index {
            id: format!("d{i}"),
            doc: search_doc(i),
        });
        let report = base.bulk_stream(ops, &BulkOptions::default()).await?;
        if !report.is_complete() {
            bail!("loading the source index: {:?}", report.failed.first());
        }
        base.refresh().await?;
        Ok(())
    })?;
    let src = base.name().as_str().to_owned();
    let host = url.split_once("://").map_or(url, |(_, rest)| rest);
    let scheme = if url.starts_with("https://") {
        "opensearch+https"
    } else {
        "opensearch"
    };
    let loc = |index: &str| format!("{scheme}://{host}/{index}");
    let src_url = loc(&src);
    let tool = harness::ensure_elasticdump();
    let elasticdump = |input: &str, output: &str| -> Result<Cmd> {
        let bin = tool.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        // The same batch size as ours (1,000; elasticdump's default is 100).
        Ok(ctx.cmd(bin).args([
            format!("--input={input}"),
            format!("--output={output}"),
            "--type=data".to_owned(),
            "--limit=1000".to_owned(),
            "--quiet".to_owned(),
        ]))
    };

    let archive = ctx.scratch("os-archive")?;
    ctx.stores()
        .args(["backup", &src_url, &file_url(&archive)])
        .run()?;
    let dump_dir = ctx.scratch("os-dump")?;
    let dump = dump_dir.join("data.ndjson");
    let dump_ready =
        elasticdump(&format!("{url}/{src}"), &dump.display().to_string()).and_then(|cmd| cmd.run());

    let index_name = |who: &str, run: usize| format!("sync-bench-{who}-{}-{run}", ctx.pid);
    let drop_index = |name: &str| {
        if let Ok(index) = base.sibling(name) {
            let _ = ctx.rt.block_on(index.drop_index());
        }
    };
    let mut contenders = vec![
        Contender::ours("stores backup", |run| {
            let dir = ctx.scratch(&format!("os-ours-{run}"))?;
            let sample = ctx
                .stores()
                .args(["backup", &src_url, &file_url(&dir)])
                .timed(&ctx.work)?;
            ctx.check(&src_url, &file_url(&dir))?;
            let _ = std::fs::remove_dir_all(&dir);
            Ok(sample)
        }),
        Contender::baseline(
            format!("elasticdump {}", harness::ELASTICDUMP_VERSION),
            |run| {
                let dir = ctx.scratch(&format!("os-ed-{run}"))?;
                let file = dir.join("data.ndjson");
                let sample = elasticdump(&format!("{url}/{src}"), &file.display().to_string())?
                    .timed(&ctx.work)?;
                let lines = std::fs::read_to_string(&file)?.lines().count();
                if lines != n {
                    bail!("elasticdump wrote {lines} documents, not {n}");
                }
                let _ = std::fs::remove_dir_all(&dir);
                Ok(sample)
            },
        ),
        Contender::ours("stores restore", |run| {
            let index = index_name("ours", run);
            indexes.borrow_mut().push(index.clone());
            let dst = loc(&index);
            let sample = ctx
                .stores()
                .args(["restore", &file_url(&archive), &dst])
                .timed(&ctx.work)?;
            ctx.check(&src_url, &dst)?;
            drop_index(&index);
            Ok(sample)
        }),
        Contender::baseline(
            format!("elasticdump {} restore", harness::ELASTICDUMP_VERSION),
            |run| {
                if let Err(e) = &dump_ready {
                    bail!("the dump to restore could not be made: {e:#}");
                }
                let index = index_name("ed", run);
                indexes.borrow_mut().push(index.clone());
                let sample = elasticdump(&dump.display().to_string(), &format!("{url}/{index}"))?
                    .timed(&ctx.work)?;
                // elasticdump does not refresh; count what landed (untimed).
                let landed = ctx.rt.block_on(async {
                    let target = base.sibling(&index)?;
                    target.refresh().await?;
                    target.count(&SearchQuery::MatchAll).await
                })?;
                if landed as usize != n {
                    bail!("elasticdump restored {landed} documents, not {n}");
                }
                if run < WARM_UP_RUNS {
                    report_check(ctx, "elasticdump's restore", &src_url, &loc(&index));
                }
                drop_index(&index);
                Ok(sample)
            },
        ),
    ];
    run_rounds(&mut contenders, ctx.rounds)?;
    Ok(vec![
        compare(
            &format!("opensearch_backup_{n}"),
            &contenders[0],
            &contenders[1],
            Target::AtLeast(2.0),
        ),
        compare(
            &format!("opensearch_restore_{n}"),
            &contenders[2],
            &contenders[3],
            Target::AtLeast(2.0),
        ),
    ])
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: stores vs pg_dump -Fc / pg_restore
// ---------------------------------------------------------------------------------------------

/// The server URL with its database replaced by `db` (query kept).
fn with_database(url: &str, db: &str) -> Result<String> {
    let (scheme, rest) = url.split_once("://").context("a postgres:// URL")?;
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    Ok(match query {
        Some(q) => format!("{scheme}://{authority}/{db}?{q}"),
        None => format!("{scheme}://{authority}/{db}"),
    })
}

fn postgres(ctx: &Ctx, n: usize) -> Result<Vec<Verdict>> {
    ctx.server_is("postgres/postgres.pid");
    println!("bench postgres: {n} rows of one table (7 columns, about 120 bytes a row)");
    let server = ctx.var("STORES_POSTGRES_URL")?.to_owned();
    let admin_url = with_database(&server, "postgres")?;
    let src_db = format!("sync_bench_src_{}", ctx.pid);
    let databases = RefCell::new(vec![src_db.clone()]);
    let result = postgres_rounds(ctx, &server, &admin_url, &src_db, n, &databases);
    for db in databases.borrow().iter() {
        let _ = psql(
            ctx,
            &admin_url,
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        );
    }
    result
}

fn psql(ctx: &Ctx, url: &str, sql: &str) -> Result<String> {
    let output = ctx
        .pg("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql])
        .run()?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn postgres_rounds(
    ctx: &Ctx,
    server: &str,
    admin_url: &str,
    src_db: &str,
    n: usize,
    databases: &RefCell<Vec<String>>,
) -> Result<Vec<Verdict>> {
    psql(ctx, admin_url, &format!("CREATE DATABASE {src_db}"))?;
    let src_conn = with_database(server, src_db)?;
    psql(
        ctx,
        &src_conn,
        &format!(
            "CREATE TABLE {PG_TABLE} (
                id bigint PRIMARY KEY,
                name text NOT NULL,
                qty integer NOT NULL,
                price numeric(12,2) NOT NULL,
                active boolean NOT NULL,
                created timestamptz NOT NULL,
                note text NOT NULL
            );
            INSERT INTO {PG_TABLE}
            SELECT g, 'customer ' || g, g % 1000, ((g::bigint * 7919) % 1000000) / 100.0, g % 3 = 0,
                   timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
                   md5(g::text) || ' ' || md5((g + 1)::text)
            FROM generate_series(1, {n}) g;"
        ),
    )?;
    psql(ctx, &src_conn, &format!("VACUUM ANALYZE {PG_TABLE}"))?;
    let version = psql(ctx, &src_conn, "SHOW server_version")?;
    println!(
        "bench postgres: server {version}, client tools {}",
        ctx.pg_bin.display()
    );
    let src_url = format!("{src_conn}?table={PG_TABLE}");

    let archive = ctx.scratch("pg-archive")?;
    ctx.stores()
        .args(["backup", &src_url, &file_url(&archive)])
        .run()?;
    let dump_dir = ctx.scratch("pg-dump")?;
    let dump = dump_dir.join("table.dump");
    let pg_dump = |file: &Path| {
        ctx.pg("pg_dump")
            .args(["-Fc", "-t", PG_TABLE, "-f"])
            .arg(file)
            .arg(&src_conn)
    };
    pg_dump(&dump).run()?;

    let new_db = |who: &str, run: usize| -> Result<(String, String)> {
        let db = format!("sync_bench_{who}_{}_{run}", ctx.pid);
        databases.borrow_mut().push(db.clone());
        psql(ctx, admin_url, &format!("CREATE DATABASE {db}"))?;
        Ok((db.clone(), with_database(server, &db)?))
    };
    let drop_db = |db: &str| {
        let _ = psql(
            ctx,
            admin_url,
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        );
    };
    let mut contenders = vec![
        Contender::ours("stores backup", |run| {
            let dir = ctx.scratch(&format!("pg-ours-{run}"))?;
            let sample = ctx
                .stores()
                .args(["backup", &src_url, &file_url(&dir)])
                .timed(&ctx.work)?;
            ctx.check(&src_url, &file_url(&dir))?;
            let _ = std::fs::remove_dir_all(&dir);
            Ok(sample)
        }),
        Contender::baseline("pg_dump -Fc", |run| {
            let dir = ctx.scratch(&format!("pg-dump-{run}"))?;
            let file = dir.join("table.dump");
            let sample = pg_dump(&file).timed(&ctx.work)?;
            if std::fs::metadata(&file)?.len() == 0 {
                bail!("pg_dump wrote an empty file");
            }
            let _ = std::fs::remove_dir_all(&dir);
            Ok(sample)
        }),
        Contender::ours("stores restore", |run| {
            let (db, conn) = new_db("ours", run)?;
            let dst = format!("{conn}?table={PG_TABLE}");
            let sample = ctx
                .stores()
                .args(["restore", &file_url(&archive), &dst])
                .timed(&ctx.work)?;
            ctx.check(&src_url, &dst)?;
            drop_db(&db);
            Ok(sample)
        }),
        Contender::baseline("pg_restore", |run| {
            let (db, conn) = new_db("pgr", run)?;
            let sample = ctx
                .pg("pg_restore")
                .args(["-d", &conn])
                .arg(&dump)
                .timed(&ctx.work)?;
            if run < WARM_UP_RUNS {
                report_check(
                    ctx,
                    "pg_restore's table",
                    &src_url,
                    &format!("{conn}?table={PG_TABLE}"),
                );
            }
            drop_db(&db);
            Ok(sample)
        }),
    ];
    run_rounds(&mut contenders, ctx.rounds)?;
    Ok(vec![
        compare(
            &format!("postgres_backup_{n}"),
            &contenders[0],
            &contenders[1],
            Target::Within(1.5),
        ),
        compare(
            &format!("postgres_restore_{n}"),
            &contenders[2],
            &contenders[3],
            Target::Within(1.5),
        ),
    ])
}
