//! [`PartWriter`]: one downloaded part written into its place in the temporary file.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use store_core::{Result, StoreError};

use crate::error::io_error;

/// The bytes a part gathers before each write to its file.
const WRITE_BUFFER: usize = 256 * 1024;

/// Writes a part's body, which arrives in chunks of a few KiB, into the file from the part's
/// offset on, in writes of [`WRITE_BUFFER`] made on the blocking pool. The buffer goes to the
/// blocking thread and back with the file, so a part holds one buffer and no byte is copied
/// twice (a tokio file would copy each write into a buffer of its own).
pub(super) struct PartWriter {
    /// `None` only while a write is on the blocking pool.
    file: Option<std::fs::File>,
    buffer: Vec<u8>,
    path: PathBuf,
}

impl PartWriter {
    /// Opens `path` for writing (its own handle, so its own position) at `offset`.
    pub(super) async fn open(path: &Path, offset: u64) -> Result<Self> {
        let at = path.to_owned();
        let file = blocking(path, "open", move || {
            let mut file = std::fs::OpenOptions::new().write(true).open(&at)?;
            file.seek(SeekFrom::Start(offset))?;
            Ok(file)
        })
        .await?;
        Ok(Self {
            file: Some(file),
            buffer: Vec::with_capacity(WRITE_BUFFER),
            path: path.to_owned(),
        })
    }

    /// Adds `chunk`, writing the buffer once it is full.
    pub(super) async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.buffer.extend_from_slice(chunk);
        if self.buffer.len() >= WRITE_BUFFER {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes what the buffer holds.
    pub(super) async fn flush(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut file = self.file.take().ok_or_else(|| {
            StoreError::internal("a part's file was lost by an earlier failed write")
        })?;
        let buffer = std::mem::take(&mut self.buffer);
        let (file, mut buffer) = blocking(&self.path, "write", move || {
            file.write_all(&buffer)?;
            Ok((file, buffer))
        })
        .await?;
        buffer.clear();
        self.file = Some(file);
        self.buffer = buffer;
        Ok(())
    }
}

/// Runs `work` on the blocking pool; its error names `action` on `path`.
async fn blocking<T: Send + 'static>(
    path: &Path,
    action: &str,
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(outcome) => outcome.map_err(|e| io_error(action, path, e)),
        Err(e) => Err(StoreError::internal(format!(
            "the {action} of `{}` did not finish: {e}",
            path.display()
        ))),
    }
}
