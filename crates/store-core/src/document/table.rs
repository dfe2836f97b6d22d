//! [`Table<T>`]: a serde-typed view of any [`DocumentStore`], keyed by the store's key schema.

use std::fmt;
use std::marker::PhantomData;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

use crate::document::{
    BatchWriteOptions, BatchWriteReport, DeleteItemOptions, DocumentStore, GetItemOptions,
    PutItemOptions, Query, ReturnValues, Update, UpdateOptions, WriteOp, attr,
};
use crate::error::Result;
use crate::keys::DocKey;
use crate::value::{from_document, to_document};

/// Items of type `T` in one table of any [`DocumentStore`] `S`: typed put, create-only put,
/// get, update, delete, query and batch write, with keys taken from the items themselves.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use serde::{Deserialize, Serialize};
/// use store_core::document::Table;
/// use store_core::memory::MemoryDocumentStore;
/// use store_core::{DocKey, DocumentStore, KeySchema, KeyType};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct User { id: String, name: String, age: u32 }
///
/// let schema = KeySchema::partition("id", KeyType::String);
/// let store: Arc<dyn DocumentStore> = Arc::new(MemoryDocumentStore::new("users", schema)?);
/// let users: Table<User> = Table::new(store);
/// let ada = User { id: "u1".into(), name: "Ada".into(), age: 36 };
/// users.create(&ada).await?;
/// assert_eq!(users.get(&DocKey::partition("u1")).await?, Some(ada));
/// # Ok::<(), store_core::StoreError>(()) }).unwrap();
/// ```
pub struct Table<T, S = Arc<dyn DocumentStore>> {
    store: S,
    _items: PhantomData<fn() -> T>,
}

impl<T, S: Clone> Clone for Table<T, S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            _items: PhantomData,
        }
    }
}

impl<T, S: fmt::Debug> fmt::Debug for Table<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("store", &self.store)
            .field("items", &std::any::type_name::<T>())
            .finish()
    }
}

impl<T, S> Table<T, S>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: DocumentStore,
{
    /// A typed view of `store`.
    pub fn new(store: S) -> Self {
        Self {
            store,
            _items: PhantomData,
        }
    }

    /// The untyped store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The key of an item, as the table's key schema reads it.
    pub fn key_of(&self, item: &T) -> Result<DocKey> {
        self.store.key_schema().key_of(&to_document(item)?)
    }

    /// Writes an item, replacing any item with the same key.
    pub async fn put(&self, item: &T) -> Result<()> {
        self.store
            .put(to_document(item)?, PutItemOptions::new())
            .await
            .map(drop)
    }

    /// Writes an item only if no item has its key (`PreconditionFailed` otherwise).
    pub async fn create(&self, item: &T) -> Result<()> {
        let partition = self.store.key_schema().partition.name.clone();
        let options = PutItemOptions::new().condition(attr(partition).not_exists());
        self.store.put(to_document(item)?, options).await.map(drop)
    }

    /// Reads an item (strongly consistent).
    pub async fn get(&self, key: &DocKey) -> Result<Option<T>> {
        match self
            .store
            .get(key, GetItemOptions::new().consistent())
            .await?
        {
            Some(doc) => from_document(doc).map(Some),
            None => Ok(None),
        }
    }

    /// Applies an update and returns the item after it.
    pub async fn update(&self, key: &DocKey, update: &Update, options: UpdateOptions) -> Result<T> {
        let options = options.returns(ReturnValues::AllNew);
        let doc = self.store.update(key, update, options).await?;
        from_document(doc.unwrap_or_else(|| self.store.key_schema().key_document(key)))
    }

    /// Deletes an item and returns it, if it existed.
    pub async fn delete(&self, key: &DocKey) -> Result<Option<T>> {
        match self
            .store
            .delete(key, DeleteItemOptions::new().return_old())
            .await?
        {
            Some(doc) => from_document(doc).map(Some),
            None => Ok(None),
        }
    }

    /// Every item of a query, deserialized.
    pub fn query(&self, query: Query) -> BoxStream<'_, Result<T>> {
        self.store
            .query(query)
            .map(|doc| doc.and_then(from_document))
            .boxed()
    }

    /// Writes many items through `batch_write` (25 a call, retried until the default
    /// deadline; anything unwritten is in the report).
    pub async fn put_all<'a>(
        &self,
        items: impl IntoIterator<Item = &'a T>,
    ) -> Result<BatchWriteReport> {
        let ops = items
            .into_iter()
            .map(|item| to_document(item).map(WriteOp::Put))
            .collect::<Result<Vec<_>>>()?;
        self.store
            .batch_write(ops, BatchWriteOptions::default())
            .await
    }
}
