//! Benchmark of `FsStore` against object_store's `LocalFileSystem` on the same disk.
//!
//! ```text
//! cargo run -p store-fs --release --example fs_bench -- [--size-mib 1024] [--small 10000]
//!     [--runs 3] [--concurrency 16] [--dir PATH]
//! ```
//!
//! - `small_put` / `small_get`: 10,000 objects of 1 KiB, 16 in flight;
//! - `large_put`: a file (1 GiB by default) streamed in 1 MiB chunks (`put_stream`; for
//!   `LocalFileSystem` a multipart upload with at most 4 parts in flight), `large_get`: the
//!   object streamed back; `upload_file`: ours only, against the same baseline as `large_put`;
//! - the peak RSS above the baseline during each large transfer (Linux `VmHWM`, reset before
//!   each one).
//!
//! Our writes are durable (file and folder synced before a put returns) and hash the content
//! (SHA-256 etags); `LocalFileSystem` syncs nothing by default, so each result is printed
//! against it (`lfs`) and against `LocalFileSystem::with_fsync(true)` (`lfs+fsync`, the
//! like-for-like comparison). After a full-size warm-up round, the contenders take turns on
//! each operation (the order rotates every run), the disk is synced between turns so no one
//! pays for another's write-back, and each line gives the median of the runs with their
//! min–max; a ratio above 1 means ours is slower.

#[path = "fs_bench/contenders.rs"]
mod contenders;
#[path = "fs_bench/sys.rs"]
mod sys;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use contenders::{BoxError, Store, Who};
use store_core::testkit::bench::{Measure, Samples};

const MIB: u64 = 1024 * 1024;

struct Args {
    size_mib: u64,
    small: usize,
    runs: usize,
    concurrency: usize,
    dir: PathBuf,
}

fn args() -> Result<Args, BoxError> {
    let mut args = Args {
        size_mib: 1024,
        small: 10_000,
        runs: 3,
        concurrency: 16,
        dir: std::env::temp_dir().join(format!("store-fs-bench-{}", std::process::id())),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--size-mib" => args.size_mib = value()?.parse()?,
            "--small" => args.small = value()?.parse()?,
            "--runs" => args.runs = value()?.parse::<usize>()?.max(1),
            "--concurrency" => args.concurrency = value()?.parse::<usize>()?.max(1),
            "--dir" => args.dir = PathBuf::from(value()?),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(args)
}

/// Timings and peak-RSS growths, by operation and contender.
#[derive(Default)]
struct Results {
    times: BTreeMap<(String, Who), Vec<Duration>>,
    rss: BTreeMap<(String, Who), u64>,
}

impl Results {
    fn time(&mut self, op: &str, who: Who, took: Duration) {
        self.times
            .entry((op.to_owned(), who))
            .or_default()
            .push(took);
    }

    /// The samples of `op` by `who`, in seconds.
    fn samples(&self, op: &str, who: Who) -> Option<Samples> {
        let runs = self.times.get(&(op.to_owned(), who))?;
        let mut samples = Samples::new(who.name());
        runs.iter().for_each(|took| samples.push_time(*took));
        Some(samples)
    }
}

/// Runs a large transfer, recording the peak RSS above what the process held before it.
async fn with_peak<F: std::future::Future<Output = Result<Duration, BoxError>>>(
    results: &mut Results,
    op: &str,
    who: Who,
    work: F,
) -> Result<(), BoxError> {
    sys::reset_peak();
    let before = sys::status_kib("VmRSS");
    let took = work.await?;
    let growth = sys::status_kib("VmHWM").saturating_sub(before);
    let peak = results.rss.entry((op.to_owned(), who)).or_default();
    *peak = (*peak).max(growth);
    results.time(op, who, took);
    sys::sync_disk();
    Ok(())
}

/// One round of every operation, contenders in `order`, stores in `dir`.
async fn round(
    args: &Args,
    dir: &std::path::Path,
    source: &std::path::Path,
    size: u64,
    small: usize,
    order: &[Who],
    results: &mut Results,
) -> Result<(), BoxError> {
    let mut stores = Vec::new();
    for &who in order {
        stores.push((who, Store::open(who, &dir.join(who.name())).await?));
    }
    let body = Bytes::from(vec![0x5a; 1024]);
    let small_put = format!("small_put_1KiB_x{small}");
    let small_get = format!("small_get_1KiB_x{small}");
    let large_put = format!("large_put_{}MiB", size / MIB);
    let large_get = format!("large_get_{}MiB", size / MIB);
    let upload = format!("upload_file_{}MiB", size / MIB);
    for (who, store) in &stores {
        let took = store
            .small_puts(small, args.concurrency, body.clone())
            .await?;
        results.time(&small_put, *who, took);
        sys::sync_disk();
    }
    for (who, store) in &stores {
        let took = store
            .small_gets(small, args.concurrency, body.len())
            .await?;
        results.time(&small_get, *who, took);
    }
    for (who, store) in &stores {
        with_peak(results, &large_put, *who, store.large_put(source)).await?;
    }
    for (who, store) in &stores {
        with_peak(results, &large_get, *who, store.large_get(size)).await?;
    }
    for (who, store) in &stores {
        if *who == Who::Ours {
            with_peak(results, &upload, *who, store.upload_file(source)).await?;
        }
    }
    drop(stores);
    std::fs::remove_dir_all(dir)?;
    sys::sync_disk();
    Ok(())
}

fn report(results: &Results, size: u64) {
    let ops: std::collections::BTreeSet<&String> = results.times.keys().map(|(op, _)| op).collect();
    for op in ops {
        let Some(ours) = results.samples(op, Who::Ours) else {
            continue;
        };
        // `upload_file` is compared with the baselines' streamed large put.
        let base_op = op.replace("upload_file", "large_put");
        for who in [Who::Lfs, Who::LfsFsync] {
            if let Some(theirs) = results.samples(&base_op, who) {
                Measure::Time.report(op, &ours, &theirs);
            }
        }
        if op.starts_with("large") || op.starts_with("upload") {
            let median = ours.summary().map_or(0.0, |s| s.median);
            println!(
                "  {op}: ours {:.0} MiB/s",
                size as f64 / MIB as f64 / median
            );
        }
    }
    for ((op, who), kib) in &results.rss {
        println!(
            "rss {op}: {} peak +{:.1} MiB over its baseline (target <= 64 MiB)",
            who.name(),
            *kib as f64 / 1024.0
        );
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = args()?;
    std::fs::create_dir_all(&args.dir)?;
    let size = args.size_mib * MIB;
    let source = args.dir.join("source.bin");
    sys::ensure_source(&source, size)?;
    sys::sync_disk();
    println!(
        "fs_bench: {} small objects, {} MiB large, {} runs, {} in flight, in {}",
        args.small,
        args.size_mib,
        args.runs,
        args.concurrency,
        args.dir.display()
    );
    let mut warm = Results::default();
    let warm_dir = args.dir.join("warm");
    // A full-size round of every contender warms the disk and the code, and is not counted.
    round(
        &args,
        &warm_dir,
        &source,
        size,
        args.small,
        &Who::ALL,
        &mut warm,
    )
    .await?;
    let mut results = Results::default();
    for run in 0..args.runs {
        let mut order = Who::ALL.to_vec();
        order.rotate_left(run % Who::ALL.len());
        let dir = args.dir.join(format!("run-{run}"));
        round(&args, &dir, &source, size, args.small, &order, &mut results).await?;
    }
    report(&results, size);
    std::fs::remove_dir_all(&args.dir)?;
    Ok(())
}
