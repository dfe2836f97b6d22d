//! Scratch stores for tests: an [`FsStore`] in a new folder under the system's temporary
//! folder, removed (with everything in it) when the store is dropped.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use store_core::object::{
    ByteStream, DeleteFailure, GetOptions, GetResult, ListOptions, ListPage, ObjectCapabilities,
    ObjectMeta, PresignMethod, PutOptions, PutResult,
};
use store_core::{Cursor, Health, HealthReport, ObjectKey, ObjectStore, Result};
use store_fs::FsStore;

/// A new, unique, not yet existing path under the system's temporary folder.
pub(crate) fn unique_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!(
        "store-fs-{label}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Removes a folder when dropped.
pub(crate) struct Cleanup(pub(crate) PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An [`FsStore`] in its own temporary folder, which is removed when this is dropped.
#[derive(Debug)]
pub(crate) struct ScratchStore {
    store: Option<FsStore>,
    dir: PathBuf,
}

impl ScratchStore {
    /// A fresh, empty store.
    pub(crate) async fn new(label: &str) -> Self {
        let dir = unique_dir(label);
        let store = FsStore::open(&dir)
            .await
            .unwrap_or_else(|e| panic!("open a scratch store in {}: {e}", dir.display()));
        Self {
            store: Some(store),
            dir,
        }
    }

    /// The store.
    pub(crate) fn store(&self) -> &FsStore {
        self.store.as_ref().expect("the store lives until drop")
    }

    /// The store's folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for ScratchStore {
    fn drop(&mut self) {
        // Release the writer lock first, then remove the folder.
        drop(self.store.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[async_trait]
impl Health for ScratchStore {
    async fn health(&self) -> Result<HealthReport> {
        self.store().health().await
    }
}

#[async_trait]
impl ObjectStore for ScratchStore {
    fn backend(&self) -> &'static str {
        self.store().backend()
    }
    fn capabilities(&self) -> ObjectCapabilities {
        self.store().capabilities()
    }
    async fn put(&self, key: &ObjectKey, body: Bytes, options: PutOptions) -> Result<PutResult> {
        self.store().put(key, body, options).await
    }
    async fn put_stream(
        &self,
        key: &ObjectKey,
        body: ByteStream,
        options: PutOptions,
    ) -> Result<PutResult> {
        self.store().put_stream(key, body, options).await
    }
    async fn get(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult> {
        self.store().get(key, options).await
    }
    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta> {
        self.store().head(key).await
    }
    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        self.store().delete(key).await
    }
    async fn delete_many(&self, keys: &[ObjectKey]) -> Result<Vec<DeleteFailure>> {
        self.store().delete_many(keys).await
    }
    async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
        self.store().copy(from, to).await
    }
    async fn copy_if_not_exists(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
        self.store().copy_if_not_exists(from, to).await
    }
    async fn list_page(&self, options: &ListOptions, cursor: Option<Cursor>) -> Result<ListPage> {
        self.store().list_page(options, cursor).await
    }
    async fn presign(
        &self,
        method: PresignMethod,
        key: &ObjectKey,
        expires_in: Duration,
    ) -> Result<String> {
        self.store().presign(method, key, expires_in).await
    }
    async fn upload_file(
        &self,
        path: &Path,
        key: &ObjectKey,
        options: PutOptions,
    ) -> Result<PutResult> {
        self.store().upload_file(path, key, options).await
    }
    async fn download_file(&self, key: &ObjectKey, path: &Path) -> Result<u64> {
        self.store().download_file(key, path).await
    }
}
