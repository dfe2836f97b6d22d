//! [`ObjectStoreExt`]: typed conveniences for every [`ObjectStore`].

use async_trait::async_trait;
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{GetOptions, ObjectStore, PutOptions, PutResult};
use crate::error::{ErrorKind, Result, StoreError};
use crate::keys::ObjectKey;

/// Typed conveniences over [`ObjectStore`], available on every store including
/// `dyn ObjectStore`.
///
/// File transfers are not here: [`ObjectStore::upload_file`] and
/// [`ObjectStore::download_file`] are methods of the trait itself, so each backend can take
/// its best path and the same call does the same thing on a concrete store and through
/// `Arc<dyn ObjectStore>`.
///
/// ```
/// # tokio_test_block(async {
/// use std::sync::Arc;
/// use store_core::{memory::MemoryObjectStore, ObjectKey, ObjectStore, ObjectStoreExt};
/// let store: Arc<dyn ObjectStore> = Arc::new(MemoryObjectStore::new());
/// let key = ObjectKey::new("greeting.txt").unwrap();
/// store.put_str(&key, "hello").await.unwrap();
/// assert_eq!(store.get_string(&key).await.unwrap(), "hello");
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[async_trait]
pub trait ObjectStoreExt: ObjectStore {
    /// Stores bytes with default options.
    async fn put_bytes(&self, key: &ObjectKey, body: Bytes) -> Result<PutResult> {
        self.put(key, body, PutOptions::default()).await
    }

    /// Stores UTF-8 text as `text/plain; charset=utf-8`.
    async fn put_str(&self, key: &ObjectKey, text: &str) -> Result<PutResult> {
        let options = PutOptions::new().content_type("text/plain; charset=utf-8");
        self.put(key, Bytes::copy_from_slice(text.as_bytes()), options)
            .await
    }

    /// Stores a value as JSON (`application/json`).
    async fn put_json<T: Serialize + Sync + ?Sized>(
        &self,
        key: &ObjectKey,
        value: &T,
    ) -> Result<PutResult> {
        let body = serde_json::to_vec(value).map_err(|e| {
            StoreError::invalid_input(format!("cannot encode the value as JSON: {e}"))
                .with_target(key.as_str())
        })?;
        let options = PutOptions::new().content_type("application/json");
        self.put(key, Bytes::from(body), options).await
    }

    /// Reads a whole object into memory.
    async fn get_bytes(&self, key: &ObjectKey) -> Result<Bytes> {
        self.get(key, GetOptions::default()).await?.bytes().await
    }

    /// Reads a whole object as UTF-8 text; invalid UTF-8 is `InvalidInput`.
    async fn get_string(&self, key: &ObjectKey) -> Result<String> {
        let bytes = self.get_bytes(key).await?;
        String::from_utf8(bytes.to_vec()).map_err(|e| {
            StoreError::invalid_input(format!("object is not UTF-8 text: {e}"))
                .with_target(key.as_str())
        })
    }

    /// Reads a JSON object into `T`.
    async fn get_json<T: DeserializeOwned>(&self, key: &ObjectKey) -> Result<T> {
        let bytes = self.get_bytes(key).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::invalid_input(format!("object is not the expected JSON: {e}"))
                .with_target(key.as_str())
        })
    }

    /// Whether an object exists at `key`: `false` when nothing is there, the error when the
    /// bucket (or other container) itself is missing
    /// ([`StoreError::is_missing_collection`](crate::StoreError::is_missing_collection)).
    async fn exists(&self, key: &ObjectKey) -> Result<bool> {
        match self.head(key).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound && !e.is_missing_collection() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl<S: ObjectStore + ?Sized> ObjectStoreExt for S {}
