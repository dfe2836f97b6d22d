//! [`MemoryObjectStore`]: the in-memory reference [`ObjectStore`].

mod etag;
mod list;

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};

use crate::error::{Result, StoreError};
use crate::health::{Health, HealthReport};
use crate::keys::ObjectKey;
use crate::object::{
    ByteStream, DeleteFailure, GetOptions, GetResult, ListOptions, ListPage, ObjectCapabilities,
    ObjectMeta, ObjectStore, PresignMethod, PutMode, PutOptions, PutResult, check_get_conditions,
    etag_matches, validate_presign_expiry,
};
use crate::page::Cursor;

/// The largest chunk a body stream yields.
const CHUNK: usize = 64 * 1024;

const BACKEND: &str = "memory";

/// One stored object: its metadata and its whole body.
#[derive(Debug, Clone)]
struct StoredObject {
    meta: ObjectMeta,
    body: Bytes,
}

type Objects = BTreeMap<ObjectKey, StoredObject>;

/// An [`ObjectStore`] held in memory: the reference semantics for S3 and its stand-ins.
///
/// Keys are kept in byte order (as S3 lists them); etags are a quoted 128-bit hex digest of the
/// content, so equal content has equal etags. Conditional puts are atomic: of two concurrent
/// create-only puts of one key, exactly one succeeds. Clones share the same objects.
/// Presigning needs a server, so [`presign`](ObjectStore::presign) is `Unsupported`.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use store_core::memory::MemoryObjectStore;
/// use store_core::{ObjectKey, ObjectStoreExt};
/// let store = MemoryObjectStore::new();
/// let key = ObjectKey::new("a/b.txt")?;
/// store.put_str(&key, "hi").await?;
/// assert!(store.clone().exists(&key).await?);
/// # Ok::<_, store_core::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryObjectStore {
    objects: Arc<RwLock<Objects>>,
    bucket: Option<Arc<str>>,
}

impl MemoryObjectStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the bucket this store stands in for ([`ObjectStore::bucket_name`]): layers name and
    /// key its calls by it, as they do an S3 bucket's.
    pub fn with_bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = Some(Arc::from(bucket.into()));
        self
    }

    fn read(&self) -> RwLockReadGuard<'_, Objects> {
        self.objects.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Objects> {
        self.objects.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a whole body, checking the put mode under the write lock.
    fn store(&self, key: &ObjectKey, body: Bytes, options: PutOptions) -> Result<PutResult> {
        let etag = etag::of(&body);
        let mut objects = self.write();
        let current = objects.get(key);
        match (&options.mode, current) {
            (PutMode::Overwrite, _) | (PutMode::CreateOnly, None) => {}
            (PutMode::CreateOnly, Some(_)) => {
                return Err(error(
                    StoreError::already_exists("an object already exists at this key"),
                    "put",
                    key,
                ));
            }
            (PutMode::IfMatch(expected), Some(found))
                if etag_matches(expected, found.meta.etag.as_deref()) => {}
            (PutMode::IfMatch(expected), Some(found)) => {
                return Err(error(
                    StoreError::precondition_failed(format!(
                        "if-match etag {expected} does not match the current etag {}",
                        found.meta.etag.as_deref().unwrap_or("(none)")
                    )),
                    "put",
                    key,
                ));
            }
            (PutMode::IfMatch(expected), None) => {
                return Err(error(
                    StoreError::precondition_failed(format!(
                        "if-match etag {expected} given but no object exists at this key"
                    )),
                    "put",
                    key,
                ));
            }
        }
        let meta = ObjectMeta {
            key: key.clone(),
            size: body.len() as u64,
            etag: Some(etag.clone()),
            last_modified: Some(SystemTime::now()),
            content_type: options.content_type,
            metadata: options.metadata,
        };
        objects.insert(key.clone(), StoredObject { meta, body });
        Ok(PutResult {
            etag: Some(etag),
            version: None,
        })
    }

    /// Copies `from` to `to` under one write lock, so a create-only copy is atomic.
    fn copy_object(&self, from: &ObjectKey, to: &ObjectKey, mode: &PutMode) -> Result<()> {
        let mut objects = self.write();
        let source = objects.get(from).ok_or_else(|| {
            error(
                StoreError::not_found("no object exists at the source key"),
                "copy",
                from,
            )
        })?;
        let mut copied = source.clone();
        if *mode == PutMode::CreateOnly && objects.contains_key(to) {
            return Err(error(
                StoreError::already_exists("an object already exists at the destination key"),
                "copy_if_not_exists",
                to,
            ));
        }
        copied.meta.key = to.clone();
        copied.meta.last_modified = Some(SystemTime::now());
        objects.insert(to.clone(), copied);
        Ok(())
    }

    fn lookup(&self, key: &ObjectKey, operation: &'static str) -> Result<StoredObject> {
        self.read()
            .get(key)
            .cloned()
            .ok_or_else(|| error(not_found(), operation, key))
    }
}

fn not_found() -> StoreError {
    StoreError::not_found("no object exists at this key")
}

fn error(e: StoreError, operation: &'static str, key: &ObjectKey) -> StoreError {
    e.with_backend(BACKEND)
        .with_operation(operation)
        .with_target(key.as_str())
}

/// Splits a body into chunks of at most [`CHUNK`] bytes (none for an empty body).
fn chunked(body: Bytes) -> ByteStream {
    let count = body.len().div_ceil(CHUNK);
    futures::stream::iter((0..count).map(move |i| {
        let end = ((i + 1) * CHUNK).min(body.len());
        Ok(body.slice(i * CHUNK..end))
    }))
    .boxed()
}

#[async_trait]
impl ObjectStore for MemoryObjectStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn bucket_name(&self) -> Option<&str> {
        self.bucket.as_deref()
    }

    fn capabilities(&self) -> ObjectCapabilities {
        ObjectCapabilities::none().conditional_put(true)
    }

    async fn put(&self, key: &ObjectKey, body: Bytes, options: PutOptions) -> Result<PutResult> {
        self.store(key, body, options)
    }

    async fn put_stream(
        &self,
        key: &ObjectKey,
        body: ByteStream,
        options: PutOptions,
    ) -> Result<PutResult> {
        let collected = body
            .try_fold(BytesMut::new(), |mut acc, chunk| async move {
                acc.extend_from_slice(&chunk);
                Ok(acc)
            })
            .await
            .map_err(|e| e.in_context(BACKEND, "put_stream"))?;
        self.store(key, collected.freeze(), options)
    }

    async fn get(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult> {
        let object = self.lookup(key, "get")?;
        check_get_conditions(
            &options,
            object.meta.etag.as_deref(),
            object.meta.last_modified,
        )
        .map_err(|e| error(e, "get", key))?;
        let len = object.body.len() as u64;
        let range = match options.range {
            Some(range) => range.resolve(len).map_err(|e| error(e, "get", key))?,
            None => 0..len,
        };
        // The range is within the body, whose length fits in usize.
        let body = object.body.slice(range.start as usize..range.end as usize);
        Ok(GetResult {
            meta: object.meta,
            range,
            body: chunked(body),
        })
    }

    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta> {
        self.lookup(key, "head").map(|object| object.meta)
    }

    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        self.write().remove(key);
        Ok(())
    }

    async fn delete_many(&self, keys: &[ObjectKey]) -> Result<Vec<DeleteFailure>> {
        let mut objects = self.write();
        for key in keys {
            objects.remove(key);
        }
        Ok(Vec::new())
    }

    async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
        self.copy_object(from, to, &PutMode::Overwrite)
    }

    async fn copy_if_not_exists(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
        self.copy_object(from, to, &PutMode::CreateOnly)
    }

    async fn list_page(&self, options: &ListOptions, cursor: Option<Cursor>) -> Result<ListPage> {
        let request = list::Request::new(options, cursor.as_ref())
            .map_err(|e| e.with_backend(BACKEND).with_operation("list"))?;
        Ok(request.run(&self.read()))
    }

    async fn presign(
        &self,
        _method: PresignMethod,
        key: &ObjectKey,
        expires_in: Duration,
    ) -> Result<String> {
        validate_presign_expiry(expires_in).map_err(|e| error(e, "presign", key))?;
        Err(error(
            StoreError::unsupported("the in-memory store cannot presign URLs: it has no server"),
            "presign",
            key,
        ))
    }
}

#[async_trait]
impl Health for MemoryObjectStore {
    async fn health(&self) -> Result<HealthReport> {
        let started = Instant::now();
        let count = self.read().len();
        Ok(HealthReport {
            backend: BACKEND,
            latency: started.elapsed(),
            detail: Some(format!("{count} objects")),
        })
    }
}

#[cfg(test)]
mod tests;
