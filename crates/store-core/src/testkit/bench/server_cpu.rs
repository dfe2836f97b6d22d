//! The CPU time a local server process spends while a contender runs. Beside the wall time it
//! shows what bounds a run: a server that works on one core (moto, under Python's lock) and
//! spends nearly the run's wall time in CPU is the limit, not the client. Linux only (it reads
//! `/proc`); elsewhere no process is found and nothing is reported.

use std::path::Path;

/// Clock ticks per second of `/proc/<pid>/stat` times (Linux's `USER_HZ`, 100 on every
/// architecture it ships for).
const TICKS_PER_SEC: f64 = 100.0;

/// A running server process, by pid.
///
/// ```no_run
/// use store_core::testkit::bench::ServerProcess;
/// let moto = ServerProcess::from_pid_file(".services/moto/moto.pid".as_ref());
/// let before = moto.and_then(ServerProcess::cpu_secs);
/// // ... run a contender ...
/// if let (Some(server), Some(before)) = (moto, before) {
///     println!("server CPU {:.2}s", server.cpu_secs().unwrap_or(before) - before);
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ServerProcess {
    pid: u32,
}

impl ServerProcess {
    /// The process whose pid is the first line of `pid_file` (a PostgreSQL `postmaster.pid`,
    /// or a harness's pid file), when it runs; `None` otherwise.
    pub fn from_pid_file(pid_file: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(pid_file).ok()?;
        let pid = text.lines().next()?.trim().parse().ok()?;
        let server = Self { pid };
        server.cpu_secs().map(|_| server)
    }

    /// CPU seconds spent so far: user and system time of the process (all its threads), of
    /// the children it has reaped, and of those still running (PostgreSQL's per-connection
    /// backends, which exit as a run ends). A child reaped while it is read would be counted
    /// twice or not at all, so the reading is taken again until the children stay the same
    /// across it (a few tries; the last is kept). Running children are seen where the kernel
    /// lists them (`/proc/<pid>/task/<tid>/children`, as most distributions' kernels do).
    pub fn cpu_secs(self) -> Option<f64> {
        let mut reading = None;
        for _ in 0..5 {
            let before = children_of(self.pid);
            let children: Option<u64> = before.iter().map(|&child| ticks_of(child)).sum();
            let own = ticks_of(self.pid)?;
            let after = children_of(self.pid);
            reading = Some(own + children.unwrap_or(0));
            if children.is_some() && before == after {
                break;
            }
        }
        reading.map(|ticks| ticks as f64 / TICKS_PER_SEC)
    }
}

/// A server's CPU time at one moment, to read what it spent since (around one run).
#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    server: ServerProcess,
    at: f64,
}

impl ServerProcess {
    /// Its CPU time now, to read [`CpuMark::spent`] from after a run; `None` once it is gone.
    pub fn mark(self) -> Option<CpuMark> {
        Some(CpuMark {
            server: self,
            at: self.cpu_secs()?,
        })
    }
}

impl CpuMark {
    /// CPU seconds the server spent since the mark; `None` if it is gone.
    pub fn spent(self) -> Option<f64> {
        Some(self.server.cpu_secs()? - self.at)
    }
}

/// `<label> <median CPU>s (<share>% of its time)` for each contender that has runs, joined
/// by commas; `None` when none has any. A run is `(server CPU seconds, the run's seconds)`;
/// the median is the run of median CPU, and the share that run's CPU over its own time.
///
/// ```
/// use store_core::testkit::bench::server_cpu_medians;
/// let ours = [(2.0, 2.1), (2.2, 2.3), (2.5, 2.4)];
/// let line = server_cpu_medians([("ours", &ours[..]), ("other", &[][..])]);
/// assert_eq!(line.as_deref(), Some("ours 2.20s (96% of its time)"));
/// ```
pub fn server_cpu_medians<'a>(
    contenders: impl IntoIterator<Item = (&'a str, &'a [(f64, f64)])>,
) -> Option<String> {
    let parts: Vec<String> = contenders
        .into_iter()
        .filter_map(|(label, runs)| {
            let mut runs = runs.to_vec();
            runs.sort_by(|a, b| a.0.total_cmp(&b.0));
            let &(cpu, secs) = runs.get(runs.len() / 2)?;
            Some(format!(
                "{label} {cpu:.2}s ({:.0}% of its time)",
                100.0 * cpu / secs
            ))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The CPU ticks of `pid` (see [`cpu_ticks`]), `None` when it does not run.
fn ticks_of(pid: u32) -> Option<u64> {
    cpu_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The running children of `pid`, from each of its threads' `children` list.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|child| child.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// utime + stime + cutime + cstime (fields 14–17) of a `/proc/<pid>/stat` line. The command
/// name (field 2) is in parentheses and may hold spaces, so fields are counted after its `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `fields[0]` is field 3 (the state), so field N is `fields[N - 3]`.
    fields
        .get(11..15)?
        .iter()
        .map(|f| f.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_after_a_name_with_spaces() {
        let stat = "4242 (python (moto) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    250 50 7 3 20 0 9 0 12345 1000000 5000 18446744073709551615";
        assert_eq!(cpu_ticks(stat), Some(250 + 50 + 7 + 3));
        assert_eq!(cpu_ticks("1 (x) S 1"), None);
    }

    #[test]
    fn a_running_process_is_found_by_its_pid_file_and_a_gone_one_is_not() {
        let dir = std::env::temp_dir().join(format!("server-cpu-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pid_file = dir.join("server.pid");
        std::fs::write(
            &pid_file,
            format!("{}\n/some/data/dir\n", std::process::id()),
        )
        .unwrap();
        let me = ServerProcess::from_pid_file(&pid_file).expect("this process runs");
        let mark = me.mark().unwrap();
        let before = me.cpu_secs().unwrap();
        let mut spin = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(50) {
            spin = spin.wrapping_add(1);
        }
        assert!(spin > 0);
        assert!(me.cpu_secs().unwrap() >= before, "CPU time only grows");
        assert!(
            mark.spent().unwrap() > 0.0,
            "the spin is counted since the mark"
        );
        // A running child's time counts with its parent's.
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; exec sleep 5",
            ])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        assert!(children_of(std::process::id()).contains(&child.id()));
        let child_ticks = ticks_of(child.id()).unwrap();
        let with_child = me.cpu_secs().unwrap();
        assert!(child_ticks > 0, "the child spun");
        assert!(with_child >= before + child_ticks as f64 / TICKS_PER_SEC);
        child.kill().unwrap();
        child.wait().unwrap();
        std::fs::write(&pid_file, "0\n").unwrap();
        assert!(
            ServerProcess::from_pid_file(&pid_file).is_none(),
            "no process 0 in /proc"
        );
        assert!(ServerProcess::from_pid_file(&dir.join("missing.pid")).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
