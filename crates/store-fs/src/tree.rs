//! [`Tree`]: the object folder of an open store, with what every blocking operation on it
//! needs (temporary names, key locks), and the lookups shared by reads and writes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use store_core::{ErrorKind, ObjectKey, Result, StoreError};

use crate::disk::Session;
use crate::layout;
use crate::lock::KeyLocks;
use crate::record::{self, Opened, Trailer};

/// The object folder of an open store.
#[derive(Debug)]
pub(crate) struct Tree {
    objects: PathBuf,
    session: Session,
    locks: KeyLocks,
}

impl Tree {
    /// The tree under `objects`, with a new session for temporary names.
    pub(crate) fn new(objects: PathBuf) -> Self {
        Self {
            objects,
            session: Session::new(),
            locks: KeyLocks::new(),
        }
    }

    /// The object folder.
    pub(crate) fn objects(&self) -> &Path {
        &self.objects
    }

    /// This opening's temporary names.
    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    /// The in-process key locks.
    pub(crate) fn locks(&self) -> &KeyLocks {
        &self.locks
    }

    /// The file that holds `key`.
    pub(crate) fn path(&self, key: &str) -> PathBuf {
        layout::object_path(&self.objects, key)
    }

    /// Opens the object at `key`; a missing one is `NotFound` with `missing` as the message.
    pub(crate) fn open(&self, key: &ObjectKey, missing: &'static str) -> Result<Opened> {
        record::open(&self.path(key.as_str()), key.as_str()).map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                StoreError::not_found(missing).with_source(e)
            } else {
                e
            }
        })
    }

    /// The metadata of the object at `key`; a missing one is `NotFound` with `missing`.
    pub(crate) fn trailer(&self, key: &ObjectKey, missing: &'static str) -> Result<Trailer> {
        record::read_trailer(&self.path(key.as_str()), key.as_str()).map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                StoreError::not_found(missing).with_source(e)
            } else {
                e
            }
        })
    }

    /// The etag of the object at `key`, `None` when there is none.
    pub(crate) fn current_etag(&self, key: &ObjectKey) -> Result<Option<String>> {
        match self.trailer(key, "missing") {
            Ok(trailer) => Ok(Some(trailer.etag())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether something is stored at `key`.
    pub(crate) fn exists(&self, key: &ObjectKey) -> Result<bool> {
        let path = self.path(key.as_str());
        match fs::symlink_metadata(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(crate::error::io_error("look up", &path, e)),
        }
    }
}
