//! How an [`FsStore`] is opened: [`FsStoreBuilder`] (with [`FsStore::builder`]) and
//! [`FsStore::open`].

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use store_core::{Result, StoreError};

use crate::disk;
use crate::error::io_error;
use crate::format::{self, OBJECTS_DIR};
use crate::lock::WriterLock;
use crate::store::{FsStore, Inner};
use crate::tree::Tree;

/// Opens an [`FsStore`] in a folder.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use store_fs::FsStore;
/// let root = std::env::temp_dir().join(format!("store-fs-builder-doc-{}", std::process::id()));
/// let store = FsStore::builder(&root)
///     .create_if_missing(true)
///     .sweep_on_open(false)
///     .build()
///     .await?;
/// assert!(!store.is_read_only());
/// // The same folder, read-only, alongside the writer:
/// let reader = FsStore::builder(&root).read_only(true).build().await?;
/// assert!(reader.is_read_only());
/// # drop((store, reader));
/// # std::fs::remove_dir_all(&root).unwrap();
/// # Ok::<_, store_core::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct FsStoreBuilder {
    root: PathBuf,
    create_if_missing: bool,
    read_only: bool,
    sweep_on_open: bool,
}

impl FsStore {
    /// A builder for a store in the folder `root`.
    pub fn builder(root: impl AsRef<Path>) -> FsStoreBuilder {
        FsStoreBuilder::new(root)
    }

    /// Opens (or creates) the store in `root` for writing, with the default options: the
    /// folder is created if missing, and temporary files left by a crashed writer are swept
    /// in the background.
    pub async fn open(root: impl AsRef<Path>) -> Result<Self> {
        FsStoreBuilder::new(root).build().await
    }
}

impl FsStoreBuilder {
    /// A builder for `root`, with the defaults of [`FsStore::open`].
    pub fn new(root: impl AsRef<Path>) -> Self {
        Self {
            root: root.as_ref().to_path_buf(),
            create_if_missing: true,
            read_only: false,
            sweep_on_open: true,
        }
    }

    /// Whether a missing folder is created (default: yes); without it, a missing folder is
    /// `NotFound`.
    pub fn create_if_missing(mut self, on: bool) -> Self {
        self.create_if_missing = on;
        self
    }

    /// Opens without the writer lock, so any number of readers can work alongside the one
    /// writer (default: no). Every write then fails with `Unsupported`, and the folder must
    /// already hold a store.
    pub fn read_only(mut self, on: bool) -> Self {
        self.read_only = on;
        self
    }

    /// Whether opening for writing starts a background sweep of temporary files left by
    /// crashed writers (default: yes). It walks the whole tree, once; see
    /// [`FsStore::sweep_temp_files`] to run it yourself.
    pub fn sweep_on_open(mut self, on: bool) -> Self {
        self.sweep_on_open = on;
        self
    }

    /// Opens the store.
    ///
    /// Fails with `NotFound` for a missing folder (read-only, or without
    /// `create_if_missing`), `InvalidInput` for a folder that holds other files but no store,
    /// `Unsupported` for a store of another on-disk format, and `Conflict` when another
    /// process (or another open store in this one) holds the folder for writing.
    pub async fn build(self) -> Result<FsStore> {
        let sweep = self.sweep_on_open && !self.read_only;
        let store = tokio::task::spawn_blocking(move || self.open_blocking())
            .await
            .map_err(|e| StoreError::internal(format!("the open task failed: {e}")))?
            .map_err(|e| e.in_context(crate::BACKEND, "open"))?;
        if sweep {
            let inner = Arc::clone(&store.inner);
            tokio::task::spawn_blocking(move || {
                let objects = inner.tree.objects();
                match disk::sweep(objects, inner.tree.session()) {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(removed = n, root = %inner.root.display(), "swept temporary files")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, root = %inner.root.display(), "sweeping temporary files failed")
                    }
                }
            });
        }
        Ok(store)
    }

    fn open_blocking(self) -> Result<FsStore> {
        let root = self.root;
        match fs::metadata(&root) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(StoreError::invalid_input(format!(
                    "`{}` is not a folder",
                    root.display()
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if self.read_only || !self.create_if_missing {
                    return Err(StoreError::not_found(format!(
                        "there is no store in `{}`: the folder does not exist",
                        root.display()
                    )));
                }
                fs::create_dir_all(&root).map_err(|e| io_error("create", &root, e))?;
                if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
                    disk::sync_dir(parent).map_err(|e| io_error("sync", parent, e))?;
                }
            }
            Err(e) => return Err(io_error("open", &root, e)),
        }
        // Absolute, so that the store keeps working if the process changes directory.
        let root = fs::canonicalize(&root).map_err(|e| io_error("resolve", &root, e))?;
        let writer = if self.read_only {
            if format::read(&root)?.is_none() {
                return Err(StoreError::not_found(format!(
                    "there is no store in `{}` (no {})",
                    root.display(),
                    format::FORMAT_FILE
                )));
            }
            None
        } else {
            if format::read(&root)?.is_none() {
                format::check_unused(&root)?;
            }
            let lock = WriterLock::acquire(&root)?;
            // Under the lock: initialize if nobody did.
            if format::read(&root)?.is_none() {
                format::init(&root)?;
            }
            Some(lock)
        };
        let objects = root.join(OBJECTS_DIR);
        Ok(FsStore {
            inner: Arc::new(Inner {
                root,
                tree: Tree::new(objects),
                read_only: self.read_only,
                _writer: writer,
            }),
        })
    }
}
