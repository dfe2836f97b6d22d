//! The measuring side of `sync_bench`: child commands timed and their peak RSS read, contenders
//! run in rotated rounds after one warm-up each, medians printed in the shared `bench` format,
//! and the baseline tools installed (pinned) under the user's cache directory.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use store_core::testkit::bench::{CpuMark, ServerProcess};

/// GNU time: it waits for its child with wait4 and prints the child's `ru_maxrss` (`%M`, KiB).
pub(crate) const GNU_TIME: &str = "/usr/bin/time";

/// The baselines' pinned versions.
pub(crate) const DYNAMODUMP_VERSION: &str = "1.11.1";
pub(crate) const ELASTICDUMP_VERSION: &str = "6.125.1";

/// A command to run: program, arguments, extra environment and where to run it.
#[derive(Debug, Clone)]
pub(crate) struct Cmd {
    program: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(String, String)>,
    cwd: Option<PathBuf>,
    /// The server whose CPU time a timed run reports.
    server: Option<ServerProcess>,
}

impl Cmd {
    /// `program` with no arguments yet.
    pub(crate) fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            program: PathBuf::from(program.as_ref()),
            args: Vec::new(),
            envs: Vec::new(),
            cwd: None,
            server: None,
        }
    }

    /// One more argument.
    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// More arguments.
    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Extra environment variables.
    pub(crate) fn envs(mut self, envs: &[(String, String)]) -> Self {
        self.envs.extend(envs.iter().cloned());
        self
    }

    /// The working directory.
    pub(crate) fn cwd(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_owned());
        self
    }

    /// The command line, for messages.
    pub(crate) fn show(&self) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn command(&self, wrapper: Option<&Path>) -> Command {
        let mut command = match wrapper {
            Some(rss_file) => {
                let mut c = Command::new(GNU_TIME);
                c.arg("-f")
                    .arg("%M")
                    .arg("-o")
                    .arg(rss_file)
                    .arg(&self.program)
                    .args(&self.args);
                c
            }
            None => {
                let mut c = Command::new(&self.program);
                c.args(&self.args);
                c
            }
        };
        command.envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        command.stdin(std::process::Stdio::null());
        command
    }

    /// Runs it (untimed) and returns its output, whatever its exit status.
    pub(crate) fn output(&self) -> Result<Output> {
        self.command(None)
            .output()
            .with_context(|| format!("cannot start `{}`", self.show()))
    }

    /// Runs it (untimed); an exit status other than 0 is an error carrying its stderr.
    pub(crate) fn run(&self) -> Result<Output> {
        let output = self.output()?;
        if !output.status.success() {
            bail!(
                "`{}` failed ({}): {}",
                self.show(),
                output.status,
                tail(&output)
            );
        }
        Ok(output)
    }

    /// Reports the CPU time `server` spends during a timed run (nothing when `None`).
    pub(crate) fn server(mut self, server: Option<ServerProcess>) -> Self {
        self.server = server;
        self
    }

    /// Runs it under GNU time: wall-clock seconds from spawn to exit, peak RSS, and the
    /// server's CPU time meanwhile.
    pub(crate) fn timed(&self, scratch: &Path) -> Result<Sample> {
        let rss_file = scratch.join("rss.txt");
        let _ = std::fs::remove_file(&rss_file);
        let mut command = self.command(Some(&rss_file));
        if let Some(server) = self.server {
            wait_until_quiet(server);
        }
        let mark = self.server.and_then(ServerProcess::mark);
        let started = Instant::now();
        let output = command
            .output()
            .with_context(|| format!("cannot start `{}` under {GNU_TIME}", self.show()))?;
        let secs = started.elapsed().as_secs_f64();
        let server_cpu = mark.and_then(CpuMark::spent);
        if !output.status.success() {
            bail!(
                "`{}` failed ({}): {}",
                self.show(),
                output.status,
                tail(&output)
            );
        }
        let text = std::fs::read_to_string(&rss_file)
            .with_context(|| format!("{GNU_TIME} wrote no {}", rss_file.display()))?;
        let rss_kib = text
            .lines()
            .rev()
            .find_map(|l| l.trim().parse::<u64>().ok())
            .with_context(|| format!("no %M figure in {GNU_TIME}'s output: {text:?}"))?;
        Ok(Sample {
            secs,
            rss_kib,
            server_cpu,
        })
    }
}

/// How long a server may be busy before a timed run starts anyway.
const QUIET_WAIT: Duration = Duration::from_secs(20);

/// Waits until `server` spends under a tenth of a core (over 250 ms), at most
/// [`QUIET_WAIT`]: the work a run leaves behind (OpenSearch merging the documents a restore
/// indexed, moto collecting garbage) is not timed as the next run's, whichever contender
/// that is.
fn wait_until_quiet(server: ServerProcess) {
    let step = Duration::from_millis(250);
    let deadline = Instant::now() + QUIET_WAIT;
    while Instant::now() < deadline {
        let Some(mark) = server.mark() else { return };
        std::thread::sleep(step);
        match mark.spent() {
            Some(spent) if spent < 0.1 * step.as_secs_f64() => return,
            Some(_) => {}
            None => return,
        }
    }
}

/// The last lines of a command's stderr (or stdout when stderr is empty), for messages.
pub(crate) fn tail(output: &Output) -> String {
    let text = if output.stderr.iter().all(u8::is_ascii_whitespace) {
        String::from_utf8_lossy(&output.stdout)
    } else {
        String::from_utf8_lossy(&output.stderr)
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(6)..].join(" | ")
}

/// One timed run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    /// Wall-clock seconds, process start to exit.
    pub(crate) secs: f64,
    /// Peak resident set, KiB (GNU time `%M`).
    pub(crate) rss_kib: u64,
    /// CPU seconds the server spent meanwhile, where its process is known.
    pub(crate) server_cpu: Option<f64>,
}

/// One side of a comparison: a name and a closure doing one full run (untimed setup, the timed
/// command, untimed verification and cleanup) that returns the timed sample.
pub(crate) struct Contender<'a> {
    /// As printed.
    pub(crate) name: String,
    run: Box<dyn FnMut(usize) -> Result<Sample> + 'a>,
    /// The measured runs (the warm-up is not kept).
    pub(crate) samples: Vec<Sample>,
    /// Why it stopped, if it failed (a baseline).
    pub(crate) failed: Option<String>,
    /// Ours' runs that failed or whose result differed from the source: not counted.
    pub(crate) rejected: Vec<String>,
    /// Whether a failure aborts the whole service (ours) or only drops this contender.
    essential: bool,
}

impl<'a> Contender<'a> {
    /// Ours: a run that fails (including a failed equality check) is rejected and reported.
    pub(crate) fn ours(
        name: impl Into<String>,
        run: impl FnMut(usize) -> Result<Sample> + 'a,
    ) -> Self {
        Self::with(name, run, true)
    }

    /// A baseline: a failure is reported and the comparison is left out.
    pub(crate) fn baseline(
        name: impl Into<String>,
        run: impl FnMut(usize) -> Result<Sample> + 'a,
    ) -> Self {
        Self::with(name, run, false)
    }

    fn with(
        name: impl Into<String>,
        run: impl FnMut(usize) -> Result<Sample> + 'a,
        essential: bool,
    ) -> Self {
        Self {
            name: name.into(),
            run: Box::new(run),
            samples: Vec::new(),
            failed: None,
            rejected: Vec::new(),
            essential,
        }
    }

    fn step(&mut self, run: usize, keep: bool) -> Result<()> {
        if self.failed.is_some() {
            return Ok(());
        }
        match (self.run)(run) {
            Ok(sample) => {
                eprintln!(
                    "  {:<28} run {run}: {:.3}s, peak RSS {:.1} MiB{}{}",
                    self.name,
                    sample.secs,
                    mib(sample.rss_kib),
                    sample
                        .server_cpu
                        .map(|cpu| format!(", server CPU {cpu:.2}s"))
                        .unwrap_or_default(),
                    if keep { "" } else { " (warm-up, not counted)" }
                );
                if keep {
                    self.samples.push(sample);
                }
                Ok(())
            }
            // Ours: a run that failed or was wrong is rejected (not counted) and reported; the
            // other runs go on, so one bad run shows up without hiding the rest.
            Err(e) if self.essential => {
                let message = format!("run {run}: {e:#}");
                println!("bench note: {} REJECTED {message}", self.name);
                self.rejected.push(message);
                Ok(())
            }
            Err(e) => {
                let message = format!("{e:#}");
                eprintln!("  {} FAILED: {message}", self.name);
                self.failed = Some(message);
                Ok(())
            }
        }
    }
}

/// One warm-up run of every contender (full size, not counted), then `rounds` rounds running
/// each contender once, the order rotated by one each round.
pub(crate) fn run_rounds(contenders: &mut [Contender<'_>], rounds: usize) -> Result<()> {
    let n = contenders.len();
    for (i, contender) in contenders.iter_mut().enumerate() {
        contender.step(i, false)?;
    }
    let mut run = n;
    for round in 0..rounds {
        let order: Vec<usize> = (0..n).map(|j| (j + round) % n).collect();
        eprintln!(
            "round {}/{rounds}: {}",
            round + 1,
            order
                .iter()
                .map(|&i| contenders[i].name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        for i in order {
            contenders[i].step(run, true)?;
            run += 1;
        }
    }
    Ok(())
}

/// What a comparison must reach.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// Ours at least this many times faster.
    AtLeast(f64),
    /// Ours at most this many times slower.
    Within(f64),
}

/// Ours' peak RSS target, MiB.
pub(crate) const RSS_TARGET_MIB: f64 = 128.0;

/// What a comparison came to, for the closing summary.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    /// The bench line's name.
    pub(crate) name: String,
    /// A one-line statement of the targets.
    pub(crate) text: String,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Median, min and max seconds.
pub(crate) fn stats(samples: &[Sample]) -> (f64, f64, f64) {
    let mut secs: Vec<f64> = samples.iter().map(|s| s.secs).collect();
    secs.sort_by(f64::total_cmp);
    (median_of_sorted(&secs), secs[0], secs[secs.len() - 1])
}

/// The median of sorted values (the mean of the middle two for an even count).
fn median_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The median of the runs' server CPU seconds, when every run has one.
fn median_server_cpu(samples: &[Sample]) -> Option<f64> {
    let mut cpu: Vec<f64> = samples
        .iter()
        .map(|s| s.server_cpu)
        .collect::<Option<_>>()?;
    cpu.sort_by(f64::total_cmp);
    (!cpu.is_empty()).then(|| median_of_sorted(&cpu))
}

fn peak(samples: &[Sample]) -> u64 {
    samples.iter().map(|s| s.rss_kib).max().unwrap_or(0)
}

/// Prints `bench <name>: ours <median> [min–max] vs <baseline> <median> [min–max] = <ratio>x`
/// (ratio = baseline median / ours median, so above 1 ours is faster), then the target and the
/// peak RSS of both sides.
pub(crate) fn compare(
    name: &str,
    ours: &Contender<'_>,
    baseline: &Contender<'_>,
    target: Target,
) -> Verdict {
    if let Some(why) = &baseline.failed {
        let text = format!(
            "bench {name}: {} could not be measured: {why}",
            baseline.name
        );
        println!("{text}");
        return Verdict {
            name: name.to_owned(),
            text: format!("no ratio ({} failed)", baseline.name),
        };
    }
    if !ours.rejected.is_empty() {
        println!(
            "bench {name}: WARNING: {} of ours' runs rejected (failed or not equal to the source), \
             not counted: {}",
            ours.rejected.len(),
            ours.rejected.join(" || ")
        );
    }
    if ours.samples.is_empty() {
        println!("bench {name}: ours has no valid run");
        return Verdict {
            name: name.to_owned(),
            text: "no ratio (no valid run of ours)".to_owned(),
        };
    }
    let (om, omin, omax) = stats(&ours.samples);
    let (bm, bmin, bmax) = stats(&baseline.samples);
    let ratio = bm / om;
    println!(
        "bench {name}: ours {om:.3}s [{omin:.3}–{omax:.3}] vs {} {bm:.3}s [{bmin:.3}–{bmax:.3}] = {ratio:.2}x",
        baseline.name
    );
    let (goal, met) = match target {
        Target::AtLeast(x) => (format!(">= {x:.1}x"), ratio >= x),
        Target::Within(x) => (
            format!(">= {:.2}x (within {x}x)", 1.0 / x),
            ratio >= 1.0 / x,
        ),
    };
    if let (Some(ours_cpu), Some(base_cpu)) = (
        median_server_cpu(&ours.samples),
        median_server_cpu(&baseline.samples),
    ) {
        println!(
            "bench {name}: server CPU per run (median): ours {ours_cpu:.2}s ({:.0}% of its wall \
             time) vs {} {base_cpu:.2}s ({:.0}%)",
            100.0 * ours_cpu / om,
            baseline.name,
            100.0 * base_cpu / bm,
        );
    }
    let ours_rss = mib(peak(&ours.samples));
    let rss_met = ours_rss <= RSS_TARGET_MIB;
    println!(
        "bench {name}: target {goal}: {}; peak RSS ours {ours_rss:.1} MiB (target <= {RSS_TARGET_MIB:.0} MiB: {}) vs {} {:.1} MiB",
        if met { "MET" } else { "MISSED" },
        if rss_met { "MET" } else { "MISSED" },
        baseline.name,
        mib(peak(&baseline.samples)),
    );
    Verdict {
        name: name.to_owned(),
        text: format!(
            "{ratio:.2}x (target {goal}: {}), ours peak RSS {ours_rss:.1} MiB ({}){}",
            if met { "met" } else { "missed" },
            if rss_met {
                "<= 128 MiB"
            } else {
                "over 128 MiB"
            },
            if ours.rejected.is_empty() {
                String::new()
            } else {
                format!(", {} run(s) of ours rejected", ours.rejected.len())
            }
        ),
    }
}

/// Where the pinned baselines are installed: `$XDG_CACHE_HOME/stores-bench` or
/// `~/.cache/stores-bench`.
pub(crate) fn cache_dir() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?).join(".cache"),
    };
    Ok(base.join("stores-bench"))
}

/// dynamodump (PyPI), pinned, in a virtualenv under the cache directory (created once).
pub(crate) fn ensure_dynamodump() -> Result<PathBuf> {
    let venv = cache_dir()?.join(format!("venv-dynamodump-{DYNAMODUMP_VERSION}"));
    let bin = venv.join("bin/dynamodump");
    if bin.exists() {
        return Ok(bin);
    }
    eprintln!(
        "installing dynamodump {DYNAMODUMP_VERSION} into {}",
        venv.display()
    );
    let python = std::env::var("STORES_BENCH_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    Cmd::new(python).args(["-m", "venv"]).arg(&venv).run()?;
    Cmd::new(venv.join("bin/pip"))
        .args(["install", "--quiet"])
        .arg(format!("dynamodump=={DYNAMODUMP_VERSION}"))
        .run()?;
    if !bin.exists() {
        bail!("pip installed dynamodump but {} is missing", bin.display());
    }
    Ok(bin)
}

/// elasticdump (npm), pinned, under the cache directory (installed once).
pub(crate) fn ensure_elasticdump() -> Result<PathBuf> {
    let prefix = cache_dir()?.join(format!("npm-elasticdump-{ELASTICDUMP_VERSION}"));
    let bin = prefix.join("node_modules/.bin/elasticdump");
    if bin.exists() {
        return Ok(bin);
    }
    eprintln!(
        "installing elasticdump {ELASTICDUMP_VERSION} into {}",
        prefix.display()
    );
    std::fs::create_dir_all(&prefix)?;
    Cmd::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg(format!("elasticdump@{ELASTICDUMP_VERSION}"))
        .run()?;
    if !bin.exists() {
        bail!("npm installed elasticdump but {} is missing", bin.display());
    }
    Ok(bin)
}
