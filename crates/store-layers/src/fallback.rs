//! [`FallbackLayer`]: reads served by a secondary store of the same kind when the primary
//! fails, and marked so ([`Served`]); writes never go to the secondary.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use store_core::{DocumentStore, ErrorKind, ObjectStore, SearchIndex, SqlStore, StoreError};

use crate::cache::CacheLayer;
use crate::layer::{Call, Layer};
use crate::meta::{Access, OpMeta};
use crate::served::{Served, Source, note};

/// The secondary store, of one of the four kinds.
#[derive(Clone)]
enum Secondary {
    Object(Arc<dyn ObjectStore>),
    Document(Arc<dyn DocumentStore>),
    Sql(Arc<dyn SqlStore>),
    Search(Arc<dyn SearchIndex>),
}

impl fmt::Debug for Secondary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, backend) = match self {
            Self::Object(s) => ("object", s.backend()),
            Self::Document(s) => ("document", s.backend()),
            Self::Sql(s) => ("sql", s.backend()),
            Self::Search(s) => ("search", s.backend()),
        };
        write!(f, "{kind} store on {backend}")
    }
}

/// Degradation: a read the primary store cannot answer (an `Unavailable` or `Throttled`
/// error, a timeout, or its circuit breaker open, which is `Unavailable` too) is answered by
/// a secondary store of the same kind, a replica, a cache or a slower system of record.
///
/// Reads that fall back: object `get`, `head`, `list`; document `get`, `query`, `scan`,
/// `batch_get`; search `get`, `search`, `count`; SQL `query` (when its first row is an
/// error; once a row came from the primary the stream is not switched). Writes and admin
/// calls never go to the secondary: they fail with the primary's error. When the secondary
/// fails too, the primary's error comes back.
///
/// The pages of one listing come from one store: only a first page falls back. A page the
/// secondary served carries a cursor marked as this fallback's secondary's, and the pages
/// after it are read there (their errors are the secondary's); a cursor of the primary's is
/// read from the primary only, which fails the listing if the primary fails midway. The
/// mark names the fallback by the order it was made in, so processes built alike read each
/// other's cursors.
///
/// The caller sees who answered through [`observe_served`](crate::observe_served), which
/// works through `Arc<dyn DocumentStore>` and any other handle, and the layer counts both
/// ([`served_by_secondary`](Self::served_by_secondary)). A secondary is taken as possibly
/// behind the primary (`stale: true`) unless [`fresh`](Self::fresh) says otherwise.
///
/// The layer must wrap a store of the same kind as its secondary; on another kind it lets
/// every call through to the primary alone.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use store_core::memory::MemoryObjectStore;
/// use store_core::{ErrorKind, ObjectKey, ObjectStoreExt};
/// use store_layers::{FallbackLayer, FaultLayer, LayerExt, Layers, Source, observe_served};
///
/// let replica = MemoryObjectStore::new();
/// let key = ObjectKey::new("a.txt")?;
/// replica.put_str(&key, "from the replica").await?;
/// let down = FaultLayer::seeded(1);
/// down.fail_next(1, ErrorKind::Unavailable);
/// let fallback = FallbackLayer::objects(Arc::new(replica));
/// let store = MemoryObjectStore::new().layer(Layers::new().fallback(fallback).faults(down));
/// let (body, served) = observe_served(store.get_string(&key)).await;
/// assert_eq!(body?, "from the replica");
/// assert_eq!(served.unwrap().from, Source::Secondary);
/// # Ok::<(), store_core::StoreError>(()) }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct FallbackLayer {
    secondary: Secondary,
    /// Which fallback this is, in the marks on its secondary's cursors (clones share it).
    id: u64,
    stale: bool,
    kinds: Vec<ErrorKind>,
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    primary: AtomicU64,
    secondary: AtomicU64,
}

impl FallbackLayer {
    fn with(secondary: Secondary) -> Self {
        static MADE: AtomicU64 = AtomicU64::new(0);
        Self {
            secondary,
            id: MADE.fetch_add(1, Ordering::Relaxed),
            stale: true,
            kinds: vec![ErrorKind::Unavailable, ErrorKind::Throttled],
            counts: Arc::default(),
        }
    }

    /// Object reads fall back to `secondary`.
    pub fn objects(secondary: Arc<dyn ObjectStore>) -> Self {
        Self::with(Secondary::Object(secondary))
    }

    /// Document reads fall back to `secondary`.
    pub fn documents(secondary: Arc<dyn DocumentStore>) -> Self {
        Self::with(Secondary::Document(secondary))
    }

    /// SQL queries fall back to `secondary`.
    pub fn sql(secondary: Arc<dyn SqlStore>) -> Self {
        Self::with(Secondary::Sql(secondary))
    }

    /// Search reads fall back to `secondary`.
    pub fn search(secondary: Arc<dyn SearchIndex>) -> Self {
        Self::with(Secondary::Search(secondary))
    }

    /// Marks the secondary as up to date with the primary: answers it gives are
    /// `stale: false`.
    pub fn fresh(mut self) -> Self {
        self.stale = false;
        self
    }

    /// The primary's error kinds that send a read to the secondary (by default
    /// `Unavailable` and `Throttled`).
    pub fn on(mut self, kinds: &[ErrorKind]) -> Self {
        self.kinds = kinds.to_vec();
        self
    }

    /// Reads answered by the primary so far.
    pub fn served_by_primary(&self) -> u64 {
        self.counts.primary.load(Ordering::Relaxed)
    }

    /// Reads answered by the secondary so far.
    pub fn served_by_secondary(&self) -> u64 {
        self.counts.secondary.load(Ordering::Relaxed)
    }

    pub(crate) fn object_secondary(&self) -> Option<&Arc<dyn ObjectStore>> {
        match &self.secondary {
            Secondary::Object(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn document_secondary(&self) -> Option<&Arc<dyn DocumentStore>> {
        match &self.secondary {
            Secondary::Document(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn sql_secondary(&self) -> Option<&Arc<dyn SqlStore>> {
        match &self.secondary {
            Secondary::Sql(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn search_secondary(&self) -> Option<&Arc<dyn SearchIndex>> {
        match &self.secondary {
            Secondary::Search(s) => Some(s),
            _ => None,
        }
    }

    /// Whether a read that failed with `error` goes to the secondary.
    fn falls_back(&self, error: &StoreError) -> bool {
        self.kinds.contains(&error.kind())
    }

    /// The mark on the cursors of pages this fallback's secondary served.
    pub(crate) fn cursor_mark(&self) -> String {
        format!("fallback~{}~", self.id)
    }

    /// A page after one the secondary served, read from the secondary again (counted and
    /// observed as served by it).
    pub(crate) async fn resumed<T>(
        &self,
        read: impl Future<Output = store_core::Result<T>>,
    ) -> store_core::Result<T> {
        let outcome = read.await;
        if outcome.is_ok() {
            self.served_by(Source::Secondary);
        }
        outcome
    }

    /// Counts and notes (for [`observe_served`](crate::observe_served)) who answered a read.
    #[inline]
    pub(crate) fn served_by(&self, from: Source) {
        let (count, stale) = match from {
            Source::Primary => (&self.counts.primary, false),
            Source::Secondary => (&self.counts.secondary, self.stale),
        };
        count.fetch_add(1, Ordering::Relaxed);
        note(Served { from, stale });
    }

    /// Runs `primary`; a read it cannot answer goes to `secondary` (when given).
    pub(crate) async fn run<T, P, S>(
        &self,
        meta: &OpMeta<'_>,
        primary: impl FnOnce() -> P,
        secondary: Option<impl FnOnce() -> S>,
    ) -> store_core::Result<T>
    where
        P: Future<Output = store_core::Result<T>>,
        S: Future<Output = store_core::Result<T>>,
    {
        let secondary = secondary.filter(|_| matches!(meta.access, Access::Read | Access::List));
        let Some(secondary) = secondary else {
            return primary().await;
        };
        match self.primary_answered(primary().await) {
            Ok(answer) => answer,
            Err(error) => self.after_primary_failed(meta, error, secondary).await,
        }
    }

    /// The primary's outcome as this fallback takes it: `Ok` with the call's answer (a
    /// success, counted as the primary's, or an error that does not fall back), or `Err`
    /// with the error after which the secondary is read.
    #[inline]
    pub(crate) fn primary_answered<T>(
        &self,
        outcome: store_core::Result<T>,
    ) -> Result<store_core::Result<T>, StoreError> {
        match outcome {
            Ok(value) => {
                self.served_by(Source::Primary);
                Ok(Ok(value))
            }
            Err(error) if self.falls_back(&error) => Err(error),
            Err(error) => Ok(Err(error)),
        }
    }

    /// The read on the secondary after the primary failed with `error` (one that
    /// [`falls_back`](Self::falls_back)): its answer, or the primary's error if the secondary
    /// fails too.
    pub(crate) async fn after_primary_failed<T, S>(
        &self,
        meta: &OpMeta<'_>,
        error: StoreError,
        secondary: impl FnOnce() -> S,
    ) -> store_core::Result<T>
    where
        S: Future<Output = store_core::Result<T>>,
    {
        tracing::warn!(operation = %meta, error = %error, "primary failed: reading from the fallback");
        match secondary().await {
            Err(second) if self.falls_back(&second) => {
                tracing::warn!(operation = %meta, error = %second, "the fallback failed too");
                Err(error)
            }
            outcome => {
                self.served_by(Source::Secondary);
                outcome
            }
        }
    }

    /// A stream from the primary, or from the secondary when the primary's first item is an
    /// error that falls back.
    pub(crate) fn stream_or<'s, T: Send + 's>(
        &self,
        primary: BoxStream<'s, store_core::Result<T>>,
        secondary: impl FnOnce() -> BoxStream<'s, store_core::Result<T>> + Send + 's,
    ) -> BoxStream<'s, store_core::Result<T>> {
        let this = self.clone();
        futures::stream::once(async move {
            let mut primary = primary;
            let first = match primary.next().await {
                Some(Err(error)) if this.falls_back(&error) => error,
                first => {
                    this.served_by(Source::Primary);
                    return futures::stream::iter(first).chain(primary).boxed();
                }
            };
            tracing::warn!(error = %first, "primary failed: streaming from the fallback");
            let mut secondary = secondary();
            match secondary.next().await {
                Some(Err(second)) if this.falls_back(&second) => {
                    futures::stream::iter([Err(first)]).boxed()
                }
                head => {
                    this.served_by(Source::Secondary);
                    futures::stream::iter(head).chain(secondary).boxed()
                }
            }
        })
        .flatten()
        .boxed()
    }
}

impl Layer for FallbackLayer {
    /// Runs each call at most once.
    fn may_repeat(&self, _meta: &OpMeta<'_>) -> bool {
        false
    }

    fn around<'a, T: Send + 'a>(
        &'a self,
        _meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        call()
    }

    fn around_or<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
        secondary: Option<Call<'a, T>>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        async move { self.run(meta, call, secondary).await }.boxed()
    }

    fn fallback(&self) -> Option<&FallbackLayer> {
        Some(self)
    }

    fn cache(&self) -> Option<&CacheLayer> {
        None
    }
}
