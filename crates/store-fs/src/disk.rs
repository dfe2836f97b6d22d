//! Durable file system steps: temporary files, directory syncs, creating and pruning folders,
//! and sweeping the temporary files a crashed writer left behind.

use std::collections::hash_map::RandomState;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Every temporary file's name starts with this (a `.`, so it is never a key's name).
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

/// How often a temporary file's creation is retried when a concurrent delete pruned its folder.
const CREATE_ATTEMPTS: usize = 16;

/// Names temporary files so that those of this opening of the store can be told apart from
/// the leftovers of earlier (crashed) ones.
#[derive(Debug)]
pub(crate) struct Session {
    id: u64,
    counter: AtomicU64,
}

impl Session {
    /// A session with a fresh random id.
    pub(crate) fn new() -> Self {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        if let Ok(since) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            hasher.write_u128(since.as_nanos());
        }
        Self {
            id: hasher.finish(),
            counter: AtomicU64::new(0),
        }
    }

    /// The start of every temporary name of this session.
    fn own_prefix(&self) -> String {
        format!("{TEMP_PREFIX}{:016x}-", self.id)
    }

    /// A new temporary file name.
    pub(crate) fn temp_name(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}{n}", self.own_prefix())
    }
}

/// Makes a directory's entries (a rename, a new file or folder) durable. Only Unix can open
/// and sync a directory; elsewhere this does nothing (Windows is not a target).
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// A temporary file that is removed when dropped, unless it was published.
#[derive(Debug)]
pub(crate) struct TempFile {
    path: Option<PathBuf>,
}

impl TempFile {
    /// The temporary file's path.
    pub(crate) fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Renames the file over `target`; from now on dropping it removes nothing.
    pub(crate) fn publish(mut self, target: &Path) -> io::Result<()> {
        fs::rename(self.path(), target)?;
        self.path = None;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// Creates a new temporary file in `dir` (somewhere under `root`), creating the folders down to
/// it as needed, each made durable in its parent. A folder pruned by a concurrent delete
/// between the two steps is created again.
pub(crate) fn create_temp(
    root: &Path,
    dir: &Path,
    session: &Session,
) -> io::Result<(File, TempFile)> {
    let mut created: Vec<PathBuf> = Vec::new();
    let mut last_error = None;
    for _ in 0..CREATE_ATTEMPTS {
        let path = dir.join(session.temp_name());
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => {
                // The new folders stay: the temporary file keeps them from being pruned.
                for folder in &created {
                    if let Some(parent) = folder.parent() {
                        sync_dir(parent)?;
                    }
                }
                return Ok((file, TempFile { path: Some(path) }));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                create_dirs(root, dir, &mut created)?;
                last_error = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no temporary file could be created")))
}

/// Creates the folders from `root` down to `dir`, recording the ones it made.
fn create_dirs(root: &Path, dir: &Path, created: &mut Vec<PathBuf>) -> io::Result<()> {
    let relative = dir.strip_prefix(root).map_err(io::Error::other)?;
    let mut path = root.to_path_buf();
    for part in relative.components() {
        path.push(part);
        match fs::create_dir(&path) {
            // A folder made again after a concurrent prune is listed twice: one more sync.
            Ok(()) => created.push(path.clone()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            // A concurrent prune removed a parent: the caller tries again.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Removes `dir` and its parents up to (not including) `root` while they are empty.
pub(crate) fn prune(root: &Path, dir: &Path) {
    let mut current = dir;
    while current != root && current.starts_with(root) {
        if fs::remove_dir(current).is_err() {
            return;
        }
        match current.parent() {
            Some(parent) => current = parent,
            None => return,
        }
    }
}

/// Removes every temporary file under `root` that this session did not create (the leftovers
/// of writers that crashed), and folders left empty; returns how many files it removed.
pub(crate) fn sweep(root: &Path, session: &Session) -> io::Result<usize> {
    let own = session.own_prefix();
    let mut removed = 0;
    let mut stack = vec![(root.to_path_buf(), false)];
    while let Some((dir, visited)) = stack.pop() {
        if visited {
            if dir != root {
                // Only succeeds when empty.
                let _ = fs::remove_dir(&dir);
            }
            continue;
        }
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        stack.push((dir.clone(), true));
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push((entry.path(), false));
            } else if name.starts_with(TEMP_PREFIX) && !name.starts_with(&own) {
                match fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "store-fs-disk-{name}-{}-{:x}",
            std::process::id(),
            Session::new().id
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn temp_files_create_their_folders_and_vanish_unless_published() {
        let root = scratch("temp");
        let session = Session::new();
        let dir = root.join("a").join("b");
        let (_, temp) = create_temp(&root, &dir, &session).unwrap();
        let path = temp.path().to_path_buf();
        assert!(path.exists());
        drop(temp);
        assert!(!path.exists());
        let (_, temp) = create_temp(&root, &dir, &session).unwrap();
        temp.publish(&dir.join("x~")).unwrap();
        assert!(dir.join("x~").exists());
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn prune_stops_at_the_first_non_empty_folder_and_at_the_root() {
        let root = scratch("prune");
        fs::create_dir_all(root.join("a/b/c")).unwrap();
        fs::write(root.join("a/keep~"), b"").unwrap();
        prune(&root, &root.join("a/b/c"));
        assert!(!root.join("a/b").exists());
        assert!(root.join("a/keep~").exists());
        fs::remove_file(root.join("a/keep~")).unwrap();
        prune(&root, &root.join("a"));
        assert!(root.exists() && !root.join("a").exists());
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn sweep_removes_only_other_sessions_temp_files() {
        let root = scratch("sweep");
        let (old, mine) = (Session::new(), Session::new());
        let (_, stale) = create_temp(&root, &root.join("x/y"), &old).unwrap();
        let stale_path = stale.path().to_path_buf();
        std::mem::forget(stale);
        let (_, live) = create_temp(&root, &root.join("z"), &mine).unwrap();
        fs::write(root.join("z/keep~"), b"").unwrap();
        assert_eq!(sweep(&root, &mine).unwrap(), 1);
        assert!(!stale_path.exists());
        assert!(!root.join("x").exists(), "emptied folders are removed");
        assert!(live.path().exists() && root.join("z/keep~").exists());
        drop(live);
        fs::remove_dir_all(root).unwrap();
    }
}
