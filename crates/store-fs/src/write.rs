//! Writes: [`Staged`], an object being written to a temporary file next to its target, and
//! the commit that publishes it (condition checked, rename, folder synced) under the key's lock;
//! deletes.
//!
//! Every step here blocks; the store runs them on tokio's blocking pool.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use store_core::object::{DeleteFailure, PutMode, PutResult, etag_matches};
use store_core::{ObjectKey, Result, StoreError};

use crate::disk::{self, TempFile, sync_dir};
use crate::error::io_error;
use crate::record::{Trailer, hex};
use crate::tree::Tree;
use crate::writeback::Writeback;

/// An object being written: a synced rename away from being visible.
#[derive(Debug)]
pub(crate) struct Staged {
    file: File,
    temp: TempFile,
    hasher: Sha256,
    size: u64,
    key: ObjectKey,
    target: PathBuf,
    writeback: Writeback,
}

impl Staged {
    /// Starts writing `key`. A condition that already fails is reported now, before the body
    /// is written (it is checked again, exactly, at the commit).
    pub(crate) fn create(tree: &Tree, key: &ObjectKey, mode: &PutMode) -> Result<Self> {
        check(tree, key, mode)?;
        let target = tree.path(key.as_str());
        let dir = parent(&target);
        let (file, temp) = disk::create_temp(tree.objects(), dir, tree.session())
            .map_err(|e| io_error("create a temporary file in", dir, e))?;
        Ok(Self {
            file,
            temp,
            hasher: Sha256::new(),
            size: 0,
            key: key.clone(),
            target,
            writeback: Writeback::default(),
        })
    }

    /// Appends body bytes.
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<()> {
        self.hasher.update(data);
        self.file
            .write_all(data)
            .and_then(|()| self.writeback.wrote(&self.file, data.len() as u64))
            .map_err(|e| io_error("write", self.temp.path(), e))?;
        self.size += data.len() as u64;
        Ok(())
    }

    /// Appends `len` body bytes copied from `source` at its current position, without
    /// hashing them: the caller gives the digest at the commit (copies of stored objects).
    pub(crate) fn copy_from(&mut self, source: &mut File, len: u64) -> Result<()> {
        use std::io::Read;
        let copied = std::io::copy(&mut source.take(len), &mut self.file)
            .and_then(|copied| self.writeback.wrote(&self.file, copied).map(|()| copied))
            .map_err(|e| io_error("copy into", self.temp.path(), e))?;
        if copied != len {
            return Err(StoreError::internal(format!(
                "the source object ended after {copied} of {len} bytes"
            )));
        }
        self.size += len;
        Ok(())
    }

    /// Finishes the file (trailer appended, data synced), then, holding the key's lock,
    /// checks `mode` against what is stored, renames the file over the key and syncs the
    /// folder. `sha256` is the body's digest when it was not hashed while written.
    pub(crate) fn commit(
        mut self,
        tree: &Tree,
        mode: &PutMode,
        content_type: Option<String>,
        metadata: BTreeMap<String, String>,
        sha256: Option<String>,
    ) -> Result<PutResult> {
        let sha256 = sha256.unwrap_or_else(|| hex(&self.hasher.finalize()));
        let trailer = Trailer::now(&self.key, self.size, sha256, content_type, metadata);
        let tail = trailer.encode()?;
        let temp = self.temp.path().to_path_buf();
        self.file
            .write_all(&tail)
            .and_then(|()| self.writeback.finish())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io_error("write", &temp, e))?;
        drop(self.file);
        let _guard = tree.locks().lock(self.key.as_str());
        check(tree, &self.key, mode)?;
        self.temp
            .publish(&self.target)
            .map_err(|e| io_error("rename a temporary file over", &self.target, e))?;
        let dir = parent(&self.target);
        sync_dir(dir).map_err(|e| io_error("sync the folder", dir, e))?;
        Ok(PutResult {
            etag: Some(trailer.etag()),
            version: None,
        })
    }
}

/// The folder a file is in.
fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}

/// Whether a put in `mode` may replace what is stored at `key`; the same answers and messages
/// as the in-memory reference store.
fn check(tree: &Tree, key: &ObjectKey, mode: &PutMode) -> Result<()> {
    match mode {
        PutMode::Overwrite => Ok(()),
        PutMode::CreateOnly if tree.exists(key)? => Err(StoreError::already_exists(
            "an object already exists at this key",
        )),
        PutMode::CreateOnly => Ok(()),
        PutMode::IfMatch(expected) => match tree.current_etag(key)? {
            Some(found) if etag_matches(expected, Some(&found)) => Ok(()),
            Some(found) => Err(StoreError::precondition_failed(format!(
                "if-match etag {expected} does not match the current etag {found}"
            ))),
            None => Err(StoreError::precondition_failed(format!(
                "if-match etag {expected} given but no object exists at this key"
            ))),
        },
    }
}

/// Deletes the objects at `keys` (missing ones are fine), syncing each touched folder once
/// and pruning folders left empty. Returns the keys that could not be deleted.
pub(crate) fn delete(tree: &Tree, keys: &[ObjectKey]) -> Vec<DeleteFailure> {
    let mut failures = Vec::new();
    let mut touched: BTreeSet<PathBuf> = BTreeSet::new();
    for key in keys {
        let target = tree.path(key.as_str());
        let removed = {
            let _guard = tree.locks().lock(key.as_str());
            fs::remove_file(&target)
        };
        match removed {
            Ok(()) => {
                touched.insert(parent(&target).to_path_buf());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => failures.push(DeleteFailure {
                key: key.clone(),
                error: io_error("remove", &target, e),
            }),
        }
    }
    for dir in touched {
        if let Err(e) = sync_dir(&dir) {
            // The files are gone but maybe not durably: report every key of that folder.
            let error = io_error("sync the folder", &dir, e);
            for key in keys {
                if parent(&tree.path(key.as_str())) == dir {
                    failures.push(DeleteFailure {
                        key: key.clone(),
                        error: StoreError::new(error.kind(), error.message().to_owned()),
                    });
                }
            }
            continue;
        }
        disk::prune(tree.objects(), &dir);
    }
    failures
}
