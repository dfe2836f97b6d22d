//! [`TantivyIndex`]: the handle, its lifecycle (create, open, drop, close) and the
//! [`SearchIndex`] calls, sent to the writer thread or run on Tokio's blocking pool.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use store_core::search::engine::{BulkWriter, Mapping, bulk_on_missing, validate_write};
use store_core::search::{
    BulkOp, BulkReport, DocVersion, IndexOptions, IndexSpec, SearchCapabilities, SearchIndex,
    SearchQuery, SearchRequest, SearchResponse, StoredDoc, validate_id,
};
use store_core::{Document, Health, HealthReport, IndexName, Result, StoreError};

use crate::config::TantivyConfig;
use crate::error::{BACKEND, io_error};
use crate::read_only::ReadOnly;
use crate::writer::{Actor, View, Writer, exists_on_disk};

/// A [`SearchIndex`] in one tantivy index directory, with OpenSearch's semantics as the
/// in-memory reference index has them. See the [crate documentation](crate) for the design.
///
/// Clones share the open index and its writer; dropping the last one stops the writer
/// (discarding writes not yet refreshed): call [`close`](Self::close) to commit them first.
#[derive(Clone)]
pub struct TantivyIndex {
    inner: Arc<Shared>,
}

struct Shared {
    name: IndexName,
    dir: PathBuf,
    config: TantivyConfig,
    /// The running writer, once the index is open; `None` while it does not exist.
    actor: tokio::sync::Mutex<Option<Arc<Actor>>>,
    /// The reader of a handle opened for reading only (which never has a writer).
    reading: Option<ReadOnly>,
}

impl TantivyIndex {
    /// Opens a handle on the index `name` in the directory `root/name`, with the defaults of
    /// [`TantivyConfig`]. An existing index is opened for writing now (`Conflict` if another
    /// writer holds it); a missing one is created by `create` or the first write.
    pub async fn open(root: impl AsRef<Path>, name: &str) -> Result<Self> {
        Self::builder(root, name).build().await
    }

    /// Settings to adjust (indexing memory and threads) before [`TantivyConfig::build`].
    pub fn builder(root: impl AsRef<Path>, name: &str) -> TantivyConfig {
        TantivyConfig::new(root, name)
    }

    /// Opens a handle on the existing index `name` in `root/name` for reading only (see
    /// [`TantivyConfig::read_only`]): it opens beside a process that writes the index.
    pub async fn open_read_only(root: impl AsRef<Path>, name: &str) -> Result<Self> {
        Self::builder(root, name).read_only().build().await
    }

    pub(crate) async fn with_config(config: TantivyConfig) -> Result<Self> {
        let name =
            IndexName::new(config.name.as_str()).map_err(|e| e.in_context(BACKEND, "open"))?;
        let dir = config.dir();
        let reading = if config.read_only {
            Some(Self::open_reading(&dir, &name).await?)
        } else {
            None
        };
        let this = Self {
            inner: Arc::new(Shared {
                dir,
                name,
                config,
                actor: tokio::sync::Mutex::new(None),
                reading,
            }),
        };
        if this.inner.reading.is_none() && exists_on_disk(&this.inner.dir) {
            this.actor("open").await?;
        }
        Ok(this)
    }

    /// Opens the reader of a read-only handle on a blocking thread.
    async fn open_reading(dir: &Path, name: &IndexName) -> Result<ReadOnly> {
        let context = |e: StoreError| e.in_context(BACKEND, "open").with_target(name.as_str());
        if !exists_on_disk(dir) {
            return Err(context(StoreError::not_found(format!(
                "no such index `{name}` (nothing in {} to read)",
                dir.display()
            ))));
        }
        let (dir, owned) = (dir.to_owned(), name.as_str().to_owned());
        tokio::task::spawn_blocking(move || ReadOnly::open(&dir, &owned))
            .await
            .map_err(join_error)?
            .map_err(context)
    }

    /// Runs `f` on the reader of a read-only handle, on a blocking thread.
    async fn read<T: Send + 'static>(
        &self,
        operation: &'static str,
        target: &str,
        f: impl FnOnce(&ReadOnly) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(inner.reading.as_ref().expect("a read-only handle")))
            .await
            .map_err(join_error)?
            .map_err(|e| self.context(e, operation, target))
    }

    /// What searches read: the reader's commit, or the writer's last.
    async fn view(&self, operation: &'static str) -> Result<Arc<View>> {
        match &self.inner.reading {
            Some(reading) => Ok(reading.view()),
            None => Ok(self.actor(operation).await?.view()),
        }
    }

    /// The index directory (`root/name`).
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Commits every write so far (as [`refresh`](SearchIndex::refresh) does), then stops the
    /// writer and releases the directory lock; the next call on this handle (or any clone)
    /// opens the index again. Nothing to do if the index is not open.
    pub async fn close(&self) -> Result<()> {
        if self.inner.reading.is_some() {
            return Ok(());
        }
        let mut slot = self.inner.actor.lock().await;
        let Some(actor) = slot.take() else {
            return Ok(());
        };
        let committed = actor.call(|w| w.commit()).await;
        tokio::task::spawn_blocking(move || actor.shutdown())
            .await
            .map_err(join_error)?;
        committed.map_err(|e| self.context(e, "close", ""))
    }

    /// The running writer; opens the index if it is on disk, `NotFound` if it is not.
    async fn actor(&self, operation: &'static str) -> Result<Arc<Actor>> {
        let mut slot = self.inner.actor.lock().await;
        if let Some(actor) = &*slot {
            return Ok(actor.clone());
        }
        if !exists_on_disk(&self.inner.dir) {
            return Err(self.missing(operation));
        }
        let actor = self.start(operation, None).await?;
        *slot = Some(actor.clone());
        Ok(actor)
    }

    /// The running writer, creating the index with dynamic mapping if it does not exist
    /// (OpenSearch's `action.auto_create_index`).
    async fn actor_or_create(&self, operation: &'static str) -> Result<Arc<Actor>> {
        let mut slot = self.inner.actor.lock().await;
        if let Some(actor) = &*slot {
            return Ok(actor.clone());
        }
        let spec = (!exists_on_disk(&self.inner.dir)).then(IndexSpec::new);
        let actor = self.start(operation, spec).await?;
        *slot = Some(actor.clone());
        Ok(actor)
    }

    /// Opens (`spec` = `None`) or creates the index on a blocking thread and starts its
    /// writer; `Unsupported` through a read-only handle, which every write comes here to.
    async fn start(&self, operation: &'static str, spec: Option<IndexSpec>) -> Result<Arc<Actor>> {
        if let Some(reading) = &self.inner.reading {
            return Err(self.context(reading.refuse(operation), operation, ""));
        }
        let dir = self.inner.dir.clone();
        let name = self.inner.name.as_str().to_owned();
        let config = self.inner.config.clone();
        let writer = tokio::task::spawn_blocking(move || match spec {
            Some(spec) => Writer::create(&dir, &name, &spec, &config),
            None => Writer::open(&dir, &name, &config),
        })
        .await
        .map_err(join_error)?
        .map_err(|e| self.context(e, operation, ""))?;
        Ok(Arc::new(Actor::spawn(writer)?))
    }

    fn missing(&self, operation: &'static str) -> StoreError {
        StoreError::not_found(format!("no such index `{}`", self.inner.name))
            .with_backend(BACKEND)
            .with_operation(operation)
            .with_target(self.inner.name.as_str())
    }

    fn context(&self, error: StoreError, operation: &'static str, target: &str) -> StoreError {
        let name = &self.inner.name;
        let error = error.in_context(BACKEND, operation);
        match (error.target().is_some(), target.is_empty()) {
            (true, _) => error,
            (false, true) => error.with_target(name.as_str()),
            (false, false) => error.with_target(format!("{name}/{target}")),
        }
    }

    fn check_id(&self, id: &str, operation: &'static str) -> Result<()> {
        validate_id(id).map_err(|e| self.context(e, operation, id))
    }

    /// Runs `f` on the writer thread of an existing index.
    async fn write<T: Send + 'static>(
        &self,
        operation: &'static str,
        target: &str,
        create: bool,
        f: impl FnOnce(&mut Writer) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let actor = if create {
            self.actor_or_create(operation).await?
        } else {
            self.actor(operation).await?
        };
        actor
            .call(f)
            .await
            .map_err(|e| self.context(e, operation, target))
    }
}

fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::internal(format!("a store-tantivy task failed: {e}")).with_backend(BACKEND)
}

impl fmt::Debug for TantivyIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TantivyIndex")
            .field("name", &self.inner.name.as_str())
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Health for TantivyIndex {
    async fn health(&self) -> Result<HealthReport> {
        let started = Instant::now();
        if self.inner.reading.is_some() {
            let count = self.read("health", "", |r| r.count()).await?;
            return Ok(HealthReport {
                backend: BACKEND,
                latency: started.elapsed(),
                detail: Some(format!(
                    "{count} documents committed in {} (open for reading)",
                    self.inner.dir.display()
                )),
            });
        }
        let actor = self.inner.actor.lock().await.clone();
        let detail = match actor {
            Some(actor) => {
                let count = actor.call(|w| w.committed_count()).await?;
                format!(
                    "{count} documents committed in {}",
                    self.inner.dir.display()
                )
            }
            None if exists_on_disk(&self.inner.dir) => {
                format!("index in {} not open", self.inner.dir.display())
            }
            None => format!("no index in {} yet", self.inner.dir.display()),
        };
        Ok(HealthReport {
            backend: BACKEND,
            latency: started.elapsed(),
            detail: Some(detail),
        })
    }
}

#[async_trait]
impl SearchIndex for TantivyIndex {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn name(&self) -> &IndexName {
        &self.inner.name
    }

    fn capabilities(&self) -> SearchCapabilities {
        // Writes are durable once refreshed (committed) only; sources are kept exactly.
        SearchCapabilities::none().typed_source(true)
    }

    async fn create(&self, spec: &IndexSpec) -> Result<()> {
        let mut slot = self.inner.actor.lock().await;
        if slot.is_some() {
            // Checked after the spec, as the in-memory index does.
            Mapping::from_spec(spec, BACKEND).map_err(|e| self.context(e, "create", ""))?;
            return Err(self.context(
                StoreError::already_exists(format!("index `{}` already exists", self.inner.name)),
                "create",
                "",
            ));
        }
        let actor = self.start("create", Some(spec.clone())).await?;
        *slot = Some(actor);
        Ok(())
    }

    async fn exists(&self) -> Result<bool> {
        Ok(self.inner.actor.lock().await.is_some() || exists_on_disk(&self.inner.dir))
    }

    async fn drop_index(&self) -> Result<()> {
        let mut slot = self.inner.actor.lock().await;
        let actor = match slot.take() {
            Some(actor) => actor,
            None if exists_on_disk(&self.inner.dir) => self.start("drop_index", None).await?,
            None => return Err(self.missing("drop_index")),
        };
        let dir = self.inner.dir.clone();
        tokio::task::spawn_blocking(move || {
            actor.shutdown();
            std::fs::remove_dir_all(&dir)
                .map_err(|e| io_error("remove the index directory", &dir, &e))
        })
        .await
        .map_err(join_error)?
        .map_err(|e| self.context(e, "drop_index", ""))
    }

    async fn index(&self, id: &str, doc: Document, options: IndexOptions) -> Result<DocVersion> {
        validate_write(id, options).map_err(|e| self.context(e, "index", id))?;
        let owned = id.to_owned();
        self.write("index", id, true, move |w| w.index(&owned, doc, options))
            .await
    }

    async fn get(&self, id: &str) -> Result<Option<StoredDoc>> {
        self.check_id(id, "get")?;
        let owned = id.to_owned();
        if self.inner.reading.is_some() {
            return self.read("get", id, move |r| r.get(&owned)).await;
        }
        self.write("get", id, false, move |w| w.get(&owned)).await
    }

    async fn update(
        &self,
        id: &str,
        partial: Document,
        options: IndexOptions,
    ) -> Result<DocVersion> {
        self.check_id(id, "update")?;
        let owned = id.to_owned();
        self.write("update", id, true, move |w| {
            w.update(&owned, partial, options)
        })
        .await
    }

    async fn delete(&self, id: &str, options: IndexOptions) -> Result<bool> {
        self.check_id(id, "delete")?;
        let owned = id.to_owned();
        self.write("delete", id, false, move |w| w.delete(&owned, options))
            .await
    }

    async fn bulk(&self, ops: Vec<BulkOp>) -> Result<BulkReport> {
        // As on OpenSearch, a bulk creates the missing index when it holds a write to send (an
        // operation with a valid id other than a delete).
        let creates = ops
            .iter()
            .any(|op| !matches!(op, BulkOp::Delete { .. }) && validate_id(op.id()).is_ok());
        if !creates && !self.exists().await? {
            return Ok(bulk_on_missing(ops, BACKEND, || self.missing("bulk")));
        }
        self.write("bulk", "", creates, move |w| Ok(w.bulk(ops)))
            .await
    }

    async fn refresh(&self) -> Result<()> {
        if self.inner.reading.is_some() {
            return self.read("refresh", "", |r| r.reload()).await;
        }
        self.write("refresh", "", false, |w| w.commit()).await
    }

    async fn search(&self, request: &SearchRequest) -> Result<SearchResponse> {
        request
            .validate()
            .map_err(|e| self.context(e, "search", ""))?;
        let view = self.view("search").await?;
        let request = request.clone();
        tokio::task::spawn_blocking(move || crate::search::search(&view, &request))
            .await
            .map_err(join_error)?
            .map_err(|e| self.context(e, "search", ""))
    }

    async fn count(&self, query: &SearchQuery) -> Result<u64> {
        let view = self.view("count").await?;
        let query = query.clone();
        tokio::task::spawn_blocking(move || crate::search::count(&view, &query))
            .await
            .map_err(join_error)?
            .map_err(|e| self.context(e, "count", ""))
    }
}
