//! The [`ObjectStore`] and [`Health`] impls of [`FsStore`]: each call validates, then runs its
//! file system work (in `write`, `read`, `list`, `files`) on the blocking pool.

use std::path::Path;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use store_core::object::{
    ByteStream, DeleteFailure, GetOptions, GetResult, ListOptions, ListPage, ObjectCapabilities,
    ObjectMeta, PresignMethod, PutMode, PutOptions, PutResult, check_get_conditions,
    validate_presign_expiry,
};
use store_core::{Cursor, Health, HealthReport, ObjectKey, ObjectStore, Result, StoreError};
use tokio::task::JoinHandle;

use crate::BACKEND;
use crate::files;
use crate::list::Request;
use crate::read::{self, CHUNK};
use crate::store::FsStore;
use crate::write::{self, Staged};

/// Stream chunks are gathered up to this size before one blocking write.
const WRITE_BATCH: usize = CHUNK;

/// A blocking write of a batch of chunks in flight, handing the staged object back.
type Pending = JoinHandle<Result<Staged>>;

impl FsStore {
    /// Waits for the batch in flight, if any, and returns the staged object.
    async fn settle(staged: &mut Option<Staged>, pending: &mut Option<Pending>) -> Result<Staged> {
        if let Some(handle) = pending.take() {
            return handle
                .await
                .map_err(|e| StoreError::internal(format!("a write task failed: {e}")))?;
        }
        staged
            .take()
            .ok_or_else(|| StoreError::internal("the staged object went missing"))
    }

    /// Writes a stream into a staged object: batches of up to 1 MiB, one written while the
    /// next is gathered, so at most two are in memory.
    async fn put_chunks(
        &self,
        key: &ObjectKey,
        mut body: ByteStream,
        options: PutOptions,
    ) -> Result<PutResult> {
        self.writable()?;
        let (k, mode) = (key.clone(), options.mode.clone());
        let first = self
            .blocking(move |inner| Staged::create(&inner.tree, &k, &mode))
            .await?;
        let mut staged = Some(first);
        let mut pending: Option<Pending> = None;
        let mut batch: Vec<Bytes> = Vec::new();
        let mut batch_len = 0usize;
        loop {
            let chunk = body.next().await.transpose()?;
            let done = chunk.is_none();
            if let Some(chunk) = chunk {
                batch_len += chunk.len();
                batch.push(chunk);
            }
            if batch_len >= WRITE_BATCH || (done && !batch.is_empty()) {
                let mut target = Self::settle(&mut staged, &mut pending).await?;
                let chunks = std::mem::take(&mut batch);
                batch_len = 0;
                pending = Some(tokio::task::spawn_blocking(move || {
                    for chunk in &chunks {
                        target.write(chunk)?;
                    }
                    Ok(target)
                }));
            }
            if done {
                break;
            }
        }
        let target = Self::settle(&mut staged, &mut pending).await?;
        let PutOptions {
            mode,
            content_type,
            metadata,
        } = options;
        self.blocking(move |inner| target.commit(&inner.tree, &mode, content_type, metadata, None))
            .await
    }

    /// Copies `from` to `to` with `mode` checked when the copy is committed (under the
    /// folder's single-writer lock, so a create-only copy cannot race another write here).
    async fn copy_object(&self, from: &ObjectKey, to: &ObjectKey, mode: PutMode) -> Result<()> {
        self.writable()?;
        let (from, to) = (from.clone(), to.clone());
        self.blocking(move |inner| {
            let mut source = inner
                .tree
                .open(&from, "no object exists at the source key")
                .map_err(|e| e.with_target(from.as_str()))?;
            let trailer = source.trailer;
            let mut staged =
                Staged::create(&inner.tree, &to, &mode).map_err(|e| e.with_target(to.as_str()))?;
            match source.whole.take() {
                Some(body) => staged.write(&body)?,
                None => staged.copy_from(&mut source.file, trailer.size)?,
            }
            staged
                .commit(
                    &inner.tree,
                    &mode,
                    trailer.content_type,
                    trailer.metadata,
                    Some(trailer.sha256),
                )
                .map_err(|e| e.with_target(to.as_str()))?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl ObjectStore for FsStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> ObjectCapabilities {
        ObjectCapabilities::none().conditional_put(true)
    }

    async fn put(&self, key: &ObjectKey, body: Bytes, options: PutOptions) -> Result<PutResult> {
        self.in_context("put", key.as_str(), async {
            self.writable()?;
            let key = key.clone();
            self.blocking(move |inner| {
                let mut staged = Staged::create(&inner.tree, &key, &options.mode)?;
                staged.write(&body)?;
                let PutOptions {
                    mode,
                    content_type,
                    metadata,
                } = options;
                staged.commit(&inner.tree, &mode, content_type, metadata, None)
            })
            .await
        })
        .await
    }

    async fn put_stream(
        &self,
        key: &ObjectKey,
        body: ByteStream,
        options: PutOptions,
    ) -> Result<PutResult> {
        self.in_context(
            "put_stream",
            key.as_str(),
            self.put_chunks(key, body, options),
        )
        .await
    }

    async fn get(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult> {
        self.in_context("get", key.as_str(), async {
            let k = key.clone();
            let opened = self
                .blocking(move |inner| inner.tree.open(&k, "no object exists at this key"))
                .await?;
            let meta = opened.trailer.meta(key.clone());
            check_get_conditions(&options, meta.etag.as_deref(), meta.last_modified)?;
            let size = opened.trailer.size;
            let range = match options.range {
                Some(range) => range.resolve(size)?,
                None => 0..size,
            };
            Ok(GetResult {
                meta,
                range: range.clone(),
                body: read::body(opened, range),
            })
        })
        .await
    }

    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta> {
        self.in_context("head", key.as_str(), async {
            let k = key.clone();
            self.blocking(move |inner| {
                let trailer = inner.tree.trailer(&k, "no object exists at this key")?;
                Ok(trailer.meta(k))
            })
            .await
        })
        .await
    }

    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        self.in_context("delete", key.as_str(), async {
            self.writable()?;
            let keys = vec![key.clone()];
            let mut failures = self
                .blocking(move |inner| Ok(write::delete(&inner.tree, &keys)))
                .await?;
            match failures.pop() {
                Some(failure) => Err(failure.error),
                None => Ok(()),
            }
        })
        .await
    }

    async fn delete_many(&self, keys: &[ObjectKey]) -> Result<Vec<DeleteFailure>> {
        self.in_context("delete_many", "", async {
            self.writable()?;
            let keys = keys.to_vec();
            self.blocking(move |inner| Ok(write::delete(&inner.tree, &keys)))
                .await
        })
        .await
    }

    async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
        self.in_context(
            "copy",
            from.as_str(),
            self.copy_object(from, to, PutMode::Overwrite),
        )
        .await
    }

    async fn copy_if_not_exists(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
        let copy = self.copy_object(from, to, PutMode::CreateOnly);
        self.in_context("copy_if_not_exists", from.as_str(), copy)
            .await
    }

    async fn list_page(&self, options: &ListOptions, cursor: Option<Cursor>) -> Result<ListPage> {
        let target = options.prefix.clone().unwrap_or_default();
        self.in_context("list", &target, async {
            let options = options.clone();
            let page = self
                .blocking(move |inner| {
                    Request::new(&options, cursor.as_ref())?.run(inner.tree.objects())
                })
                .await?;
            Ok(page)
        })
        .await
    }

    async fn presign(
        &self,
        _method: PresignMethod,
        key: &ObjectKey,
        expires_in: Duration,
    ) -> Result<String> {
        self.in_context("presign", key.as_str(), async {
            validate_presign_expiry(expires_in)?;
            Err(StoreError::unsupported(
                "a store in a local folder cannot presign URLs: it has no server",
            ))
        })
        .await
    }

    async fn upload_file(
        &self,
        path: &Path,
        key: &ObjectKey,
        options: PutOptions,
    ) -> Result<PutResult> {
        self.in_context("upload_file", key.as_str(), async {
            self.writable()?;
            let (path, key) = (path.to_path_buf(), key.clone());
            self.blocking(move |inner| files::upload(&inner.tree, &path, &key, options))
                .await
        })
        .await
    }

    async fn download_file(&self, key: &ObjectKey, path: &Path) -> Result<u64> {
        self.in_context("download_file", key.as_str(), async {
            let (path, key) = (path.to_path_buf(), key.clone());
            self.blocking(move |inner| files::download(&inner.tree, &key, &path))
                .await
        })
        .await
    }
}

#[async_trait]
impl Health for FsStore {
    async fn health(&self) -> Result<HealthReport> {
        let started = Instant::now();
        self.in_context("health", "", async {
            self.blocking(|inner| {
                crate::format::read(&inner.root)?.ok_or_else(|| {
                    StoreError::unavailable(format!(
                        "the format file of `{}` is gone",
                        inner.root.display()
                    ))
                })?;
                std::fs::read_dir(inner.tree.objects())
                    .map_err(|e| crate::error::io_error("read", inner.tree.objects(), e))?;
                Ok(())
            })
            .await
        })
        .await?;
        Ok(HealthReport {
            backend: BACKEND,
            latency: started.elapsed(),
            detail: Some(format!(
                "format {} in `{}`{}",
                crate::FORMAT_VERSION,
                self.inner.root.display(),
                if self.inner.read_only {
                    " (read-only)"
                } else {
                    ""
                }
            )),
        })
    }
}
