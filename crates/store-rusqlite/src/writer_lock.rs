//! One writing process per database file: an exclusive OS lock on a sidecar file
//! (`<database>.writer-lock`), shared by every store of this process on that file.
//!
//! SQLite itself lets several processes write one file, one transaction at a time; a second
//! *process* opening the same file for writing is almost always a mistake (two services, or a
//! stale one still running), so it is refused at open with the holder named, as store-fs
//! does. Stores of one process share the lock and SQLite orders their writes. The lock is the
//! operating system's advisory lock: released when the holder exits or is killed, and
//! reliable on local file systems only.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use store_core::{Result, StoreError};

use crate::error::BACKEND;

/// The held lock; dropping the last store of this process on the file releases it.
#[derive(Debug)]
pub(crate) struct WriterLock {
    _file: File,
}

/// Locks held by this process, by database path, so its stores share them.
fn held() -> &'static Mutex<HashMap<PathBuf, Weak<WriterLock>>> {
    static HELD: OnceLock<Mutex<HashMap<PathBuf, Weak<WriterLock>>>> = OnceLock::new();
    HELD.get_or_init(Default::default)
}

/// The sidecar lock file of `database`.
pub(crate) fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".writer-lock");
    PathBuf::from(name)
}

/// Takes (or shares) the writer lock of `database`; `Conflict` naming the holder when another
/// process has it.
pub(crate) fn acquire(database: &Path) -> Result<Arc<WriterLock>> {
    let key = database
        .canonicalize()
        .unwrap_or_else(|_| database.to_path_buf());
    let mut held = held().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(lock) = held.get(&key).and_then(Weak::upgrade) {
        return Ok(lock);
    }
    let path = lock_path(&key);
    let io = |e: std::io::Error| {
        StoreError::unavailable(format!(
            "cannot open the writer lock {}: {e}",
            path.display()
        ))
        .with_backend(BACKEND)
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(StoreError::conflict(format!(
                "the database {} is open for writing by another process ({}); wait for it or \
                 stop it (a reader opens the database read-only)",
                key.display(),
                if holder.is_empty() { "unknown" } else { holder }
            ))
            .with_retryable(false)
            .with_backend(BACKEND));
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    // Name the holder for whoever is refused next.
    let me = format!(
        "pid {} ({})",
        std::process::id(),
        std::env::args().next().unwrap_or_default()
    );
    let _ = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)).map(drop))
        .and_then(|()| file.write_all(me.as_bytes()));
    let lock = Arc::new(WriterLock { _file: file });
    held.insert(key, Arc::downgrade(&lock));
    Ok(lock)
}
