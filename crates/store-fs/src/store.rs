//! [`FsStore`]: the store, its tracing and blocking helpers. The trait impls are in
//! `objects`; construction is in `config`.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use store_core::{Result, StoreError};

use crate::BACKEND;
use crate::disk;
use crate::lock::WriterLock;
use crate::tree::Tree;

/// An [`ObjectStore`](store_core::ObjectStore) in a folder on the local file system.
///
/// Open one with [`FsStore::open`] or [`FsStore::builder`]. Clones share everything; the
/// folder's writer lock is released when the last clone is dropped.
///
/// - **Durable on acknowledgement.** Every write goes to a temporary file in the target's
///   folder, is synced, renamed over the target, and the folder is synced before the call
///   returns: after a crash an object is either the old one or the new one, never torn. The
///   metadata lives in the same file as the body, so one rename publishes both.
/// - **Content etags.** An etag is the quoted hex SHA-256 of the body, so stores holding equal
///   bytes agree on it, whatever the file system.
/// - **Exact conditional puts.** Create-only and if-match puts check and publish under a
///   per-key lock, and only one process may open a folder for writing (a second one gets a
///   `Conflict` naming the holder), so conditions hold exactly — on one host: the folder lock
///   is an advisory lock of the operating system, not reliable over NFS or SMB.
/// - **Any valid key.** Keys are escaped into short lower-case ASCII names (see the crate
///   documentation for the layout), so `..`, `/x`, control characters, upper and lower case,
///   NFC and NFD forms and 1,024-byte keys are all stored faithfully and nothing is ever
///   written outside the folder.
/// - **Bounded memory.** `put_stream`, `get`, `upload_file` and `download_file` move bodies in
///   chunks of at most 1 MiB.
///
/// Presigned URLs need a server, so [`presign`](store_core::ObjectStore::presign) is
/// `Unsupported` (after checking the expiry, as on every store).
#[derive(Clone)]
pub struct FsStore {
    pub(crate) inner: Arc<Inner>,
}

/// What the clones of a store share.
pub(crate) struct Inner {
    pub(crate) root: PathBuf,
    pub(crate) tree: Tree,
    pub(crate) read_only: bool,
    /// Held while the store lives; `None` when read-only.
    pub(crate) _writer: Option<WriterLock>,
}

impl fmt::Debug for FsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FsStore")
            .field("root", &self.inner.root)
            .field("read_only", &self.inner.read_only)
            .finish_non_exhaustive()
    }
}

impl FsStore {
    /// The store's folder (the format file, the lock file and the `objects` tree are in it).
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Whether this store was opened read-only (writes fail with `Unsupported`).
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// Removes the temporary files that writers which crashed (or were killed) left behind,
    /// and folders left empty; returns how many files were removed. Files of this store's own
    /// writes in progress are kept. Opening a store for writing starts this in the background
    /// unless [`sweep_on_open`](crate::FsStoreBuilder::sweep_on_open) is off. Temporary files
    /// are never listed either way.
    pub async fn sweep_temp_files(&self) -> Result<usize> {
        self.in_context("sweep", "", async {
            self.writable()?;
            self.blocking(|inner| {
                let objects = inner.tree.objects();
                disk::sweep(objects, inner.tree.session())
                    .map_err(|e| crate::error::io_error("sweep", objects, e))
            })
            .await
        })
        .await
    }

    /// Fails with `Unsupported` on a read-only store.
    pub(crate) fn writable(&self) -> Result<()> {
        if self.inner.read_only {
            return Err(StoreError::unsupported(format!(
                "the store in `{}` was opened read-only",
                self.inner.root.display()
            )));
        }
        Ok(())
    }

    /// Runs blocking file system work on tokio's blocking pool.
    pub(crate) async fn blocking<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|e| StoreError::internal(format!("a file system task failed: {e}")))?
    }

    /// Runs an operation and puts the backend, operation and target on its error. Spans are
    /// the job of `store_layers::TraceLayer`.
    pub(crate) async fn in_context<T>(
        &self,
        operation: &'static str,
        target: &str,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        work.await.map_err(|e| {
            let e = e.in_context(BACKEND, operation);
            if e.target().is_none() && !target.is_empty() {
                e.with_target(target)
            } else {
                e
            }
        })
    }
}
