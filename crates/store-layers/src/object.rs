//! [`ObjectStore`] through a layer: every call described by an [`OpMeta`] and run by the
//! layer.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::{FutureExt, StreamExt};
use store_core::object::{
    ByteStream, DeleteFailure, GetOptions, GetResult, ListOptions, ListPage, ObjectCapabilities,
    ObjectMeta, PresignMethod, PutMode, PutOptions, PutResult, byte_stream,
};
use store_core::{Cursor, ObjectKey, ObjectStore, Result, StoreError};

use crate::cache::{CacheKey, CacheLayer, Scope, entity};
use crate::fallback::FallbackLayer;
use crate::layer::{Layer, Layered, through};
use crate::meta::{Access, OpMeta, StoreKind};
use crate::pages::page;
use crate::read::{cached, read, write};
use crate::served::{Source, observe_served};
use crate::settle::{self, Runs};

fn meta<'s>(store: &'s dyn ObjectStore, operation: &'static str, access: Access) -> OpMeta<'s> {
    let meta = OpMeta::new(StoreKind::Object, store.backend(), operation, access);
    match store.bucket_name() {
        Some(bucket) => meta.collection(bucket),
        None => meta,
    }
}

/// A whole small object, as the cache keeps it.
#[derive(Clone)]
struct CachedBody {
    meta: ObjectMeta,
    range: std::ops::Range<u64>,
    body: Bytes,
}

impl CachedBody {
    fn to_result(&self) -> GetResult {
        GetResult {
            meta: self.meta.clone(),
            range: self.range.clone(),
            body: byte_stream(self.body.clone()),
        }
    }
}

/// A plain get through `cache`: a small body is read whole, cached and handed back.
async fn cached_get<F: std::future::Future<Output = Result<GetResult>>>(
    cache: &CacheLayer,
    key: CacheKey,
    layer: &impl Layer,
    meta: &OpMeta<'_>,
    reading: impl FnOnce() -> F,
) -> Result<GetResult> {
    if let Some(hit) = cache.lookup::<CachedBody>(&key) {
        return Ok(hit.to_result());
    }
    let ticket = cache.ticket();
    let (outcome, served) = observe_served(reading()).await;
    let mut result = outcome?;
    result.body = layer.stream(meta, result.body);
    let primary = served.is_none_or(|s| s.from == Source::Primary);
    if !primary || result.meta.size > cache.body_limit() as u64 {
        return Ok(result);
    }
    let mut body = BytesMut::with_capacity(result.meta.size as usize);
    while let Some(chunk) = result.body.next().await {
        match chunk {
            Ok(chunk) => body.extend_from_slice(&chunk),
            Err(error) => {
                // Hand back what arrived, then the error, as the stream would have.
                let read = body.freeze();
                result.body = futures::stream::iter([Ok(read), Err(error)]).boxed();
                return Ok(result);
            }
        }
    }
    let entry = CachedBody {
        meta: result.meta,
        range: result.range,
        body: body.freeze(),
    };
    let weight = entry.body.len() + 256;
    let answer = entry.to_result();
    cache.insert(ticket, key, entry, weight);
    Ok(answer)
}

#[async_trait]
impl<S: ObjectStore, L: Layer + 'static> ObjectStore for Layered<S, L> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn bucket_name(&self) -> Option<&str> {
        self.inner.bucket_name()
    }

    fn capabilities(&self) -> ObjectCapabilities {
        self.inner.capabilities()
    }

    async fn put(&self, key: &ObjectKey, body: Bytes, options: PutOptions) -> Result<PutResult> {
        // The whole body is sent each time, so a repeated put converges on the same object;
        // create-only and if-match puts are conditional, hence safe to repeat as well (a
        // retry refused because of what the put's own earlier run wrote is settled by a read).
        let reread = meta(&self.inner, "get", Access::Read);
        let meta = meta(&self.inner, "put", Access::Write).idempotent(true);
        let scope = || Scope::Entities(vec![entity(&meta, key)]);
        let conditional = options.mode != PutMode::Overwrite;
        let runs = Runs::default();
        let put = write(&self.layer, &meta, scope, || {
            let run = self.inner.put(key, body.clone(), options.clone());
            if conditional { runs.track(run) } else { run }
        })
        .await;
        let put = match put {
            Err(refused) if conditional && runs.may_have_refused_itself(&refused) => {
                settle::object_put(
                    &self.layer,
                    &reread,
                    &self.inner,
                    key,
                    &body,
                    &options,
                    refused,
                )
                .await
            }
            put => put,
        }?;
        #[cfg(feature = "metrics")]
        if let Some(metrics) = self.layer.metrics() {
            metrics.bytes(&meta, "sent")(body.len() as u64);
        }
        Ok(put)
    }

    async fn put_stream(
        &self,
        key: &ObjectKey,
        body: ByteStream,
        options: PutOptions,
    ) -> Result<PutResult> {
        // A stream is consumed by the first run: this call can never run twice.
        let meta = meta(&self.inner, "put_stream", Access::Write).idempotent(false);
        let body = Mutex::new(Some(body));
        let scope = || Scope::Entities(vec![entity(&meta, key)]);
        write(&self.layer, &meta, scope, || {
            let taken = body.lock().unwrap_or_else(|e| e.into_inner()).take();
            match taken {
                Some(body) => self.inner.put_stream(key, body, options.clone()),
                None => futures::future::ready(Err(StoreError::internal(
                    "a streamed body was already sent and cannot be sent again",
                )))
                .boxed(),
            }
        })
        .await
    }

    async fn get(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult> {
        let meta = meta(&self.inner, "get", Access::Read);
        let secondary = self
            .layer
            .fallback()
            .and_then(FallbackLayer::object_secondary);
        let plain = options == GetOptions::default();
        let options = &options;
        let reading = || {
            read(
                &self.layer,
                &meta,
                move || self.inner.get(key, options.clone()),
                secondary.map(|s| move || s.get(key, options.clone())),
            )
        };
        // Only a whole object read without conditions is the same answer every time.
        match self.layer.cache().filter(|c| plain && c.body_limit() > 0) {
            Some(cache) => {
                let cache_key = CacheKey::new(&meta, key, "get".to_owned());
                // Boxed: only stores with a cache carry the cache's path.
                Box::pin(cached_get(cache, cache_key, &self.layer, &meta, reading)).await
            }
            None => {
                let mut result = reading().await?;
                result.body = self.layer.stream(&meta, result.body);
                #[cfg(feature = "metrics")]
                if let Some(metrics) = self.layer.metrics() {
                    let received = metrics.bytes(&meta, "received");
                    result.body = result
                        .body
                        .inspect(move |chunk| {
                            if let Ok(chunk) = chunk {
                                received(chunk.len() as u64);
                            }
                        })
                        .boxed();
                }
                Ok(result)
            }
        }
    }

    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta> {
        let meta = meta(&self.inner, "head", Access::Read);
        let secondary = self
            .layer
            .fallback()
            .and_then(FallbackLayer::object_secondary);
        let reading = || {
            read(
                &self.layer,
                &meta,
                move || self.inner.head(key),
                secondary.map(|s| move || s.head(key)),
            )
        };
        let cache_key = || Some(CacheKey::new(&meta, key, "head".to_owned()));
        cached(self.layer.cache(), cache_key, |_| 256, reading).await
    }

    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        let meta = meta(&self.inner, "delete", Access::Write).idempotent(true);
        let scope = || Scope::Entities(vec![entity(&meta, key)]);
        write(&self.layer, &meta, scope, || self.inner.delete(key)).await
    }

    async fn delete_many(&self, keys: &[ObjectKey]) -> Result<Vec<DeleteFailure>> {
        let meta = meta(&self.inner, "delete_many", Access::Write).idempotent(true);
        let scope = || Scope::Entities(keys.iter().map(|k| entity(&meta, k)).collect());
        write(&self.layer, &meta, scope, || self.inner.delete_many(keys)).await
    }

    async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
        let meta = meta(&self.inner, "copy", Access::Write).idempotent(true);
        let scope = || Scope::Entities(vec![entity(&meta, to)]);
        write(&self.layer, &meta, scope, || self.inner.copy(from, to)).await
    }

    async fn copy_if_not_exists(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
        let meta = meta(&self.inner, "copy_if_not_exists", Access::Write).idempotent(true);
        let scope = || Scope::Entities(vec![entity(&meta, to)]);
        write(&self.layer, &meta, scope, || {
            self.inner.copy_if_not_exists(from, to)
        })
        .await
    }

    async fn list_page(&self, options: &ListOptions, cursor: Option<Cursor>) -> Result<ListPage> {
        let meta = meta(&self.inner, "list", Access::List);
        let secondary = self
            .layer
            .fallback()
            .and_then(FallbackLayer::object_secondary);
        page(
            &self.layer,
            &meta,
            cursor,
            move |at| self.inner.list_page(options, at),
            secondary.map(|s| move |at| s.list_page(options, at)),
        )
        .await
    }

    async fn presign(
        &self,
        method: PresignMethod,
        key: &ObjectKey,
        expires_in: Duration,
    ) -> Result<String> {
        let meta = meta(&self.inner, "presign", Access::Read);
        through(&self.layer, &meta, || {
            self.inner.presign(method, key, expires_in)
        })
        .await
    }

    async fn upload_file(
        &self,
        path: &Path,
        key: &ObjectKey,
        options: PutOptions,
    ) -> Result<PutResult> {
        // The file is read afresh on each run, so the upload is repeatable.
        let meta = meta(&self.inner, "upload_file", Access::Write).idempotent(true);
        let scope = || Scope::Entities(vec![entity(&meta, key)]);
        write(&self.layer, &meta, scope, || {
            self.inner.upload_file(path, key, options.clone())
        })
        .await
    }

    async fn download_file(&self, key: &ObjectKey, path: &Path) -> Result<u64> {
        let meta = meta(&self.inner, "download_file", Access::Read);
        through(&self.layer, &meta, || self.inner.download_file(key, path)).await
    }
}
