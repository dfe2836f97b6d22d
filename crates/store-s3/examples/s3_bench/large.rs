//! The large transfer: one file uploaded and downloaded by each contender, in rotated rounds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use store_core::object::{PresignMethod, PutOptions};
use store_core::testkit::bench::{
    CpuMark, Measure, Samples, ServerProcess, rotation, server_cpu_medians,
};
use store_core::{ObjectKey, ObjectStore};
use store_s3::S3Store;

use crate::support::{RssSampler, python, rss_bytes, same_files, write_source};
use crate::{BoxError, MIB, Server};

/// One way of moving the file up and back down.
#[derive(Clone, Copy, PartialEq)]
enum Mover {
    /// `S3Store::upload_file` / `download_file`.
    Ours,
    /// boto3's `upload_file` / `download_file`, default `TransferConfig`.
    Boto3,
    /// AWS's Rust transfer manager, default settings.
    TransferManager,
    /// One presigned streaming request each way, by curl: what the server itself can take.
    Ceiling,
}

impl Mover {
    fn label(self) -> &'static str {
        match self {
            Mover::Ours => "ours",
            Mover::Boto3 => "boto3",
            Mover::TransferManager => "aws-sdk-s3-transfer-manager",
            Mover::Ceiling => "server ceiling (one presigned PUT/GET by curl)",
        }
    }
}

/// The times of one upload and one download.
struct Moved {
    upload: Duration,
    download: Duration,
}

/// What every run shares.
struct Run<'a> {
    store: &'a S3Store,
    server: &'a Server,
    source: PathBuf,
    target: PathBuf,
    transfer_manager: Option<PathBuf>,
}

impl Run<'_> {
    /// Moves the file with `mover`, checks the download equals the source, cleans up.
    async fn once(&self, mover: Mover, round: usize) -> Result<Moved, BoxError> {
        let moved = match mover {
            Mover::Ours => self.ours(round).await?,
            Mover::Boto3 => {
                let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/boto3_baseline.py");
                let mut command = Command::new(python()?);
                command.arg(script);
                self.child(command)?
            }
            Mover::TransferManager => {
                let program = self
                    .transfer_manager
                    .as_ref()
                    .ok_or("no transfer manager")?;
                self.child(Command::new(program))?
            }
            Mover::Ceiling => self.ceiling(round).await?,
        };
        if !same_files(&self.source, &self.target)? {
            return Err(format!("{}: the downloaded file differs", mover.label()).into());
        }
        std::fs::remove_file(&self.target)?;
        Ok(moved)
    }

    async fn ours(&self, round: usize) -> Result<Moved, BoxError> {
        let key = ObjectKey::new(format!("bench/ours-{round}.bin"))?;
        let started = Instant::now();
        self.store
            .upload_file(&self.source, &key, PutOptions::new())
            .await?;
        let upload = started.elapsed();
        let started = Instant::now();
        self.store.download_file(&key, &self.target).await?;
        let download = started.elapsed();
        self.store.delete(&key).await?;
        Ok(Moved { upload, download })
    }

    /// Runs a baseline program with `ENDPOINT BUCKET SOURCE TARGET`; it prints its own
    /// `{"upload_s": …, "download_s": …}` (its start-up is not part of the transfers).
    fn child(&self, mut command: Command) -> Result<Moved, BoxError> {
        command
            .arg(&self.server.endpoint)
            .arg(self.store.bucket())
            .arg(&self.source)
            .arg(&self.target)
            .envs(self.server.child_env());
        let output = command.output()?;
        if !output.status.success() {
            // The program only: the command's Debug would print its environment's secret.
            let program = command.get_program().to_string_lossy();
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(format!("the baseline {program} failed: {stderr}").into());
        }
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        let seconds = |name: &str| {
            report[name]
                .as_f64()
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("no {name} in the baseline's output: {report}"))
        };
        Ok(Moved {
            upload: seconds("upload_s")?,
            download: seconds("download_s")?,
        })
    }

    async fn ceiling(&self, round: usize) -> Result<Moved, BoxError> {
        let key = ObjectKey::new(format!("bench/ceiling-{round}.bin"))?;
        let hour = Duration::from_secs(3600);
        let put = self.store.presign(PresignMethod::Put, &key, hour).await?;
        let get = self.store.presign(PresignMethod::Get, &key, hour).await?;
        // Errors name the direction only: a presigned URL is a credential for an hour.
        let curl = |direction: &str, args: &[&std::ffi::OsStr]| -> Result<(), BoxError> {
            let status = Command::new("curl")
                .args(["--silent", "--show-error", "--fail", "-H", "Expect:"])
                .args(args)
                .status()?;
            if !status.success() {
                return Err(format!("curl's {direction} failed: {status}").into());
            }
            Ok(())
        };
        let started = Instant::now();
        curl(
            "upload",
            &["--upload-file".as_ref(), self.source.as_ref(), put.as_ref()],
        )?;
        let upload = started.elapsed();
        let started = Instant::now();
        curl(
            "download",
            &["--output".as_ref(), self.target.as_ref(), get.as_ref()],
        )?;
        // Like ours, every contender's download ends with the file on disk.
        let synced = Command::new("sync").arg(&self.target).status()?;
        if !synced.success() {
            return Err(format!("sync of the download failed: {synced}").into());
        }
        let download = started.elapsed();
        self.store.delete(&key).await?;
        Ok(Moved { upload, download })
    }
}

/// The large transfer of `size` bytes by every contender, then the comparison lines and our
/// peak RSS.
pub(crate) async fn transfers(
    store: &S3Store,
    server: &Server,
    size: u64,
    rounds: usize,
) -> Result<(), BoxError> {
    let dir = std::env::temp_dir().join(format!("store-s3-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let run = Run {
        store,
        server,
        source: dir.join(format!("source-{}MiB.bin", size / MIB)),
        target: dir.join("download.bin"),
        transfer_manager: std::env::var_os("BENCH_TRANSFER_MANAGER").map(PathBuf::from),
    };
    let outcome = measure(&run, size, rounds).await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn measure(run: &Run<'_>, size: u64, rounds: usize) -> Result<(), BoxError> {
    write_source(&run.source, size)?;
    let mut movers = vec![Mover::Ours, Mover::Boto3];
    if run.transfer_manager.is_some() {
        movers.push(Mover::TransferManager);
    } else {
        println!("bench note: BENCH_TRANSFER_MANAGER not set, no transfer-manager baseline");
    }
    movers.push(Mover::Ceiling);
    let mut up: Vec<Samples> = movers.iter().map(|m| Samples::new(m.label())).collect();
    let mut down = up.clone();
    // Per mover and round: the server's CPU seconds over the upload and download, and their time.
    let mut server_cpu: Vec<Vec<(f64, f64)>> = vec![Vec::new(); movers.len()];
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline_rss = rss_bytes();
    let mut peak = baseline_rss;
    let mib = size as f64 / MIB as f64;
    for round in 0..=rounds {
        for at in rotation(round, movers.len()) {
            let sampler = (movers[at] == Mover::Ours).then(RssSampler::start);
            let mark = run.server.process.and_then(ServerProcess::mark);
            let moved = run.once(movers[at], round).await?;
            let spent = mark.and_then(CpuMark::spent);
            peak = peak.max(sampler.map_or(0, RssSampler::finish));
            if round > 0 {
                up[at].push_rate(mib, moved.upload);
                down[at].push_rate(mib, moved.download);
                if let Some(spent) = spent {
                    let secs = (moved.upload + moved.download).as_secs_f64();
                    server_cpu[at].push((spent, secs));
                }
            }
        }
    }
    let mib = size / MIB;
    for (direction, samples) in [("upload", &up), ("download", &down)] {
        for (baseline, target) in samples[1..].iter().zip(targets(&movers[1..])) {
            let name = format!("{direction}_{mib}MiB{target}");
            Measure::Rate("MiB/s").report_rounds(&name, &samples[0], baseline);
        }
    }
    report_server_cpu(
        &format!("transfer_{mib}MiB"),
        run.server,
        &movers,
        &server_cpu,
    );
    let above = peak.saturating_sub(baseline_rss) as f64 / MIB as f64;
    println!(
        "bench peak_rss_{mib}MiB_transfer: ours +{above:.1} MiB above the baseline of {:.1} MiB \
         (target <= 64 MiB): {}",
        baseline_rss as f64 / MIB as f64,
        if above <= 64.0 { "met" } else { "NOT met" }
    );
    Ok(())
}

/// Prints each mover's median server CPU seconds for one upload and download, and their share
/// of the two transfers' time (a child's start-up is not part of it; the server does nothing
/// then). A share near 100% per server core means the server was the limit.
fn report_server_cpu(name: &str, server: &Server, movers: &[Mover], runs: &[Vec<(f64, f64)>]) {
    let contenders = movers
        .iter()
        .map(|m| m.label())
        .zip(runs.iter().map(Vec::as_slice));
    if let Some(line) = server_cpu_medians(contenders) {
        println!(
            "bench {name}: {} CPU per upload and download (median): {line}",
            server.name
        );
    }
}

/// The target each baseline's comparison states.
fn targets(baselines: &[Mover]) -> impl Iterator<Item = &'static str> + '_ {
    baselines.iter().map(|m| match m {
        Mover::Boto3 => " (target >= 1.5x)",
        Mover::TransferManager => " (target >= 1.0x)",
        _ => "",
    })
}
