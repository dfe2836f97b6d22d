//! Process and disk helpers: peak RSS from `/proc/self/status`, `sync`, the source file.

use std::io::Write;
use std::path::Path;

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`); 0 where there is none.
pub(crate) fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Resets the peak RSS (`VmHWM`) to the current RSS (Linux: `5` into `clear_refs`).
pub(crate) fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Flushes every dirty page to disk, so one contender's write-back does not slow the next.
pub(crate) fn sync_disk() {
    let _ = std::process::Command::new("sync").status();
}

/// Writes `size` pseudo-random bytes to `path` unless a file of that size is there already.
pub(crate) fn ensure_source(path: &Path, size: u64) -> std::io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == size) {
        return Ok(());
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut block = vec![0u8; 1024 * 1024];
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n])?;
        left -= n as u64;
    }
    out.flush()
}
