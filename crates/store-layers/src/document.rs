//! [`DocumentStore`] through a layer: every call described by an [`OpMeta`] and run by the
//! layer. Queries and scans page through [`query_page`](DocumentStore::query_page) and
//! [`scan_page`](DocumentStore::scan_page), so each page is one layered call.

use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use store_core::document::{
    BatchWriteOptions, BatchWriteReport, DeleteItemOptions, DocumentCapabilities, DocumentStore,
    GetItemOptions, Path, PathSegment, PutItemOptions, Query, Scan, TransactAction, Update,
    UpdateAction, UpdateOptions, WriteOp,
};
use store_core::{Cursor, DocKey, Document, KeySchema, Page, Result, Value, paginate};

use crate::cache::{CacheKey, Scope, collection, entity};
use crate::consumed::Consumed;
use crate::fallback::FallbackLayer;
use crate::layer::{Layer, Layered, through};
use crate::meta::{Access, OpMeta, StoreKind};
use crate::pages::page;
use crate::read::{cached, read, write};
use crate::settle::{self, Runs};

fn meta<'s, S: DocumentStore>(store: &'s S, operation: &'static str, access: Access) -> OpMeta<'s> {
    OpMeta::new(StoreKind::Document, store.backend(), operation, access)
        .collection(store.table_name())
}

/// Whether applying `update` twice leaves the item as applying it once: `set`, `remove`,
/// `delete_from_set` and `add` of set elements do; `add` to a number and `append` do not,
/// nor do a `remove` of a list element (the elements after it move up, so a second run
/// removes the next one) and a `set` of one (past the end it appends, as in DynamoDB).
///
/// ```
/// use store_core::document::{Path, Update};
/// use store_layers::update_is_idempotent;
///
/// assert!(update_is_idempotent(&Update::new().set("status", "shipped").remove("draft")));
/// assert!(!update_is_idempotent(&Update::new().add("count", 1)));
/// assert!(!update_is_idempotent(&Update::new().remove(Path::attr("queue").index(0))));
/// ```
pub fn update_is_idempotent(update: &Update) -> bool {
    update.actions().iter().all(|action| match action {
        UpdateAction::Add(_, value) => !matches!(value, Value::Number(_)),
        UpdateAction::Append(..) => false,
        UpdateAction::Set(path, _) | UpdateAction::Remove(path) => !names_list_element(path),
        UpdateAction::DeleteFromSet(..) => true,
    })
}

/// Whether `path` ends at a list element (`queue[0]`), whose position moves as the list does.
fn names_list_element(path: &Path) -> bool {
    matches!(path.segments().last(), Some(PathSegment::Index(_)))
}

fn transaction_is_idempotent(actions: &[TransactAction]) -> bool {
    actions.iter().all(|action| match action {
        TransactAction::Update { update, .. } => update_is_idempotent(update),
        _ => true,
    })
}

#[async_trait]
impl<S: DocumentStore, L: Layer + 'static> DocumentStore for Layered<S, L> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn table_name(&self) -> &str {
        self.inner.table_name()
    }

    fn key_schema(&self) -> &KeySchema {
        self.inner.key_schema()
    }

    fn capabilities(&self) -> DocumentCapabilities {
        self.inner.capabilities()
    }

    async fn put(&self, item: Document, options: PutItemOptions) -> Result<Option<Document>> {
        // A whole item replaced (or conditionally written) converges when repeated; a retry
        // whose condition its own earlier run broke is settled by a read (unless the replaced
        // item was asked for: that answer was lost with the run that replaced it).
        let reread = meta(&self.inner, "get", Access::Read);
        let meta = meta(&self.inner, "put", Access::Write).idempotent(true);
        // What leaves the cache, named while the item is at hand (only a cache asks).
        let entities = self
            .layer
            .cache()
            .map(|_| match self.inner.key_schema().key_of(&item) {
                Ok(key) => Scope::Entities(vec![entity(&meta, key)]),
                Err(_) => Scope::Collection(collection(&meta)),
            });
        let scope = || entities.unwrap_or_else(|| Scope::Collection(collection(&meta)));
        let item = Consumed::new(item, self.layer.may_repeat(&meta));
        let settles = options.condition.is_some() && !options.return_old;
        let runs = Runs::default();
        let put = write(&self.layer, &meta, scope, || {
            let run = self.inner.put(item.take(), options.clone());
            if settles { runs.track(run) } else { run }
        })
        .await;
        match put {
            Err(refused) if settles && runs.may_have_refused_itself(&refused) => {
                let item = item.take();
                match self.inner.key_schema().key_of(&item) {
                    Ok(key) => {
                        let layer = &self.layer;
                        settle::document_put(layer, &reread, &self.inner, &key, &item, refused)
                            .await
                    }
                    Err(_) => Err(refused),
                }
            }
            put => put,
        }
    }

    fn get<'s, 'k, 'f>(
        &'s self,
        key: &'k DocKey,
        options: GetItemOptions,
    ) -> BoxFuture<'f, Result<Option<Document>>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        // Without a cache, the layers' own future is the whole call.
        if self.layer.cache().is_some() {
            return Box::pin(self.read_item(key, options));
        }
        if let Some(secondary) = self
            .layer
            .fallback()
            .and_then(FallbackLayer::document_secondary)
        {
            return self.get_or(key, options, secondary);
        }
        let meta = meta(&self.inner, "get", Access::Read);
        self.layer
            .run_owned(meta, move || self.inner.get_unboxed(key, options.clone()))
    }

    async fn update(
        &self,
        key: &DocKey,
        update: &Update,
        options: UpdateOptions,
    ) -> Result<Option<Document>> {
        let meta =
            meta(&self.inner, "update", Access::Write).idempotent(update_is_idempotent(update));
        let scope = || Scope::Entities(vec![entity(&meta, key)]);
        write(&self.layer, &meta, scope, || {
            self.inner.update(key, update, options.clone())
        })
        .await
    }

    async fn delete(&self, key: &DocKey, options: DeleteItemOptions) -> Result<Option<Document>> {
        let meta = meta(&self.inner, "delete", Access::Write).idempotent(true);
        let scope = || Scope::Entities(vec![entity(&meta, key)]);
        write(&self.layer, &meta, scope, || {
            self.inner.delete(key, options.clone())
        })
        .await
    }

    async fn query_page(&self, query: &Query, cursor: Option<Cursor>) -> Result<Page<Document>> {
        let meta = meta(&self.inner, "query", Access::Read);
        let secondary = self
            .layer
            .fallback()
            .and_then(FallbackLayer::document_secondary);
        page(
            &self.layer,
            &meta,
            cursor,
            move |at| self.inner.query_page(query, at),
            secondary.map(|s| move |at| s.query_page(query, at)),
        )
        .await
    }

    async fn scan_page(&self, scan: &Scan, cursor: Option<Cursor>) -> Result<Page<Document>> {
        let meta = meta(&self.inner, "scan", Access::List);
        let secondary = self
            .layer
            .fallback()
            .and_then(FallbackLayer::document_secondary);
        page(
            &self.layer,
            &meta,
            cursor,
            move |at| self.inner.scan_page(scan, at),
            secondary.map(|s| move |at| s.scan_page(scan, at)),
        )
        .await
    }

    async fn batch_get(&self, keys: &[DocKey], options: GetItemOptions) -> Result<Vec<Document>> {
        let meta = meta(&self.inner, "batch_get", Access::Read);
        let secondary = self
            .layer
            .fallback()
            .and_then(FallbackLayer::document_secondary);
        let options = &options;
        read(
            &self.layer,
            &meta,
            move || self.inner.batch_get(keys, options.clone()),
            secondary.map(|s| move || s.batch_get(keys, options.clone())),
        )
        .await
    }

    async fn batch_write(
        &self,
        ops: Vec<WriteOp>,
        options: BatchWriteOptions,
    ) -> Result<BatchWriteReport> {
        // Whole-item puts and deletes by key: repeating the batch converges.
        let meta = meta(&self.inner, "batch_write", Access::Write).idempotent(true);
        let scope = || Scope::Collection(collection(&meta));
        let ops = Consumed::new(ops, self.layer.may_repeat(&meta));
        write(&self.layer, &meta, scope, || {
            self.inner.batch_write(ops.take(), options.clone())
        })
        .await
    }

    async fn transact_write(&self, actions: Vec<TransactAction>) -> Result<()> {
        let meta = meta(&self.inner, "transact_write", Access::Write)
            .idempotent(transaction_is_idempotent(&actions));
        let scope = || Scope::Collection(collection(&meta));
        let actions = Consumed::new(actions, self.layer.may_repeat(&meta));
        write(&self.layer, &meta, scope, || {
            self.inner.transact_write(actions.take())
        })
        .await
    }

    async fn transact_get(&self, keys: &[DocKey]) -> Result<Vec<Option<Document>>> {
        let meta = meta(&self.inner, "transact_get", Access::Read);
        through(&self.layer, &meta, || self.inner.transact_get(keys)).await
    }

    fn query(&self, query: Query) -> BoxStream<'_, Result<Document>> {
        let meta = meta(&self.inner, "query", Access::Read);
        let pages = paginate(move |cursor| {
            let query = query.clone();
            async move { self.query_page(&query, cursor).await }
        });
        self.layer.stream(&meta, pages)
    }

    fn scan(&self, scan: Scan) -> BoxStream<'_, Result<Document>> {
        let meta = meta(&self.inner, "scan", Access::List);
        let pages = paginate(move |cursor| {
            let scan = scan.clone();
            async move { self.scan_page(&scan, cursor).await }
        });
        self.layer.stream(&meta, pages)
    }
}

impl<S: DocumentStore, L: Layer + 'static> Layered<S, L> {
    /// A get with the same read on the fallback's `secondary`, as one future (no cache).
    #[inline(never)]
    fn get_or<'f>(
        &'f self,
        key: &'f DocKey,
        options: GetItemOptions,
        secondary: &'f Arc<dyn DocumentStore>,
    ) -> BoxFuture<'f, Result<Option<Document>>> {
        let meta = meta(&self.inner, "get", Access::Read);
        let read_secondary = options.clone();
        self.layer.run_owned_or(
            meta,
            move || self.inner.get_unboxed(key, options.clone()),
            Some(move || secondary.get(key, read_secondary.clone())),
        )
    }

    /// A get through the cache (and the fallback, if any), when the layers have a cache.
    async fn read_item(&self, key: &DocKey, options: GetItemOptions) -> Result<Option<Document>> {
        let meta = meta(&self.inner, "get", Access::Read);
        // A consistent read must see writes made by anyone: it is never answered from cache.
        let cache_key = || {
            (!options.consistent)
                .then(|| CacheKey::new(&meta, key, format!("get {:?}", options.projection)))
        };
        let secondary = self
            .layer
            .fallback()
            .and_then(FallbackLayer::document_secondary);
        let options = &options;
        let reading = || {
            read(
                &self.layer,
                &meta,
                move || self.inner.get(key, options.clone()),
                secondary.map(|s| move || s.get(key, options.clone())),
            )
        };
        let weight = |item: &Option<Document>| item.as_ref().map_or(16, Document::approximate_size);
        cached(self.layer.cache(), cache_key, weight, reading).await
    }
}
