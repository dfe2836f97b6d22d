//! The [`Layer`] trait, the [`Layered`] store it makes, and [`Call`], the repeatable call a
//! layer wraps.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use store_core::Result;

use crate::cache::CacheLayer;
use crate::fallback::FallbackLayer;
use crate::meta::OpMeta;

/// One call to the store underneath, repeatable: a retry or a hedge runs it again by calling
/// it again. Each run starts the operation afresh. The call is borrowed for as long as the
/// layers run it, so making one allocates nothing.
pub type Call<'a, T> = &'a (dyn Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a);

/// `f` as a [`Call`].
pub(crate) fn as_call<'a, T>(
    f: &'a (impl Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a),
) -> Call<'a, T> {
    f
}

/// Wraps a call in a behaviour: retry it, time it out, limit it, trace it, inject faults.
///
/// A layer sees every call of every kind of store through the same [`OpMeta`], so one
/// implementation serves objects, documents, SQL and search alike. Layers compose: a layer is
/// a store's layer and [`Layers`](crate::Layers) puts several in the one safe order.
pub trait Layer: Send + Sync + fmt::Debug {
    /// Runs `call` (once, several times, or not at all) as this layer decides.
    fn around<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, Result<T>>;

    /// Runs `call` as [`around`](Self::around) does, given the same read on a secondary
    /// store when a [`FallbackLayer`] provides one. Only a fallback (or a stack holding one)
    /// uses `secondary`; by default it is ignored.
    fn around_or<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
        secondary: Option<Call<'a, T>>,
    ) -> BoxFuture<'a, Result<T>> {
        let _ = secondary;
        self.around(meta, call)
    }

    /// Runs `call` inside this layer's observers only (the trace and the metrics), for a
    /// call the rest of the stack must not see: a page the fallback's secondary serves by
    /// its own cursor (the primary's breaker, retry and limits are not the secondary's).
    /// By default `call` runs as it is.
    fn observed<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, Result<T>> {
        let _ = meta;
        call()
    }

    /// What a [`Layered`] store runs for each call: [`around_or`](Self::around_or) by
    /// default; [`Layers`](crate::Layers) runs its layers here without boxing the call.
    fn run_or<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
        secondary: Option<Call<'a, T>>,
    ) -> impl Future<Output = Result<T>> + Send + 'a {
        self.around_or(meta, call, secondary)
    }

    /// Runs `call` as [`run_or`](Self::run_or) does (with no secondary), as one boxed future
    /// that owns the description and the call: a [`Layered`] store's method can return it as
    /// its own future, with nothing around it. It is [`run_owned_or`](Self::run_owned_or)
    /// with no secondary.
    ///
    /// The call's future need not be boxed (a store's [`get_unboxed`](store_core::DocumentStore::get_unboxed)):
    /// the stack's fast path holds it in its own future.
    fn run_owned<'a, T, F, Fut>(&'a self, meta: OpMeta<'a>, call: F) -> BoxFuture<'a, Result<T>>
    where
        T: Send + 'a,
        F: Fn() -> Fut + Send + Sync + 'a,
        Fut: Future<Output = Result<T>> + Send + 'a,
    {
        self.run_owned_or(meta, call, None::<Call<'a, T>>)
    }

    /// [`run_owned`](Self::run_owned) with the same read on a fallback's secondary store,
    /// owned too: a [`Layered`] read returns it as its whole future when the stack has a
    /// fallback. By default it runs [`run_or`](Self::run_or) in a box;
    /// [`Layers`](crate::Layers) makes it its fast path's future.
    fn run_owned_or<'a, T, F, Fut, S>(
        &'a self,
        meta: OpMeta<'a>,
        call: F,
        secondary: Option<S>,
    ) -> BoxFuture<'a, Result<T>>
    where
        T: Send + 'a,
        F: Fn() -> Fut + Send + Sync + 'a,
        Fut: Future<Output = Result<T>> + Send + 'a,
        S: Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a,
    {
        Box::pin(async move {
            let call = || -> BoxFuture<'_, Result<T>> { Box::pin(call()) };
            let secondary = secondary.map(|s| move || s());
            self.run_or(&meta, as_call(&call), secondary.as_ref().map(as_call))
                .await
        })
    }

    /// Whether this layer may run a call described by `meta` more than once (a retry, a
    /// hedge). When it may not, what the call consumes (a document, a batch) is moved into
    /// its one run instead of copied for each. `true` unless the layer knows better, so a
    /// layer that does not say is given copies.
    fn may_repeat(&self, meta: &OpMeta<'_>) -> bool {
        let _ = meta;
        true
    }

    /// Wraps a stream of results the store returned (an object body, query rows, scan
    /// items): the [`TimeoutLayer`](crate::TimeoutLayer) bounds the wait between items. By
    /// default the stream is returned unchanged.
    fn stream<'s, T: Send + 's>(
        &self,
        meta: &OpMeta<'_>,
        stream: BoxStream<'s, Result<T>>,
    ) -> BoxStream<'s, Result<T>> {
        let _ = meta;
        stream
    }

    /// The fallback of this layer (or of the stack it belongs to), if any: the per-trait
    /// plumbing asks it for a secondary store of its kind.
    fn fallback(&self) -> Option<&FallbackLayer> {
        None
    }

    /// The read-through cache of this layer (or of its stack), if any.
    fn cache(&self) -> Option<&CacheLayer> {
        None
    }

    /// The metrics of this layer (or of its stack), if any: the plumbing counts object
    /// bytes through it.
    #[cfg(feature = "metrics")]
    fn metrics(&self) -> Option<&crate::MetricsLayer> {
        None
    }
}

impl<L: Layer + ?Sized> Layer for Arc<L> {
    fn around<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, Result<T>> {
        (**self).around(meta, call)
    }

    fn around_or<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
        secondary: Option<Call<'a, T>>,
    ) -> BoxFuture<'a, Result<T>> {
        (**self).around_or(meta, call, secondary)
    }

    fn run_or<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
        secondary: Option<Call<'a, T>>,
    ) -> impl Future<Output = Result<T>> + Send + 'a {
        (**self).run_or(meta, call, secondary)
    }

    fn run_owned<'a, T, F, Fut>(&'a self, meta: OpMeta<'a>, call: F) -> BoxFuture<'a, Result<T>>
    where
        T: Send + 'a,
        F: Fn() -> Fut + Send + Sync + 'a,
        Fut: Future<Output = Result<T>> + Send + 'a,
    {
        (**self).run_owned(meta, call)
    }

    fn run_owned_or<'a, T, F, Fut, S>(
        &'a self,
        meta: OpMeta<'a>,
        call: F,
        secondary: Option<S>,
    ) -> BoxFuture<'a, Result<T>>
    where
        T: Send + 'a,
        F: Fn() -> Fut + Send + Sync + 'a,
        Fut: Future<Output = Result<T>> + Send + 'a,
        S: Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a,
    {
        (**self).run_owned_or(meta, call, secondary)
    }

    fn stream<'s, T: Send + 's>(
        &self,
        meta: &OpMeta<'_>,
        stream: BoxStream<'s, Result<T>>,
    ) -> BoxStream<'s, Result<T>> {
        (**self).stream(meta, stream)
    }

    fn may_repeat(&self, meta: &OpMeta<'_>) -> bool {
        (**self).may_repeat(meta)
    }

    fn observed<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, Result<T>> {
        (**self).observed(meta, call)
    }

    fn fallback(&self) -> Option<&FallbackLayer> {
        (**self).fallback()
    }

    fn cache(&self) -> Option<&CacheLayer> {
        (**self).cache()
    }

    #[cfg(feature = "metrics")]
    fn metrics(&self) -> Option<&crate::MetricsLayer> {
        (**self).metrics()
    }
}

/// A store with a layer around every call: it implements the same trait as the store it
/// wraps ([`ObjectStore`](store_core::ObjectStore), [`DocumentStore`](store_core::DocumentStore),
/// [`SqlStore`](store_core::SqlStore), [`SearchIndex`](store_core::SearchIndex), [`Health`](store_core::Health)),
/// so an `Arc<dyn DocumentStore>` stays one.
pub struct Layered<S, L> {
    pub(crate) inner: S,
    pub(crate) layer: L,
}

impl<S, L> Layered<S, L> {
    /// Wraps `inner` in `layer`.
    pub fn new(inner: S, layer: L) -> Self {
        Self { inner, layer }
    }

    /// The store underneath.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The layer.
    pub fn layer(&self) -> &L {
        &self.layer
    }
}

impl<S: fmt::Debug, L: fmt::Debug> fmt::Debug for Layered<S, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Layered")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

/// `store.layer(layer)` for every store.
pub trait LayerExt: Sized {
    /// Wraps this store in `layer`.
    fn layer<L: Layer>(self, layer: L) -> Layered<Self, L> {
        Layered::new(self, layer)
    }
}

impl<S> LayerExt for S {}

/// Runs `f` through `layer` with the meta `meta`: the one helper every trait method of a
/// [`Layered`] store uses.
pub(crate) async fn through<'a, L, T, F>(layer: &'a L, meta: &'a OpMeta<'a>, f: F) -> Result<T>
where
    L: Layer,
    T: Send + 'a,
    F: Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a,
{
    let f = || f();
    layer.run_or(meta, as_call(&f), None).await
}
