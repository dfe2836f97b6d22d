//! The temporary directory a run spills into: made on first use, removed with everything in
//! it when dropped. Each holds a lock file locked for its life, so a directory left by a run
//! that was killed (SIGKILL, a crash) is found unlocked and removed by the next run that
//! spills into the same base.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use store_core::{Result, StoreError};

/// A fresh directory under the configured (or system) temporary directory. Clones share it;
/// the last one dropped removes it.
#[derive(Debug, Clone)]
pub(crate) struct SpillDir {
    path: Arc<Removed>,
    files: Arc<AtomicU64>,
}

/// What every spill directory's name starts with.
const PREFIX: &str = "stores-spill-";

/// The lock file in each spill directory, locked by its run while the directory is in use.
const LOCK: &str = ".lock";

/// How old a spill directory with no lock file (made on a file system without locks, or by
/// an older `stores`) or one still being made must be to be taken for abandoned.
const UNLOCKED_GRACE: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug)]
struct Removed {
    path: PathBuf,
    /// Holds the directory's lock; closed before the directory is removed.
    lock: Option<File>,
}

impl Drop for Removed {
    fn drop(&mut self) {
        self.lock = None;
        // Nothing to tell anyone if it fails: the files are scratch, and the system's
        // temporary directory is cleaned in time.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

impl SpillDir {
    /// Makes a new directory under `base` (the system's temporary directory when `None`),
    /// which must exist.
    pub(crate) fn create(base: Option<&Path>) -> Result<Self> {
        let base = base.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let name = format!("{PREFIX}{}", crate::files::unique_tag());
        if !base.is_dir() {
            return Err(StoreError::invalid_input(format!(
                "the spill directory {} does not exist",
                base.display()
            )));
        }
        blocking(|| remove_abandoned(&base));
        // Made and locked under a name the sweeps of other runs do not lock, then renamed:
        // no sweep ever finds it unlocked while this run holds it.
        let staging = base.join(format!(".{name}"));
        std::fs::create_dir(&staging).map_err(|e| spill_error(&staging, &e))?;
        let mut removed = Removed {
            path: staging,
            lock: None,
        };
        let lock_path = removed.path.join(LOCK);
        let lock = File::create(&lock_path).map_err(|e| spill_error(&lock_path, &e))?;
        // A file system without locks (some network or FUSE mounts) spills all the same; a
        // directory it leaves goes by the age rule.
        removed.lock = lock.try_lock().ok().map(|()| lock);
        let path = base.join(&name);
        std::fs::rename(&removed.path, &path).map_err(|e| spill_error(&path, &e))?;
        removed.path = path;
        Ok(Self {
            path: Arc::new(removed),
            files: Arc::new(AtomicU64::new(0)),
        })
    }

    /// A new file name in the directory, unused so far.
    pub(crate) fn file(&self) -> PathBuf {
        let n = self.files.fetch_add(1, Ordering::Relaxed);
        self.path.path.join(format!("{n}.spill"))
    }
}

/// Removes the spill directories under `base` that no run holds: their lock file can be
/// locked (its run died, and the system released its lock), or they have none, or are still
/// being made (`.stores-spill-…`, never locked here), and are older than
/// [`UNLOCKED_GRACE`]. Best effort: what cannot be read or removed is left.
fn remove_abandoned(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let staging = name.starts_with('.') && name[1..].starts_with(PREFIX);
        if !(staging || name.starts_with(PREFIX)) || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let dir = entry.path();
        let old = || {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|at| at.elapsed().ok())
                .is_some_and(|age| age > UNLOCKED_GRACE)
        };
        let abandoned = match File::open(dir.join(LOCK)) {
            _ if staging => old(),
            // Locked here only when no live run holds it. Closed before the removal (which
            // some file systems refuse while a file in it is open): a dead run stays dead.
            Ok(lock) => match lock.try_lock() {
                Ok(()) => true,
                Err(std::fs::TryLockError::WouldBlock) => false,
                // A file system without locks: the age rule, as for no lock file.
                Err(std::fs::TryLockError::Error(_)) => old(),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => old(),
            Err(_) => false,
        };
        if abandoned {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// What a failed spill-file operation is told: the file and the system's reason. Not
/// retryable: a full or unwritable disk stays so.
pub(crate) fn spill_error(path: &Path, e: &std::io::Error) -> StoreError {
    StoreError::internal(format!("spill file {}: {e}", path.display()))
}

/// Runs file work that may take a while (writing out or splitting a partition) where it
/// does not hold up other tasks: on a multi-threaded runtime the worker thread is handed
/// over first; elsewhere it runs in place.
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) if runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_base_is_refused_not_made() {
        let base = std::env::temp_dir().join("stores-no-such-spill-base");
        let err = SpillDir::create(Some(&base)).unwrap_err();
        assert!(
            err.message().contains("does not exist"),
            "{}",
            err.message()
        );
        assert!(!base.exists());
    }

    #[test]
    fn the_directory_goes_when_the_last_clone_does() {
        let base = std::env::temp_dir();
        let dir = SpillDir::create(Some(&base)).unwrap();
        let file = dir.file();
        std::fs::write(&file, b"x").unwrap();
        let clone = dir.clone();
        drop(dir);
        assert!(file.exists());
        drop(clone);
        assert!(!file.exists());
        assert!(!file.parent().unwrap().exists());
    }

    #[test]
    fn a_directory_left_by_a_dead_run_goes_and_a_held_one_stays() {
        let base = tempfile::tempdir().unwrap();
        let live = SpillDir::create(Some(base.path())).unwrap();
        // A killed run's directory: its lock file, locked by nobody now.
        let dead = base.path().join(format!("{PREFIX}1-0-dead"));
        std::fs::create_dir(&dead).unwrap();
        std::fs::write(dead.join(LOCK), b"").unwrap();
        std::fs::write(dead.join("0.spill"), b"old frames").unwrap();
        // A run's directory not locked yet, and a directory that is not a spill directory.
        let fresh = base.path().join(format!("{PREFIX}2-0-fresh"));
        std::fs::create_dir(&fresh).unwrap();
        // One another run is making: its lock file is there, not locked yet.
        let making = base.path().join(format!(".{PREFIX}3-0-making"));
        std::fs::create_dir(&making).unwrap();
        std::fs::write(making.join(LOCK), b"").unwrap();
        let other = base.path().join("not-a-spill-directory");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join(LOCK), b"").unwrap();

        let _next = SpillDir::create(Some(base.path())).unwrap();
        assert!(!dead.exists(), "the dead run's directory was left");
        assert!(
            live.path.path.exists(),
            "a live run's directory was removed"
        );
        assert!(fresh.exists(), "a directory with no lock file was removed");
        assert!(making.exists(), "a directory being made was removed");
        assert!(other.exists());
    }
}
