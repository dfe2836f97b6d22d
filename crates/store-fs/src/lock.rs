//! Locks: the one-writer lock on the store's folder, and the per-key locks that make
//! conditional puts exact.
//!
//! The writer lock is an exclusive advisory lock (`flock` on Unix, `LockFileEx` on Windows,
//! through [`File::try_lock`]) on `<root>/.store-fs.lock`, held for as long as the store (any
//! clone of it) lives; the operating system releases it when the process dies, even by
//! `SIGKILL`. Such locks are only reliable on a local file system, so a store is single-host:
//! do not share a folder between machines over NFS or SMB.
//!
//! Since only one process writes, the per-key locks are in-process: a fixed table of mutexes
//! indexed by a hash of the key, taken around the check-and-rename of every write and delete.

use std::collections::hash_map::DefaultHasher;
use std::fs::{File, OpenOptions, TryLockError};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use store_core::{Result, StoreError};

use crate::error::io_error;

/// The lock file's name inside the store's folder.
pub(crate) const LOCK_FILE: &str = ".store-fs.lock";

/// How many key locks there are; keys that share one are serialized, which is only slower.
const STRIPES: usize = 1024;

/// The exclusive writer lock on a store's folder; released when dropped.
#[derive(Debug)]
pub(crate) struct WriterLock {
    _file: File,
}

impl WriterLock {
    /// Takes the lock without waiting. If another process (or another store in this process)
    /// holds it, fails with `Conflict`, naming the folder and what the holder wrote about
    /// itself.
    pub(crate) fn acquire(root: &Path) -> Result<Self> {
        let path = root.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_error("open the lock file", &path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(held(root, &path)),
            Err(TryLockError::Error(e)) => return Err(io_error("lock", &path, e)),
        }
        // Who holds it, for the error another opener gets. Not synced: it is only a hint.
        let holder = holder_line();
        file.set_len(0)
            .and_then(|()| file.write_all(holder.as_bytes()))
            .map_err(|e| io_error("write", &path, e))?;
        Ok(Self { _file: file })
    }
}

/// What this process writes into the lock file.
fn holder_line() -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "unknown program".to_owned());
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "pid {} ({exe}), since unix time {since}\n",
        std::process::id()
    )
}

/// The error for a folder whose lock another writer holds.
fn held(root: &Path, path: &PathBuf) -> StoreError {
    let holder = std::fs::read_to_string(path)
        .ok()
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "an unknown process".to_owned());
    StoreError::conflict(format!(
        "the store in `{}` is already open for writing by {holder}; one writer process per \
         folder (open it read-only to read alongside)",
        root.display()
    ))
}

/// The in-process key locks.
#[derive(Debug)]
pub(crate) struct KeyLocks {
    stripes: Box<[Mutex<()>]>,
}

impl KeyLocks {
    /// A table of unlocked stripes.
    pub(crate) fn new() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    /// Locks `key` (blocking: call it from blocking code only). Hold one at a time.
    pub(crate) fn lock(&self, key: &str) -> MutexGuard<'_, ()> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let stripe = (hasher.finish() % STRIPES as u64) as usize;
        self.stripes[stripe]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
