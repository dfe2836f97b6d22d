//! The follower's lag benchmark (issue 15), against the harness's PostgreSQL and OpenSearch:
//!
//! ```text
//! cargo build --release -p stores-cli            # the `stores` binary this program runs
//! cargo run --release -p stores-cli --example follow_bench -- [--full] [--rounds N] [--seconds S] [--stage-seconds S]
//! ```
//!
//! (`just bench-follow` does both.) Two contenders keep an OpenSearch index in step with a
//! PostgreSQL table while a writer changes it:
//!
//! - **ours**: `stores sync postgres://…?table=T opensearch://…/I --follow` (logical
//!   replication, batches, the checkpoint saved after each), a separate process;
//! - **naive**: what is often written by hand, here in this program: a row trigger that sends
//!   each changed row with `pg_notify`, and a `LISTEN` loop that indexes each notification into
//!   OpenSearch as it arrives.
//!
//! The writer upserts 10 rows every 10 ms (1,000 changes a second, over 5,000 distinct rows, with
//! PostgreSQL's default `synchronous_commit = on`) for 20 s (`--full`: 60 s; `--seconds S`
//! sets it);
//! each row carries a sequence number and its write time. A probe asks OpenSearch every 20 ms
//! for the highest sequence number visible (the index refreshes every 100 ms for both); a
//! change's lag is the first probe that sees it minus its write time. Each round runs both
//! contenders once, the order alternating; the report is the median over rounds of each run's
//! p50 and p99, with the spread:
//!
//! `bench follow_lag: ours p50 <ms> [min–max] p99 <ms> [min–max] vs naive p50 … p99 …`
//!
//! Then the sustained rate: both contenders at rising rates (1,000, 2,000, 4,000, … 64,000
//! changes a second, 8 s each (`--stage-seconds S` sets it), in 100 writes a second); a rate is sustained when the lag over
//! its last quarter stays under 2 s, and the rate reported is what the writer achieved (the
//! ramp also stops where the writer falls below 90% of its target; a contender's ramp ends at
//! the first rate it did not sustain).
//! `bench follow_rate: ours <max>/s vs naive <max>/s = <ratio>x` (above 1: ours sustains more;
//! "no ratio" when the naive loop kept up with none of the rates tried).
//! Everything created (tables, triggers, indexes, slots) is removed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, bail};
use futures::StreamExt;
use serde_json::{Value as Json, json};
use store_core::search::IndexOptions;
use store_core::{Document, RetryPolicy, SearchIndex, Value};
use store_rds::tokio_postgres::{self, Client, NoTls};
use store_rds::{ListenEvent, PgStore};
use store_search::OpenSearchIndex;

/// How often the probe looks at OpenSearch.
const PROBE: Duration = Duration::from_millis(20);
/// The index's refresh interval (for both contenders).
const REFRESH: &str = "100ms";
/// Write transactions a second; each upserts `rate / WRITES_PER_SECOND` rows (at least one).
const WRITES_PER_SECOND: u64 = 100;
/// Distinct rows the writer updates.
const ROWS: u64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contender {
    Ours,
    Naive,
}

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::Naive => "naive",
        }
    }
}

struct Settings {
    pg_url: String,
    search_url: String,
    stores: PathBuf,
    seconds: u64,
    rounds: usize,
    /// How long each rate of the sustained-rate ramp runs.
    stage_seconds: u64,
}

/// The number after `flag` among `args`, if the flag is there.
fn number_after<T: std::str::FromStr>(args: &[String], flag: &str) -> Result<Option<T>> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(|n| {
            n.parse()
                .ok()
                .with_context(|| format!("{flag} takes a number"))
        })
        .transpose()
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--full");
    let rounds = number_after(&args, "--rounds")?.unwrap_or(3);
    let seconds = number_after(&args, "--seconds")?.unwrap_or(if full { 60 } else { 20 });
    let stage_seconds = number_after(&args, "--stage-seconds")?.unwrap_or(8).max(1);
    let settings = Settings {
        pg_url: std::env::var("STORES_POSTGRES_URL")
            .context("STORES_POSTGRES_URL is not set: start the services (just up)")?,
        search_url: std::env::var("STORES_OPENSEARCH_URL")
            .context("STORES_OPENSEARCH_URL is not set: start the services (just up)")?,
        stores: stores_binary()?,
        seconds,
        rounds,
        stage_seconds,
    };

    let mut lags: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for round in 0..settings.rounds {
        let order = if round % 2 == 0 {
            [Contender::Ours, Contender::Naive]
        } else {
            [Contender::Naive, Contender::Ours]
        };
        for contender in order {
            let stages = run(&settings, contender, &[(1_000, settings.seconds)]).await?;
            let all: Vec<f64> = stages.into_iter().flat_map(|s| s.lags).collect();
            let (p50, p99) = (percentile(&all, 0.50), percentile(&all, 0.99));
            println!(
                "round {round} {}: {} writes of 10 changes seen, p50 {p50:.0} ms, p99 {p99:.0} ms",
                contender.name(),
                all.len()
            );
            lags.entry(contender.name()).or_default().push((p50, p99));
        }
    }
    let show = |name: &str| {
        let runs = &lags[name];
        let p50: Vec<f64> = runs.iter().map(|r| r.0).collect();
        let p99: Vec<f64> = runs.iter().map(|r| r.1).collect();
        format!("{name} p50 {} p99 {}", spread(&p50), spread(&p99))
    };
    println!(
        "bench follow_lag: {} vs {} (1,000 changes/s for {} s, {} rounds, probe every {} ms)",
        show("ours"),
        show("naive"),
        settings.seconds,
        settings.rounds,
        PROBE.as_millis()
    );

    let stages: Vec<(u64, u64)> = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000]
        .iter()
        .map(|&rate| (rate, settings.stage_seconds))
        .collect();
    let mut sustained = BTreeMap::new();
    for contender in [Contender::Naive, Contender::Ours] {
        let per_stage = run(&settings, contender, &stages).await?;
        let mut best = 0.0;
        let mut limit = "the ramp's top (it never fell behind)";
        for ((rate, _), stage) in stages.iter().zip(&per_stage) {
            println!(
                "{} at {rate}/s (the writer made {:.0}/s): last quarter's worst lag {:.0} ms",
                contender.name(),
                stage.achieved,
                stage.worst_tail_lag()
            );
            match stage.verdict(*rate) {
                Verdict::Behind => {
                    limit = "its lag grew past 2 s";
                    break;
                }
                Verdict::WriterLimited => {
                    best = stage.achieved;
                    limit = "the writer could go no faster";
                    break;
                }
                Verdict::Sustained => best = stage.achieved,
            }
        }
        println!("{}: sustained {best:.0}/s, until {limit}", contender.name());
        sustained.insert(contender.name(), best);
    }
    let (ours, naive) = (sustained["ours"], sustained["naive"]);
    // A baseline that kept up with no rate at all gives no ratio: the line says so.
    let ratio = if naive >= 1.0 {
        format!("{:.2}x", ours / naive)
    } else {
        "no ratio (naive kept up with none of the rates tried)".to_owned()
    };
    println!(
        "bench follow_rate: ours {ours:.0}/s vs naive {naive:.0}/s = {ratio} (sustained: last \
         quarter's lag under 2 s; {} s a rate)",
        settings.stage_seconds
    );
    Ok(())
}

/// The release `stores` binary next to this program.
fn stores_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the example's folder")?;
    let stores = dir.join("stores");
    if !stores.exists() {
        bail!(
            "{} is missing: cargo build --release -p stores-cli first",
            stores.display()
        );
    }
    Ok(stores)
}

/// What one stage measured.
struct Stage {
    /// Each write's lag in milliseconds, in write order.
    lags: Vec<f64>,
    /// The changes a second the writer actually made.
    achieved: f64,
}

/// How a stage of the ramp ended.
enum Verdict {
    /// The follower kept up (last quarter's lag under 2 s) with the writer at its rate.
    Sustained,
    /// The follower kept up, but the writer made under 90% of the rate: the ramp ends here.
    WriterLimited,
    /// The follower fell behind (or nothing was seen).
    Behind,
}

impl Stage {
    /// The worst lag over the stage's last quarter, in milliseconds.
    fn worst_tail_lag(&self) -> f64 {
        let tail = &self.lags[self.lags.len() * 3 / 4..];
        tail.iter().copied().fold(0.0, f64::max)
    }

    /// How the stage at `rate` changes a second ended.
    fn verdict(&self, rate: u64) -> Verdict {
        if self.lags.is_empty() || self.worst_tail_lag() > 2_000.0 {
            Verdict::Behind
        } else if self.achieved < rate as f64 * 0.9 {
            Verdict::WriterLimited
        } else {
            Verdict::Sustained
        }
    }
}

/// One contender through `stages` of (changes a second, seconds).
async fn run(
    settings: &Settings,
    contender: Contender,
    stages: &[(u64, u64)],
) -> Result<Vec<Stage>> {
    let name = format!(
        "follow_bench_{}_{}",
        contender.name(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)?
            .as_millis()
    );
    let client = connect(&settings.pg_url).await?;
    // Commits as PostgreSQL commits by default (the test harness turns this off for speed);
    // logical decoding sees a commit once its WAL is flushed, NOTIFY at commit either way.
    client.batch_execute("SET synchronous_commit = on").await?;
    client
        .batch_execute(&format!(
            "CREATE TABLE {name} (id bigint PRIMARY KEY, seq bigint NOT NULL, \
             written_us bigint NOT NULL, note text)"
        ))
        .await?;
    let index = OpenSearchIndex::builder(&name)
        .url(&settings.search_url)
        .build()?;
    index
        .create_raw(&json!({
            "settings": {"index": {"refresh_interval": REFRESH, "number_of_replicas": 0}},
            "mappings": {"properties": {"seq": {"type": "long"}}}
        }))
        .await?;
    let dir = tempfile::tempdir()?;
    let follower = match contender {
        Contender::Ours => Follower::Process(start_ours(settings, &name, dir.path())?),
        Contender::Naive => Follower::Task(start_naive(settings, &client, &index, &name).await?),
    };
    // Warm: one change through before measuring.
    write(&client, &name, 0, 1).await?;
    wait_for(&index, 0, Duration::from_secs(60)).await?;

    let written = Arc::new(std::sync::Mutex::new(Vec::<(u64, Instant)>::new()));
    let mut lags = Vec::new();
    let mut seq = 1u64;
    for &(rate, seconds) in stages {
        let first = seq;
        let total = rate * seconds;
        let probe = Probe::start(index.clone(), first);
        let start = Instant::now();
        let per_write = (rate / WRITES_PER_SECOND).max(1);
        let mut writes = 0u64;
        while writes * per_write < total {
            let due = start + Duration::from_secs_f64((writes * per_write) as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
            let at = Instant::now();
            write(&client, &name, seq, per_write).await?;
            written
                .lock()
                .expect("lock")
                .push((seq + per_write - 1, at));
            seq += per_write;
            writes += 1;
        }
        let achieved = total as f64 / start.elapsed().as_secs_f64();
        let seen = probe.finish(seq - 1, Duration::from_secs(30)).await;
        let times = written.lock().expect("lock").clone();
        lags.push(Stage {
            lags: stage_lags(&times, &seen, first),
            achieved,
        });
        written.lock().expect("lock").clear();
        // A ramp stops at the first rate the follower did not sustain: the higher ones would
        // only pile up a backlog to wait for.
        let ended =
            stages.len() > 1 && !matches!(lags[lags.len() - 1].verdict(rate), Verdict::Sustained);
        if ended {
            break;
        }
    }

    match follower {
        Follower::Process(mut child) => {
            child.kill()?;
            child.wait()?;
            let cleanup = Command::new(&settings.stores)
                .args([
                    "sync",
                    &pg_location(settings, &name),
                    &search_location(settings, &name),
                ])
                .args(["--follow", "--cleanup", "--checkpoint"])
                .arg(dir.path().join("follow.json"))
                .output()?;
            if !cleanup.status.success() {
                bail!(
                    "cleanup failed: {}",
                    String::from_utf8_lossy(&cleanup.stderr)
                );
            }
        }
        Follower::Task(stop) => stop.store(true, Ordering::SeqCst),
    }
    client.batch_execute(&format!("DROP TABLE {name}")).await?;
    index.drop_index().await?;
    Ok(lags)
}

enum Follower {
    Process(Child),
    Task(Arc<AtomicBool>),
}

async fn connect(url: &str) -> Result<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

fn pg_location(settings: &Settings, table: &str) -> String {
    let sep = if settings.pg_url.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{sep}table={table}", settings.pg_url)
}

fn search_location(settings: &Settings, index: &str) -> String {
    let host = settings
        .search_url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    format!("opensearch://{host}/{index}")
}

fn start_ours(settings: &Settings, name: &str, dir: &Path) -> Result<Child> {
    Ok(Command::new(&settings.stores)
        .args([
            "sync",
            &pg_location(settings, name),
            &search_location(settings, name),
        ])
        .args([
            "--follow",
            "--poll-interval",
            "0.02",
            "--batch-size",
            "5000",
            "--checkpoint",
        ])
        .arg(dir.join("follow.json"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?)
}

/// The naive contender: a trigger that sends each row with `pg_notify`, and a loop that
/// indexes each notification as it arrives. Returns the flag that stops the loop.
async fn start_naive(
    settings: &Settings,
    client: &Client,
    index: &OpenSearchIndex,
    table: &str,
) -> Result<Arc<AtomicBool>> {
    client
        .batch_execute(&format!(
            "CREATE FUNCTION {table}_notify() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN PERFORM pg_notify('{table}', row_to_json(NEW)::text); RETURN NEW; END $$; \
             CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE ON {table} \
             FOR EACH ROW EXECUTE FUNCTION {table}_notify()"
        ))
        .await?;
    let store = PgStore::from_url(&settings.pg_url)?;
    let mut listener = store.listen(&[table], RetryPolicy::default()).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let index = index.clone();
    let flag = stop.clone();
    tokio::spawn(async move {
        while !flag.load(Ordering::SeqCst) {
            let Ok(Some(event)) =
                tokio::time::timeout(Duration::from_millis(100), listener.next()).await
            else {
                continue;
            };
            let Ok(ListenEvent::Notification(note)) = event else {
                continue;
            };
            let Ok(row) = serde_json::from_str::<Json>(&note.payload) else {
                continue;
            };
            let id = row["id"].to_string();
            let doc = match store_core::from_json(row) {
                Ok(Value::Map(doc)) => doc,
                _ => Document::new(),
            };
            let _ = index.index(&id, doc, IndexOptions::default()).await;
        }
    });
    Ok(stop)
}

/// Upserts `count` rows with sequence numbers from `seq`.
async fn write(client: &Client, table: &str, seq: u64, count: u64) -> Result<()> {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)?
        .as_micros();
    let values: Vec<String> = (seq..seq + count)
        .map(|s| format!("({}, {s}, {now}, 'change {s}')", s % ROWS))
        .collect();
    client
        .batch_execute(&format!(
            "INSERT INTO {table} VALUES {} ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, \
             written_us = EXCLUDED.written_us, note = EXCLUDED.note",
            values.join(", ")
        ))
        .await?;
    Ok(())
}

/// The highest sequence number visible in the index.
async fn max_seq(index: &OpenSearchIndex) -> Option<u64> {
    use store_search::sdk::SearchParts;
    let name = index.name().to_string();
    let response = index
        .client()
        .search(SearchParts::Index(&[&name]))
        .body(json!({"size": 0, "aggs": {"m": {"max": {"field": "seq"}}}}))
        .send()
        .await
        .ok()?;
    let body: Json = response.json().await.ok()?;
    body["aggregations"]["m"]["value"]
        .as_f64()
        .map(|v| v as u64)
}

async fn wait_for(index: &OpenSearchIndex, seq: u64, limit: Duration) -> Result<()> {
    let start = Instant::now();
    while max_seq(index).await.is_none_or(|m| m < seq) {
        if start.elapsed() > limit {
            bail!("change {seq} never reached the index");
        }
        tokio::time::sleep(PROBE).await;
    }
    Ok(())
}

/// Polls the index's highest sequence number; records when each new maximum was first seen.
struct Probe {
    seen: Arc<std::sync::Mutex<Vec<(u64, Instant)>>>,
    stop: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Probe {
    fn start(index: OpenSearchIndex, from: u64) -> Self {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicU64::new(u64::MAX));
        let (log, until) = (seen.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut last = from.saturating_sub(1);
            loop {
                if let Some(m) = max_seq(&index).await
                    && m > last
                {
                    last = m;
                    log.lock().expect("lock").push((m, Instant::now()));
                }
                if last >= until.load(Ordering::SeqCst) {
                    return;
                }
                tokio::time::sleep(PROBE).await;
            }
        });
        Self { seen, stop, task }
    }

    /// Waits until `last` is seen (or `limit` passes) and returns the sightings.
    async fn finish(self, last: u64, limit: Duration) -> Vec<(u64, Instant)> {
        self.stop.store(last, Ordering::SeqCst);
        let _ = tokio::time::timeout(limit, self.task).await;
        self.seen.lock().expect("lock").clone()
    }
}

/// Each write's lag in milliseconds: the first sighting of a maximum at or past its last
/// sequence number, minus its write time. Writes never seen are left out (and show as a short
/// list).
fn stage_lags(written: &[(u64, Instant)], seen: &[(u64, Instant)], first: u64) -> Vec<f64> {
    written
        .iter()
        .filter(|(seq, _)| *seq >= first)
        .filter_map(|(seq, at)| {
            let (_, when) = seen.iter().find(|(m, _)| m >= seq)?;
            Some(when.saturating_duration_since(*at).as_secs_f64() * 1_000.0)
        })
        .collect()
}

fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// `<median> [min–max]` in milliseconds.
fn spread(values: &[f64]) -> String {
    let median = percentile(values, 0.5);
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{median:.0} ms [{min:.0}–{max:.0}]")
}
