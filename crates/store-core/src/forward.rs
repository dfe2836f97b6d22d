//! The traits forwarded through `Arc<T>` and `Box<T>`, so `Arc<dyn ObjectStore>` can be handed
//! to code generic over `S: ObjectStore` (wrappers, helpers) without an adapter type.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

use crate::document::{
    BatchWriteOptions, BatchWriteReport, DeleteItemOptions, DocumentCapabilities, DocumentStore,
    GetItemOptions, PutItemOptions, Query, Scan, TransactAction, Update, UpdateOptions, WriteOp,
};
use crate::error::Result;
use crate::health::{Health, HealthReport};
use crate::keys::{DocKey, IndexName, KeySchema, ObjectKey};
use crate::object::{
    ByteStream, DeleteFailure, GetOptions, GetResult, ListEntry, ListOptions, ListPage,
    ObjectCapabilities, ObjectMeta, ObjectStore, PresignMethod, PutOptions, PutResult,
};
use crate::page::{Cursor, Page};
use crate::search::{
    BulkOp, BulkReport, DocVersion, IndexOptions, IndexSpec, SearchCapabilities, SearchIndex,
    SearchQuery, SearchRequest, SearchResponse, StoredDoc,
};
use crate::sql::{IsolationLevel, SqlCapabilities, SqlStore, SqlTransaction};
use crate::value::{Document, Value};

macro_rules! forward_all {
    ($($wrapper:ident),*) => {$(
        #[async_trait]
        impl<T: Health + ?Sized> Health for $wrapper<T> {
            async fn health(&self) -> Result<HealthReport> {
                (**self).health().await
            }
        }

        #[async_trait]
        impl<T: ObjectStore + ?Sized> ObjectStore for $wrapper<T> {
            fn bucket_name(&self) -> Option<&str> {
                (**self).bucket_name()
            }
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            fn capabilities(&self) -> ObjectCapabilities {
                (**self).capabilities()
            }
            async fn put(&self, key: &ObjectKey, body: Bytes, options: PutOptions) -> Result<PutResult> {
                (**self).put(key, body, options).await
            }
            async fn put_stream(&self, key: &ObjectKey, body: ByteStream, options: PutOptions) -> Result<PutResult> {
                (**self).put_stream(key, body, options).await
            }
            async fn get(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult> {
                (**self).get(key, options).await
            }
            async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta> {
                (**self).head(key).await
            }
            async fn delete(&self, key: &ObjectKey) -> Result<()> {
                (**self).delete(key).await
            }
            async fn delete_many(&self, keys: &[ObjectKey]) -> Result<Vec<DeleteFailure>> {
                (**self).delete_many(keys).await
            }
            async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
                (**self).copy(from, to).await
            }
            async fn copy_if_not_exists(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
                (**self).copy_if_not_exists(from, to).await
            }
            async fn list_page(&self, options: &ListOptions, cursor: Option<Cursor>) -> Result<ListPage> {
                (**self).list_page(options, cursor).await
            }
            async fn presign(&self, method: PresignMethod, key: &ObjectKey, expires_in: Duration) -> Result<String> {
                (**self).presign(method, key, expires_in).await
            }
            async fn upload_file(&self, path: &Path, key: &ObjectKey, options: PutOptions) -> Result<PutResult> {
                (**self).upload_file(path, key, options).await
            }
            async fn download_file(&self, key: &ObjectKey, path: &Path) -> Result<u64> {
                (**self).download_file(key, path).await
            }
            fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ListEntry>> {
                (**self).list(options)
            }
        }

        #[async_trait]
        impl<T: DocumentStore + ?Sized> DocumentStore for $wrapper<T> {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            fn table_name(&self) -> &str {
                (**self).table_name()
            }
            fn key_schema(&self) -> &KeySchema {
                (**self).key_schema()
            }
            fn capabilities(&self) -> DocumentCapabilities {
                (**self).capabilities()
            }
            async fn put(&self, item: Document, options: PutItemOptions) -> Result<Option<Document>> {
                (**self).put(item, options).await
            }
            async fn get(&self, key: &DocKey, options: GetItemOptions) -> Result<Option<Document>> {
                (**self).get(key, options).await
            }
            // The store's own (boxed) future, not one more box around it.
            #[allow(clippy::manual_async_fn)]
            fn get_unboxed<'a>(
                &'a self,
                key: &'a DocKey,
                options: GetItemOptions,
            ) -> impl Future<Output = Result<Option<Document>>> + Send + 'a {
                (**self).get(key, options)
            }
            async fn update(&self, key: &DocKey, update: &Update, options: UpdateOptions) -> Result<Option<Document>> {
                (**self).update(key, update, options).await
            }
            async fn delete(&self, key: &DocKey, options: DeleteItemOptions) -> Result<Option<Document>> {
                (**self).delete(key, options).await
            }
            async fn query_page(&self, query: &Query, cursor: Option<Cursor>) -> Result<Page<Document>> {
                (**self).query_page(query, cursor).await
            }
            async fn scan_page(&self, scan: &Scan, cursor: Option<Cursor>) -> Result<Page<Document>> {
                (**self).scan_page(scan, cursor).await
            }
            async fn batch_get(&self, keys: &[DocKey], options: GetItemOptions) -> Result<Vec<Document>> {
                (**self).batch_get(keys, options).await
            }
            async fn batch_write(&self, ops: Vec<WriteOp>, options: BatchWriteOptions) -> Result<BatchWriteReport> {
                (**self).batch_write(ops, options).await
            }
            async fn transact_write(&self, actions: Vec<TransactAction>) -> Result<()> {
                (**self).transact_write(actions).await
            }
            async fn transact_get(&self, keys: &[DocKey]) -> Result<Vec<Option<Document>>> {
                (**self).transact_get(keys).await
            }
            fn query(&self, query: Query) -> BoxStream<'_, Result<Document>> {
                (**self).query(query)
            }
            fn scan(&self, scan: Scan) -> BoxStream<'_, Result<Document>> {
                (**self).scan(scan)
            }
        }

        #[async_trait]
        impl<T: SearchIndex + ?Sized> SearchIndex for $wrapper<T> {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            fn name(&self) -> &IndexName {
                (**self).name()
            }
            fn capabilities(&self) -> SearchCapabilities {
                (**self).capabilities()
            }
            async fn create(&self, spec: &IndexSpec) -> Result<()> {
                (**self).create(spec).await
            }
            async fn exists(&self) -> Result<bool> {
                (**self).exists().await
            }
            async fn drop_index(&self) -> Result<()> {
                (**self).drop_index().await
            }
            async fn index(&self, id: &str, doc: Document, options: IndexOptions) -> Result<DocVersion> {
                (**self).index(id, doc, options).await
            }
            async fn get(&self, id: &str) -> Result<Option<StoredDoc>> {
                (**self).get(id).await
            }
            async fn update(&self, id: &str, partial: Document, options: IndexOptions) -> Result<DocVersion> {
                (**self).update(id, partial, options).await
            }
            async fn delete(&self, id: &str, options: IndexOptions) -> Result<bool> {
                (**self).delete(id, options).await
            }
            async fn bulk(&self, ops: Vec<BulkOp>) -> Result<BulkReport> {
                (**self).bulk(ops).await
            }
            async fn refresh(&self) -> Result<()> {
                (**self).refresh().await
            }
            async fn search(&self, request: &SearchRequest) -> Result<SearchResponse> {
                (**self).search(request).await
            }
            async fn count(&self, query: &SearchQuery) -> Result<u64> {
                (**self).count(query).await
            }
        }

        #[async_trait]
        impl<T: SqlStore + ?Sized> SqlStore for $wrapper<T> {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            fn capabilities(&self) -> SqlCapabilities {
                (**self).capabilities()
            }
            fn max_identifier_bytes(&self) -> Option<usize> {
                (**self).max_identifier_bytes()
            }
            fn quote_identifier(&self, name: &str) -> Result<String> {
                (**self).quote_identifier(name)
            }
            async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
                (**self).execute(sql, params).await
            }
            async fn batch_execute(&self, sql: &str) -> Result<()> {
                (**self).batch_execute(sql).await
            }
            fn query<'a>(&'a self, sql: &'a str, params: &'a [Value]) -> BoxStream<'a, Result<Document>> {
                (**self).query(sql, params)
            }
            async fn query_collect(
                &self,
                sql: &str,
                params: &[Value],
                limit: Option<usize>,
            ) -> Result<Vec<Document>> {
                (**self).query_collect(sql, params, limit).await
            }
            async fn begin(&self, isolation: IsolationLevel) -> Result<Box<dyn SqlTransaction>> {
                (**self).begin(isolation).await
            }
            async fn upsert_rows(
                &self,
                table: &str,
                columns: &[String],
                key: &[String],
                rows: &[Vec<Value>],
            ) -> Result<u64> {
                (**self).upsert_rows(table, columns, key, rows).await
            }
            async fn insert_rows(
                &self,
                table: &str,
                columns: &[String],
                rows: &[Vec<Value>],
            ) -> Result<u64> {
                (**self).insert_rows(table, columns, rows).await
            }
        }
    )*};
}

forward_all!(Arc, Box);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectStoreExt;
    use crate::memory::MemoryObjectStore;

    async fn generic_count<S: ObjectStore>(store: &S) -> usize {
        use futures::TryStreamExt;
        let all: Vec<ListEntry> = store.list(ListOptions::new()).try_collect().await.unwrap();
        all.len()
    }

    #[tokio::test]
    async fn a_shared_dyn_store_works_where_a_generic_store_is_expected() {
        let store: Arc<dyn ObjectStore> = Arc::new(MemoryObjectStore::new());
        store
            .put_str(&ObjectKey::new("a").unwrap(), "1")
            .await
            .unwrap();
        let boxed: Box<dyn ObjectStore> = Box::new(MemoryObjectStore::new());
        assert_eq!(generic_count(&store).await, 1);
        assert_eq!(generic_count(&boxed).await, 0);
    }
}
