//! Early write-back of large bodies: while a body is still being written, its data is synced
//! in the background every 32 MiB, so the disk works while the writer copies and hashes, and
//! the final sync before the rename has little left to do.
//!
//! The background sync runs on a duplicate of the file's handle. A failed sync is the write's
//! failure (on Linux the error is reported once per open file, so it must not be dropped).

use std::fs::File;
use std::io;
use std::thread::JoinHandle;

/// Unsynced bytes that start a background sync.
const THRESHOLD: u64 = 32 * 1024 * 1024;

/// The background sync of one file being written.
#[derive(Debug, Default)]
pub(crate) struct Writeback {
    unsynced: u64,
    running: Option<JoinHandle<io::Result<()>>>,
}

impl Writeback {
    /// Notes `n` more bytes written to `file`, starting a background sync once enough are
    /// unsynced and the previous one is done.
    pub(crate) fn wrote(&mut self, file: &File, n: u64) -> io::Result<()> {
        self.unsynced += n;
        if self.unsynced < THRESHOLD || self.running.as_ref().is_some_and(|h| !h.is_finished()) {
            return Ok(());
        }
        self.finish()?;
        let duplicate = file.try_clone()?;
        self.running = Some(std::thread::spawn(move || duplicate.sync_data()));
        self.unsynced = 0;
        Ok(())
    }

    /// Waits for the background sync, if any, and returns its outcome.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        match self.running.take() {
            Some(handle) => handle
                .join()
                .map_err(|_| io::Error::other("a background sync panicked"))?,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_sync_starts_past_the_threshold_and_finishes_clean() {
        let path = std::env::temp_dir().join(format!("store-fs-writeback-{}", std::process::id()));
        let mut file = File::create(&path).unwrap();
        let mut writeback = Writeback::default();
        let block = vec![7u8; 1024 * 1024];
        for _ in 0..(THRESHOLD / block.len() as u64) - 1 {
            file.write_all(&block).unwrap();
            writeback.wrote(&file, block.len() as u64).unwrap();
        }
        assert!(writeback.running.is_none(), "below the threshold");
        file.write_all(&block).unwrap();
        writeback.wrote(&file, block.len() as u64).unwrap();
        assert!(writeback.running.is_some(), "at the threshold");
        writeback.finish().unwrap();
        assert!(writeback.running.is_none());
        drop(file);
        std::fs::remove_file(path).unwrap();
    }
}
