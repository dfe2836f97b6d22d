//! [`ObjectStore`] through a layer: every call described by an [`OpMeta`] and run by the
//! layer.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::FutureExt;
use store_core::object::{
    ByteStream, DeleteFailure, GetOptions, GetResult, ListOptions, ListPage, ObjectCapabilities,
    ObjectMeta, PresignMethod, PutOptions, PutResult,
};
use store_core::{Cursor, ObjectKey, ObjectStore, Result, StoreError};

use crate::layer::{Layer, Layered, through};
use crate::meta::{Access, OpMeta, StoreKind};

fn meta(store: &dyn ObjectStore, operation: &'static str, access: Access) -> OpMeta {
    OpMeta::new(StoreKind::Object, store.backend(), operation, access)
}

#[async_trait]
impl<S: ObjectStore, L: Layer + 'static> ObjectStore for Layered<S, L> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn capabilities(&self) -> ObjectCapabilities {
        self.inner.capabilities()
    }

    async fn put(&self, key: &ObjectKey, body: Bytes, options: PutOptions) -> Result<PutResult> {
        // The whole body is sent each time, so a repeated put converges on the same object;
        // create-only and if-match puts are conditional, hence safe to repeat as well.
        let meta = meta(&self.inner, "put", Access::Write).idempotent(true);
        through(&self.layer, &meta, || {
            self.inner.put(key, body.clone(), options.clone()).boxed()
        })
        .await
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
        through(&self.layer, &meta, || {
            let taken = body.lock().unwrap_or_else(|e| e.into_inner()).take();
            match taken {
                Some(body) => self.inner.put_stream(key, body, options.clone()).boxed(),
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
        through(&self.layer, &meta, || {
            self.inner.get(key, options.clone()).boxed()
        })
        .await
    }

    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta> {
        let meta = meta(&self.inner, "head", Access::Read);
        through(&self.layer, &meta, || self.inner.head(key).boxed()).await
    }

    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        let meta = meta(&self.inner, "delete", Access::Write).idempotent(true);
        through(&self.layer, &meta, || self.inner.delete(key).boxed()).await
    }

    async fn delete_many(&self, keys: &[ObjectKey]) -> Result<Vec<DeleteFailure>> {
        let meta = meta(&self.inner, "delete_many", Access::Write).idempotent(true);
        through(&self.layer, &meta, || self.inner.delete_many(keys).boxed()).await
    }

    async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
        let meta = meta(&self.inner, "copy", Access::Write).idempotent(true);
        through(&self.layer, &meta, || self.inner.copy(from, to).boxed()).await
    }

    async fn list_page(&self, options: &ListOptions, cursor: Option<Cursor>) -> Result<ListPage> {
        let meta = meta(&self.inner, "list", Access::List);
        through(&self.layer, &meta, || {
            self.inner.list_page(options, cursor.clone()).boxed()
        })
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
            self.inner.presign(method, key, expires_in).boxed()
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
        through(&self.layer, &meta, || {
            self.inner.upload_file(path, key, options.clone()).boxed()
        })
        .await
    }

    async fn download_file(&self, key: &ObjectKey, path: &Path) -> Result<u64> {
        let meta = meta(&self.inner, "download_file", Access::Read);
        through(&self.layer, &meta, || {
            self.inner.download_file(key, path).boxed()
        })
        .await
    }
}
