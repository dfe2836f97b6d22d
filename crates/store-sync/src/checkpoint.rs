//! Checkpoints: where a copy stands, in a JSON file replaced atomically after each batch the
//! sink confirmed, so a killed copy resumes and re-sends at most one batch.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use store_core::{Result, StoreError};

use crate::files::write_atomically;
use crate::sink::Receipt;

/// The checkpoint format's version.
pub const CHECKPOINT_VERSION: u32 = 1;

/// The saved state of one copy job (one partition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The format version.
    pub version: u32,
    /// Which job this is: source, sink and partition, so a checkpoint is never applied to
    /// another job.
    pub job: String,
    /// Where reading continues; `None` before the first batch.
    pub resume: Option<String>,
    /// Records the sink has confirmed so far.
    pub records: u64,
    /// Batches the sink has confirmed so far.
    pub batches: u64,
    /// The sink's receipts, in order.
    #[serde(default)]
    pub receipts: Vec<Receipt>,
    /// Whether the job finished.
    pub done: bool,
    /// The digest of the partition plan the job reads by ([`PartitionPlan::digest`](crate::PartitionPlan::digest)),
    /// for a partition of a source that needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

impl Checkpoint {
    /// A fresh checkpoint for `job`.
    pub fn new(job: impl Into<String>) -> Self {
        Self {
            version: CHECKPOINT_VERSION,
            job: job.into(),
            resume: None,
            records: 0,
            batches: 0,
            receipts: Vec::new(),
            done: false,
            plan: None,
        }
    }
}

/// A checkpoint file.
#[derive(Debug, Clone)]
pub struct CheckpointFile {
    path: PathBuf,
}

impl CheckpointFile {
    /// The checkpoint kept at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the checkpoint, or `None` if there is none; a file of another format is an error.
    pub async fn load(&self) -> Result<Option<Checkpoint>> {
        let checkpoint: Option<Checkpoint> = self.load_as().await?;
        check_version(self, checkpoint.as_ref().map(|c| c.version))?;
        Ok(checkpoint)
    }

    /// Replaces the checkpoint atomically: a temporary file written and fsynced, renamed over
    /// the old one, and the directory fsynced.
    pub async fn save(&self, checkpoint: &Checkpoint) -> Result<()> {
        self.save_as(checkpoint).await
    }

    /// Reads any checkpoint-like JSON state kept in this file.
    pub(crate) async fn load_as<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        let bytes = match tokio::fs::read(&self.path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io_error("read", e)),
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            StoreError::invalid_input(format!(
                "{} is not a stores checkpoint of this kind ({e}); remove it or pass --restart",
                self.path.display()
            ))
        })
    }

    /// Replaces any checkpoint-like JSON state atomically (see [`CheckpointFile::save`]).
    pub(crate) async fn save_as<T: Serialize>(&self, state: &T) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(state)
            .map_err(|e| StoreError::internal(format!("checkpoint encoding failed: {e}")))?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(|e| StoreError::internal(format!("checkpoint writer failed: {e}")))?
            .map_err(|e| self.io_error("write", e))
    }

    /// Removes the checkpoint, if any.
    pub async fn remove(&self) -> Result<()> {
        match tokio::fs::remove_file(&self.path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io_error("remove", e)),
        }
    }

    fn io_error(&self, what: &str, e: std::io::Error) -> StoreError {
        StoreError::unavailable(format!(
            "cannot {what} the checkpoint {}: {e}",
            self.path.display()
        ))
    }
}

/// Refuses a checkpoint written by a build with another format.
pub(crate) fn check_version(file: &CheckpointFile, version: Option<u32>) -> Result<()> {
    match version {
        Some(v) if v != CHECKPOINT_VERSION => Err(StoreError::invalid_input(format!(
            "{} is a version {v} checkpoint; this build reads version {CHECKPOINT_VERSION}",
            file.path().display()
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn saves_loads_and_refuses_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = CheckpointFile::new(dir.path().join("sub/job.json"));
        assert_eq!(file.load().await.unwrap(), None);
        let mut cp = Checkpoint::new("a -> b");
        cp.resume = Some("k".into());
        cp.records = 10;
        file.save(&cp).await.unwrap();
        assert_eq!(file.load().await.unwrap(), Some(cp));
        assert_eq!(
            std::fs::read_dir(dir.path().join("sub")).unwrap().count(),
            1,
            "a temporary file was left"
        );
        std::fs::write(file.path(), b"{\"something\": 1}").unwrap();
        let err = file.load().await.unwrap_err();
        assert!(
            err.message().contains("not a stores checkpoint"),
            "{}",
            err.message()
        );
        file.remove().await.unwrap();
        assert_eq!(file.load().await.unwrap(), None);
    }
}
