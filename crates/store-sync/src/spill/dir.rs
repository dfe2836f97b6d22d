//! The temporary directory a run spills into: made on first use, removed with everything in
//! it when dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use store_core::{Result, StoreError};

/// A fresh directory under the configured (or system) temporary directory. Clones share it;
/// the last one dropped removes it.
#[derive(Debug, Clone)]
pub(crate) struct SpillDir {
    path: Arc<Removed>,
    files: Arc<AtomicU64>,
}

#[derive(Debug)]
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        // Nothing to tell anyone if it fails: the files are scratch, and the system's
        // temporary directory is cleaned in time.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl SpillDir {
    /// Makes a new directory under `base` (the system's temporary directory when `None`),
    /// which must exist.
    pub(crate) fn create(base: Option<&Path>) -> Result<Self> {
        use std::hash::{BuildHasher as _, RandomState};
        static DIRS: AtomicU64 = AtomicU64::new(0);
        let base = base.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let n = DIRS.fetch_add(1, Ordering::Relaxed);
        let random = RandomState::new().hash_one(n);
        let path = base.join(format!(
            "stores-spill-{}-{n}-{random:016x}",
            std::process::id()
        ));
        if !base.is_dir() {
            return Err(StoreError::invalid_input(format!(
                "the spill directory {} does not exist",
                base.display()
            )));
        }
        std::fs::create_dir(&path).map_err(|e| spill_error(&path, &e))?;
        Ok(Self {
            path: Arc::new(Removed(path)),
            files: Arc::new(AtomicU64::new(0)),
        })
    }

    /// A new file name in the directory, unused so far.
    pub(crate) fn file(&self) -> PathBuf {
        let n = self.files.fetch_add(1, Ordering::Relaxed);
        self.path.0.join(format!("{n}.spill"))
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
}
