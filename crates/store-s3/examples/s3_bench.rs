//! Benchmark of store-s3 against a local S3 server, with baselines measured in the same run.
//!
//! ```text
//! cargo run --release -p store-s3 --example s3_bench -- [--size-mib 1024] [--small-ops 2000]
//!     [--concurrency 4] [--part-mib 8]
//! ```
//!
//! - upload then download of a file (1 GiB by default) through `upload_file` /
//!   `download_file` of an `S3Store`, against boto3's `upload_file` / `download_file` with the default
//!   `TransferConfig` (`bench/boto3_baseline.py`, run from `.services/venv-bench`, which is
//!   created with boto3 on first use; `BENCH_PYTHON` names another interpreter);
//! - small puts and gets through the store against the raw `aws_sdk_s3::Client` calls;
//! - the peak RSS above the process's baseline during the large transfer.
//!
//! The endpoint and credentials come from the environment (`STORES_S3_ENDPOINT` or
//! `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`), else from
//! the harness's `.services/services.env`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use store_core::object::{GetOptions, PutOptions};
use store_core::{ObjectKey, ObjectStore};
use store_s3::S3Store;
use store_s3::sdk::primitives::ByteStream;

const MIB: u64 = 1024 * 1024;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Settings from the environment, else from `.services/services.env`.
fn settings() -> HashMap<String, String> {
    let mut out = HashMap::new();
    if let Ok(text) = std::fs::read_to_string(repo_root().join(".services/services.env")) {
        for line in text.lines().map(str::trim) {
            let line = line.strip_prefix("export ").unwrap_or(line);
            if line.starts_with('#') {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                out.insert(k.trim().to_owned(), v.trim().trim_matches('"').to_owned());
            }
        }
    }
    for name in [
        "STORES_S3_ENDPOINT",
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    ] {
        if let Ok(v) = std::env::var(name) {
            out.insert(name.to_owned(), v);
        }
    }
    out
}

/// Samples the resident set size every 5 ms and keeps the peak.
struct RssSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

impl RssSampler {
    fn start() -> Self {
        let peak = Arc::new(AtomicU64::new(rss_bytes()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Self { peak, stop }
    }

    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.peak.load(Ordering::Relaxed).max(rss_bytes())
    }
}

fn write_source(path: &Path, size: u64) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut block = vec![0u8; MIB as usize];
    for _ in 0..size / MIB {
        for chunk in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        file.write_all(&block)?;
    }
    file.flush()?;
    // Written back before any timing starts, so no transfer competes with the writeback.
    file.get_ref().sync_all()
}

fn same_files(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (mut fa, mut fb) = (std::fs::File::open(a)?, std::fs::File::open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 4 * MIB as usize], vec![0u8; 4 * MIB as usize]);
    loop {
        let na = read_full(&mut fa, &mut ba)?;
        let nb = read_full(&mut fb, &mut bb)?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The Python interpreter for the boto3 baseline, creating `.services/venv-bench` if needed.
fn python() -> Result<PathBuf, BoxError> {
    if let Ok(p) = std::env::var("BENCH_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let venv = repo_root().join(".services/venv-bench");
    let python = venv.join("bin/python");
    if !python.exists() {
        eprintln!("creating {} with boto3 for the baseline...", venv.display());
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()?
            .success()
            && Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "boto3"])
                .status()?
                .success();
        if !ok {
            return Err("could not create the benchmark virtualenv with boto3".into());
        }
    }
    Ok(python)
}

fn ratio_line(name: &str, ours: f64, baseline_name: &str, baseline: f64, unit: &str, ratio: f64) {
    println!(
        "bench {name}: ours {ours:.2} {unit} vs {baseline_name} {baseline:.2} {unit} = {ratio:.3}x"
    );
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .or_else(|| {
            let var =
                format!("BENCH_{}", name.trim_start_matches("--").replace('-', "_")).to_uppercase();
            std::env::var(var).ok().and_then(|v| v.parse().ok())
        })
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let size_mib = arg("--size-mib", 1024);
    let small_ops = arg("--small-ops", 2000) as usize;
    let defaults = store_s3::TransferConfig::default();
    let transfer = store_s3::TransferConfig {
        concurrency: arg("--concurrency", defaults.concurrency as u64) as usize,
        part_size: arg("--part-mib", defaults.part_size / MIB) * MIB,
        ..defaults
    };
    let settings = settings();
    let endpoint = settings
        .get("STORES_S3_ENDPOINT")
        .or_else(|| settings.get("AWS_ENDPOINT_URL"))
        .cloned()
        .ok_or(
            "no S3 endpoint: start one with `just services-up moto` or set STORES_S3_ENDPOINT",
        )?;
    let region = settings
        .get("AWS_REGION")
        .cloned()
        .unwrap_or_else(|| "us-east-1".into());
    let access = settings
        .get("AWS_ACCESS_KEY_ID")
        .cloned()
        .unwrap_or_else(|| "test".into());
    let secret = settings
        .get("AWS_SECRET_ACCESS_KEY")
        .cloned()
        .unwrap_or_else(|| "test".into());
    let bucket = format!(
        "bench-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
            % 1_000_000
    );
    let store = S3Store::builder(&bucket)
        .endpoint(&endpoint)
        .region(&region)
        .force_path_style(true)
        .static_credentials(&access, &secret)
        .transfer(transfer)
        .build()
        .await?;
    store.create_bucket().await?;
    let outcome = run(&store, &settings, &endpoint, size_mib, small_ops).await;
    store.empty_and_delete_bucket().await?;
    outcome
}

async fn run(
    store: &S3Store,
    settings: &HashMap<String, String>,
    endpoint: &str,
    size_mib: u64,
    small_ops: usize,
) -> Result<(), BoxError> {
    let dir = std::env::temp_dir().join(format!("store-s3-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let source = dir.join(format!("source-{size_mib}MiB.bin"));
    let size = size_mib * MIB;
    write_source(&source, size)?;
    let result = async {
        // Large transfer: ours.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let baseline_rss = rss_bytes();
        let sampler = RssSampler::start();
        let key = ObjectKey::new(format!("bench/ours-{size_mib}MiB.bin"))?;
        let started = Instant::now();
        store.upload_file(&source, &key, PutOptions::new()).await?;
        let upload_s = started.elapsed().as_secs_f64();
        let target = dir.join("ours-download.bin");
        let started = Instant::now();
        store.download_file(&key, &target).await?;
        let download_s = started.elapsed().as_secs_f64();
        let peak = sampler.finish();
        if !same_files(&source, &target)? {
            return Err::<(), BoxError>("the downloaded file differs from the source".into());
        }
        std::fs::remove_file(&target)?;
        store.delete(&key).await?;

        // Large transfer: boto3.
        let python = python()?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/boto3_baseline.py");
        let mut command = Command::new(&python);
        command
            .arg(&script)
            .arg(endpoint)
            .arg(store.bucket())
            .arg(&source)
            .arg(dir.join("boto3-download.bin"));
        for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"] {
            if let Some(v) = settings.get(name) {
                command.env(name, v);
            }
        }
        let output = command.output()?;
        if !output.status.success() {
            return Err(format!(
                "the boto3 baseline failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let field = |name: &str| -> Result<f64, BoxError> {
            let at = text
                .find(&format!("\"{name}\": "))
                .ok_or("unexpected baseline output")?;
            let rest = &text[at + name.len() + 4..];
            let end = rest.find([',', '}']).ok_or("unexpected baseline output")?;
            Ok(rest[..end].trim().parse()?)
        };
        let (boto_up, boto_down) = (field("upload_s")?, field("download_s")?);
        let mib = size as f64 / MIB as f64;
        ratio_line(
            &format!("upload_{size_mib}MiB"),
            mib / upload_s,
            "boto3 upload_file",
            mib / boto_up,
            "MiB/s",
            boto_up / upload_s,
        );
        ratio_line(
            &format!("download_{size_mib}MiB"),
            mib / download_s,
            "boto3 download_file",
            mib / boto_down,
            "MiB/s",
            boto_down / download_s,
        );
        let above = peak.saturating_sub(baseline_rss) as f64 / MIB as f64;
        println!(
            "bench peak_rss_{size_mib}MiB_transfer: ours +{above:.1} MiB above the baseline of {:.1} MiB (target <= 64 MiB): {}",
            baseline_rss as f64 / MIB as f64,
            if above <= 64.0 { "met" } else { "NOT met" }
        );

        // Small operations: the store against the raw client, alternating rounds.
        small(store, small_ops).await?;
        Ok(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn small(store: &S3Store, ops: usize) -> Result<(), BoxError> {
    let client = store.client().clone();
    let bucket = store.bucket().to_owned();
    let body = Bytes::from(vec![7u8; 1024]);
    let keys: Vec<ObjectKey> = (0..ops)
        .map(|i| ObjectKey::new(format!("small/{i:05}")))
        .collect::<Result<_, _>>()?;
    let (mut ours_put, mut raw_put, mut ours_get, mut raw_get) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // Warm up connections and code paths.
    for k in keys.iter().take(50) {
        store.put(k, body.clone(), PutOptions::new()).await?;
        store.get(k, GetOptions::new()).await?.bytes().await?;
    }
    let rounds = 3;
    let per_round = ops / rounds;
    for round in 0..rounds {
        let slice = &keys[round * per_round..(round + 1) * per_round];
        let started = Instant::now();
        for k in slice {
            client
                .put_object()
                .bucket(&bucket)
                .key(k.as_str())
                .body(ByteStream::from(body.clone()))
                .send()
                .await?;
        }
        raw_put.push(started.elapsed().as_secs_f64() / slice.len() as f64);
        let started = Instant::now();
        for k in slice {
            store.put(k, body.clone(), PutOptions::new()).await?;
        }
        ours_put.push(started.elapsed().as_secs_f64() / slice.len() as f64);
        let started = Instant::now();
        for k in slice {
            let out = client
                .get_object()
                .bucket(&bucket)
                .key(k.as_str())
                .send()
                .await?;
            out.body.collect().await?;
        }
        raw_get.push(started.elapsed().as_secs_f64() / slice.len() as f64);
        let started = Instant::now();
        for k in slice {
            store.get(k, GetOptions::new()).await?.bytes().await?;
        }
        ours_get.push(started.elapsed().as_secs_f64() / slice.len() as f64);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2] * 1000.0
    };
    let (op, rp) = (median(&mut ours_put), median(&mut raw_put));
    let (og, rg) = (median(&mut ours_get), median(&mut raw_get));
    let n = per_round * rounds;
    ratio_line(
        &format!("small_put_1KiB_x{n}"),
        op,
        "raw aws-sdk-s3",
        rp,
        "ms/op",
        op / rp,
    );
    ratio_line(
        &format!("small_get_1KiB_x{n}"),
        og,
        "raw aws-sdk-s3",
        rg,
        "ms/op",
        og / rg,
    );
    Ok(())
}
