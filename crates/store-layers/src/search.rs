//! [`SearchIndex`] through a layer: every call described by an [`OpMeta`] and run by the
//! layer.

use async_trait::async_trait;
use store_core::search::{
    BulkOp, BulkReport, DocVersion, IndexOptions, IndexSpec, OpType, SearchCapabilities,
    SearchIndex, SearchQuery, SearchRequest, SearchResponse, StoredDoc,
};
use store_core::{Document, IndexName, Result};

use crate::cache::{CacheKey, Scope, collection, entity};
use crate::consumed::Consumed;
use crate::fallback::FallbackLayer;
use crate::layer::{Layer, Layered, through};
use crate::meta::{Access, OpMeta, StoreKind};
use crate::read::{cached, read, write};
use crate::settle::{self, Runs};

fn meta<'s, S: SearchIndex>(index: &'s S, operation: &'static str, access: Access) -> OpMeta<'s> {
    OpMeta::new(StoreKind::Search, index.backend(), operation, access)
        .collection(index.name().as_str())
}

#[async_trait]
impl<S: SearchIndex, L: Layer + 'static> SearchIndex for Layered<S, L> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn name(&self) -> &IndexName {
        self.inner.name()
    }

    fn capabilities(&self) -> SearchCapabilities {
        self.inner.capabilities()
    }

    async fn create(&self, spec: &IndexSpec) -> Result<()> {
        let meta = meta(&self.inner, "create", Access::Admin);
        let scope = || Scope::Collection(collection(&meta));
        write(&self.layer, &meta, scope, || self.inner.create(spec)).await
    }

    async fn exists(&self) -> Result<bool> {
        let meta = meta(&self.inner, "exists", Access::Read);
        through(&self.layer, &meta, || self.inner.exists()).await
    }

    async fn drop_index(&self) -> Result<()> {
        let meta = meta(&self.inner, "drop_index", Access::Admin);
        let scope = || Scope::Collection(collection(&meta));
        write(&self.layer, &meta, scope, || self.inner.drop_index()).await
    }

    async fn index(&self, id: &str, doc: Document, options: IndexOptions) -> Result<DocVersion> {
        // A whole document by id converges when repeated; create-only and versioned writes
        // are conditional.
        let reread = meta(&self.inner, "get", Access::Read);
        let meta = meta(&self.inner, "index", Access::Write).idempotent(true);
        let scope = || Scope::Entities(vec![entity(&meta, id)]);
        let doc = Consumed::new(doc, self.layer.may_repeat(&meta));
        // A retry refused because of what its own earlier run wrote is settled by a read.
        let conditional = matches!(options.op_type, OpType::Create) || options.if_version.is_some();
        let runs = Runs::default();
        let indexed = write(&self.layer, &meta, scope, || {
            let run = self.inner.index(id, doc.take(), options);
            if conditional { runs.track(run) } else { run }
        })
        .await;
        match indexed {
            Err(refused) if conditional && runs.may_have_refused_itself(&refused) => {
                let doc = doc.take();
                let version =
                    settle::search_index(&self.layer, &reread, &self.inner, id, &doc, refused)
                        .await?;
                // Visible to search before returning, as asked, whoever wrote it.
                if options.refresh {
                    self.inner.refresh().await?;
                }
                Ok(version)
            }
            indexed => indexed,
        }
    }

    async fn get(&self, id: &str) -> Result<Option<StoredDoc>> {
        let meta = meta(&self.inner, "get", Access::Read);
        let secondary = self
            .layer
            .fallback()
            .and_then(FallbackLayer::search_secondary);
        let reading = || {
            read(
                &self.layer,
                &meta,
                move || self.inner.get(id),
                secondary.map(|s| move || s.get(id)),
            )
        };
        let cache_key = || Some(CacheKey::new(&meta, id, "get".to_owned()));
        let weight =
            |doc: &Option<StoredDoc>| doc.as_ref().map_or(16, |d| d.source.approximate_size());
        cached(self.layer.cache(), cache_key, weight, reading).await
    }

    async fn update(
        &self,
        id: &str,
        partial: Document,
        options: IndexOptions,
    ) -> Result<DocVersion> {
        // Merging the same fields again gives the same document.
        let meta = meta(&self.inner, "update", Access::Write).idempotent(true);
        let scope = || Scope::Entities(vec![entity(&meta, id)]);
        let partial = Consumed::new(partial, self.layer.may_repeat(&meta));
        write(&self.layer, &meta, scope, || {
            self.inner.update(id, partial.take(), options)
        })
        .await
    }

    async fn delete(&self, id: &str, options: IndexOptions) -> Result<bool> {
        let meta = meta(&self.inner, "delete", Access::Write).idempotent(true);
        let scope = || Scope::Entities(vec![entity(&meta, id)]);
        write(&self.layer, &meta, scope, || self.inner.delete(id, options)).await
    }

    async fn bulk(&self, ops: Vec<BulkOp>) -> Result<BulkReport> {
        // Every operation is keyed by id: the batch converges when repeated.
        let meta = meta(&self.inner, "bulk", Access::Write).idempotent(true);
        let scope = || Scope::Collection(collection(&meta));
        let ops = Consumed::new(ops, self.layer.may_repeat(&meta));
        write(&self.layer, &meta, scope, || self.inner.bulk(ops.take())).await
    }

    async fn refresh(&self) -> Result<()> {
        let meta = meta(&self.inner, "refresh", Access::Admin).idempotent(true);
        through(&self.layer, &meta, || self.inner.refresh()).await
    }

    async fn search(&self, request: &SearchRequest) -> Result<SearchResponse> {
        let meta = meta(&self.inner, "search", Access::Read);
        let secondary = self
            .layer
            .fallback()
            .and_then(FallbackLayer::search_secondary);
        read(
            &self.layer,
            &meta,
            move || self.inner.search(request),
            secondary.map(|s| move || s.search(request)),
        )
        .await
    }

    async fn count(&self, query: &SearchQuery) -> Result<u64> {
        let meta = meta(&self.inner, "count", Access::Read);
        let secondary = self
            .layer
            .fallback()
            .and_then(FallbackLayer::search_secondary);
        read(
            &self.layer,
            &meta,
            move || self.inner.count(query),
            secondary.map(|s| move || s.count(query)),
        )
        .await
    }
}
