//! Durable local file writes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Creates `dir` and its missing ancestors, and fsyncs the parent of each one created, so
/// that a crash after a file in it was made durable cannot lose the directory entry leading
/// to it.
pub(crate) fn create_dirs_durably(dir: &Path) -> std::io::Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
    std::fs::create_dir_all(dir)?;
    for created in missing.iter().rev() {
        match created.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => std::fs::File::open(parent)?,
            _ => std::fs::File::open(".")?,
        }
        .sync_all()?;
    }
    Ok(())
}

/// `<pid>-<n>-<random>`, unique per call, for the names of temporary files and folders: two
/// in one process never share it (a counter), nor do two processes sharing a volume whose
/// process ids are alike (every container of a Kubernetes indexed Job may be process 1): a
/// random part tells them apart.
pub(crate) fn unique_tag() -> String {
    use std::hash::{BuildHasher as _, RandomState};
    static TAGS: AtomicU64 = AtomicU64::new(0);
    let n = TAGS.fetch_add(1, Ordering::Relaxed);
    // Keyed at random per process (and per call: each `RandomState` takes new keys).
    let random = RandomState::new().hash_one(n);
    format!("{}-{n}-{random:016x}", std::process::id())
}

/// A temporary file name beside `path`, unique per call ([`unique_tag`]): two writes of one
/// file (a job dropped and started again while its last write still runs, two processes of
/// one job) never share one.
fn temp_beside(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".{}.tmp", unique_tag()));
    path.with_file_name(name)
}

/// Writes `bytes` to `path` so that a crash leaves the old file or the new one, never a torn
/// one: a temporary file beside it is written and fsynced, renamed over `path`, and the
/// directory fsynced. Missing parent directories are created durably
/// ([`create_dirs_durably`]).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = place_atomically(path, bytes)?;
    std::fs::File::open(&dir)?.sync_all()
}

/// [`write_atomically`] but the directory's fsync, left to the caller (who syncs it once for
/// many files): until then a crash may leave the old file or none. Returns the directory.
pub(crate) fn place_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let (dir, ()) = through_temp(path, bytes, |tmp| std::fs::rename(tmp, path))?;
    Ok(dir)
}

/// Creates `path` holding `bytes` unless a file is there already, atomically: a temporary
/// file beside it is written and fsynced, then hard-linked to `path` (which fails when `path`
/// exists, so of two processes creating it at once exactly one succeeds), and the directory
/// fsynced. `true` when this call created it.
pub(crate) fn create_durably(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    let (dir, created) = through_temp(path, bytes, |tmp| match std::fs::hard_link(tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    })?;
    if created {
        std::fs::File::open(&dir)?.sync_all()?;
    }
    Ok(created)
}

/// Writes `bytes` to a new temporary file beside `path` (its missing directories made
/// durably), fsyncs it and hands it to `place`, which renames or links it to `path`. The
/// temporary file does not outlive the call. Returns `path`'s directory, for the caller to
/// fsync, and what `place` answered.
fn through_temp<T>(
    path: &Path,
    bytes: &[u8],
    place: impl FnOnce(&Path) -> std::io::Result<T>,
) -> std::io::Result<(PathBuf, T)> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_dirs_durably(&dir)?;
    let tmp = temp_beside(path);
    // `create_new`: a temporary name some other process also drew is an error here, never a
    // file two writers share (nor one this call removes).
    let mut file = std::fs::File::create_new(&tmp)?;
    let placed = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| place(&tmp));
    drop(file);
    // Gone already when it was renamed into place.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound && placed.is_ok() => return Err(e),
        _ => {}
    }
    Ok((dir, placed?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_directories_are_made_and_existing_ones_are_fine() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a").join("b").join("c");
        create_dirs_durably(&deep).unwrap();
        assert!(deep.is_dir());
        create_dirs_durably(&deep).unwrap();
        write_atomically(&root.path().join("x").join("state.json"), b"{}").unwrap();
        assert_eq!(
            std::fs::read(root.path().join("x/state.json")).unwrap(),
            b"{}"
        );
    }

    #[test]
    fn a_file_is_created_once_and_never_replaced() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("plans").join("plan.json");
        assert!(create_durably(&path, b"first").unwrap());
        assert!(!create_durably(&path, b"second").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        let left: Vec<_> = std::fs::read_dir(root.path().join("plans"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["plan.json"], "no temporary file is left behind");
    }
}
