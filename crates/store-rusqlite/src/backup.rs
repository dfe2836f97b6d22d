//! Online backup to a file: SQLite's backup API, copied in one step from a consistent
//! snapshot, written to a temporary file that is synced and renamed into place.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};
use store_core::{Result, StoreError};

use crate::error::{BACKEND, map_sqlite};
use crate::store::SqliteStore;

impl SqliteStore {
    /// Copies the whole database into a new file at `path` while the store stays in use,
    /// returning the copy's size in bytes.
    ///
    /// The copy is one consistent snapshot (taken on a reader connection, so writers go on
    /// writing), written next to `path` under a temporary name, synced, then renamed over
    /// `path`: a crash leaves either the old file or the complete new one. The copy carries
    /// this crate's application id, so [`SqliteStore::open`] opens it.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use store_core::{SqlStore, SqlStoreExt};
    /// use store_rusqlite::SqliteStore;
    ///
    /// let store = SqliteStore::memory().await?;
    /// store.batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (7)").await?;
    /// let copy = std::env::temp_dir().join(format!("backup-doc-{}.db", std::process::id()));
    /// store.backup_to(&copy).await?;
    /// let restored = SqliteStore::open(&copy).await?;
    /// assert_eq!(restored.query_one("SELECT x FROM t", &[]).await?.get("x"), Some(&7.into()));
    /// # drop(restored);
    /// # let _ = std::fs::remove_file(&copy);
    /// # Ok::<_, store_core::StoreError>(())
    /// # }).unwrap();
    /// ```
    pub async fn backup_to(&self, path: impl AsRef<Path>) -> Result<u64> {
        let dest = path.as_ref().to_path_buf();
        let shown = dest.display().to_string();
        let wait = self.config().wait();
        async move {
            let copied = match self.readers() {
                Some(readers) => {
                    let mut lease = readers.lease("backup").await?;
                    tokio::task::spawn_blocking(move || {
                        let conn = lease.conn()?;
                        backup_file(conn, &dest, wait)
                    })
                    .await
                    .map_err(|e| StoreError::internal(format!("the backup task failed: {e}")))?
                }
                None => {
                    let guard = self.writer("backup").await?;
                    guard.run(move |conn| backup_file(conn, &dest, wait)).await
                }
            };
            copied.map_err(|e| e.in_context(BACKEND, "backup").with_target(shown))
        }
        .await
    }
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::unavailable(format!("{what} {}: {e}", path.display())).with_source(e)
}

/// A name next to `dest` for the copy in progress.
fn temporary_next_to(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map_or_else(|| "backup".into(), |n| n.to_string_lossy().into_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    dest.with_file_name(format!(".{name}.partial-{}-{nanos}", std::process::id()))
}

fn backup_file(src: &Connection, dest: &Path, wait: Duration) -> Result<u64> {
    let tmp = temporary_next_to(dest);
    let outcome = copy_then_rename(src, &tmp, dest, wait);
    if outcome.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    outcome
}

fn copy_then_rename(src: &Connection, tmp: &Path, dest: &Path, wait: Duration) -> Result<u64> {
    let mut dst = Connection::open(tmp).map_err(|e| map_sqlite(e, "backup"))?;
    {
        let backup = Backup::new(src, &mut dst).map_err(|e| map_sqlite(e, "backup"))?;
        let started = Instant::now();
        loop {
            match backup.step(-1).map_err(|e| map_sqlite(e, "backup"))? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked if started.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => {
                    return Err(StoreError::conflict(format!(
                        "the database stayed locked for over {wait:?} during the backup"
                    )));
                }
            }
        }
    }
    dst.close().map_err(|(_, e)| map_sqlite(e, "backup"))?;
    let file = std::fs::File::open(tmp).map_err(|e| io_err("opening", tmp, e))?;
    file.sync_all().map_err(|e| io_err("syncing", tmp, e))?;
    let size = file
        .metadata()
        .map_err(|e| io_err("reading the size of", tmp, e))?
        .len();
    std::fs::rename(tmp, dest).map_err(|e| io_err("renaming the backup to", dest, e))?;
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(size)
}
