//! What the benchmark needs around the measurements: settings, the peak-RSS sampler, the
//! source file and its comparison, the baselines' interpreter.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::{BoxError, MIB};

/// The workspace's root directory.
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Settings from the environment, else from `.services/services.env`.
pub(crate) fn settings() -> HashMap<String, String> {
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
        "STORES_S3_VERIFYING_ENDPOINT",
        "STORES_S3_VERIFYING_ACCESS_KEY",
        "STORES_S3_VERIFYING_SECRET_KEY",
    ] {
        if let Ok(v) = std::env::var(name) {
            out.insert(name.to_owned(), v);
        }
    }
    out
}

/// Samples the resident set size every 5 ms and keeps the peak.
pub(crate) struct RssSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

pub(crate) fn rss_bytes() -> u64 {
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
    pub(crate) fn start() -> Self {
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

    pub(crate) fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.peak.load(Ordering::Relaxed).max(rss_bytes())
    }
}

pub(crate) fn write_source(path: &Path, size: u64) -> std::io::Result<()> {
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

pub(crate) fn same_files(a: &Path, b: &Path) -> std::io::Result<bool> {
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

/// The Python interpreter for the boto3 baseline: `BENCH_PYTHON`, else `.services/venv-bench`,
/// created if missing and given boto3 if it lacks it (other benchmarks share the virtualenv
/// with their own packages).
pub(crate) fn python() -> Result<PathBuf, BoxError> {
    if let Ok(p) = std::env::var("BENCH_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let venv = repo_root().join(".services/venv-bench");
    let python = venv.join("bin/python");
    let has_boto3 = |python: &Path| {
        Command::new(python)
            .args(["-c", "import boto3"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if has_boto3(&python) {
        return Ok(python);
    }
    eprintln!(
        "installing boto3 into {} for the baseline...",
        venv.display()
    );
    let created = python.exists()
        || Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()?
            .success();
    let installed = created
        && Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "boto3"])
            .status()?
            .success();
    if !installed || !has_boto3(&python) {
        return Err("could not install boto3 into the benchmark virtualenv".into());
    }
    Ok(python)
}
