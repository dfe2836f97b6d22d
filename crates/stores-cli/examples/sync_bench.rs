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

#[path = "sync_bench/dynamodb.rs"]
mod dynamodb;
#[path = "sync_bench/harness.rs"]
mod harness;
#[path = "sync_bench/memory.rs"]
mod memory;
#[path = "sync_bench/opensearch.rs"]
mod opensearch;
#[path = "sync_bench/postgres.rs"]
mod postgres;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use dynamodb::DynamoServer;
use harness::{Cmd, Sample};
use store_core::testkit::bench::ServerProcess;

const WORDS: [&str; 26] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
    "uniform", "victor", "whiskey", "xray", "yankee", "zulu",
];

/// Runs numbered below this are the warm-up runs (one per contender, four per service).
const WARM_UP_RUNS: usize = 4;

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

    /// One timed `stores backup SRC` into the fresh scratch folder `scratch`, checked equal
    /// to the source, then removed.
    fn timed_backup(&self, src_url: &str, scratch: &str) -> Result<Sample> {
        let dir = self.scratch(scratch)?;
        let sample = self
            .stores()
            .args(["backup", src_url, &file_url(&dir)])
            .timed(&self.work)?;
        self.check(src_url, &file_url(&dir))?;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(sample)
    }

    /// One timed `stores restore ARCHIVE DST`, checked equal to the source.
    fn timed_restore(&self, archive: &Path, dst: &str, src_url: &str) -> Result<Sample> {
        let sample = self
            .stores()
            .args(["restore", &file_url(archive), dst])
            .timed(&self.work)?;
        self.check(src_url, dst)?;
        Ok(sample)
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
                .and_then(|server| dynamodb::dynamodb(&ctx, &server, size(0, 1_000, 10_000))),
            "dynamodb-dynalite" => match DynamoServer::dynalite(&ctx) {
                Some(server) => dynamodb::dynamodb(&ctx, &server, size(0, 1_000, 10_000)),
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
            "opensearch" => opensearch::opensearch(&ctx, size(1, 10_000, 100_000)),
            "postgres" => postgres::postgres(&ctx, size(2, 100_000, 1_000_000)),
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
