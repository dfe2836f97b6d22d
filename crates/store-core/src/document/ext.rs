//! [`DocumentStoreExt`]: serde-typed conveniences and parallel scans for every store.

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{DocumentStore, GetItemOptions, PutItemOptions, Query, Scan};
use crate::error::{Result, StoreError};
use crate::keys::DocKey;
use crate::value::{from_document, to_document};

/// Conveniences over [`DocumentStore`], available on every store including `dyn DocumentStore`.
#[async_trait]
pub trait DocumentStoreExt: DocumentStore {
    /// Serializes `item` and puts it unconditionally.
    async fn put_as<T: Serialize + Sync>(&self, item: &T) -> Result<()> {
        self.put(to_document(item)?, PutItemOptions::default())
            .await
            .map(drop)
    }

    /// Gets an item and deserializes it.
    async fn get_as<T: DeserializeOwned>(&self, key: &DocKey) -> Result<Option<T>> {
        match self.get(key, GetItemOptions::default()).await? {
            Some(doc) => from_document(doc).map(Some),
            None => Ok(None),
        }
    }

    /// A query whose items are deserialized into `T`.
    fn query_as<T: DeserializeOwned + Send + 'static>(
        &self,
        query: Query,
    ) -> BoxStream<'_, Result<T>> {
        self.query(query)
            .map(|doc| doc.and_then(from_document))
            .boxed()
    }

    /// A scan whose items are deserialized into `T`.
    fn scan_as<T: DeserializeOwned + Send + 'static>(
        &self,
        scan: Scan,
    ) -> BoxStream<'_, Result<T>> {
        self.scan(scan)
            .map(|doc| doc.and_then(from_document))
            .boxed()
    }

    /// Scans the table as `segments` parallel segments merged into one stream.
    ///
    /// Backends without parallel scan get `Unsupported` unless `segments` is 1.
    fn parallel_scan(
        &self,
        scan: Scan,
        segments: u32,
    ) -> BoxStream<'_, Result<crate::value::Document>> {
        if segments == 0 {
            return futures::stream::iter([Err(StoreError::invalid_input(
                "a parallel scan needs at least one segment",
            ))])
            .boxed();
        }
        let parts: Vec<_> = (0..segments)
            .map(|i| self.scan(scan.clone().segment(i, segments)))
            .collect();
        futures::stream::select_all(parts).boxed()
    }
}

impl<S: DocumentStore + ?Sized> DocumentStoreExt for S {}
