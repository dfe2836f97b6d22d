//! [`Layers`]: several layers in the one safe order.

use std::future::Future;

use futures::future::BoxFuture;
use futures::stream::BoxStream;

use crate::breaker::BreakerLayer;
use crate::cache::CacheLayer;
use crate::concurrency::ConcurrencyLayer;
use crate::fallback::FallbackLayer;
use crate::faults::FaultLayer;
use crate::hedge::HedgeLayer;
use crate::layer::{Call, Layer};
use crate::meta::OpMeta;
use crate::rate::RateLimitLayer;
use crate::retry::RetryLayer;
use crate::timeout::TimeoutLayer;
use crate::trace::TraceLayer;

mod quick;

/// The layers a store gets, applied in one fixed order whatever order they were set in,
/// outermost first: cache → metrics → trace → fallback → breaker → retry → hedge → timeout → rate
/// limit → concurrency limit → fault injection → the store. So a cache hit costs nothing and
/// only the primary's answers are cached; a trace spans every attempt and the fallback's
/// read; an open breaker sends reads to the fallback at once; a breaker counts a call once
/// however many attempts it took; each attempt may be hedged and each try has its own time
/// limit; a call waiting for a rate-limit slot or backing off holds no permit; and injected
/// faults look to every other layer exactly like the store's own. Streams (object bodies,
/// query and scan items, SQL rows) get the timeout layer's idle limit.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use store_core::memory::MemoryDocumentStore;
/// use store_core::{DocumentStore, KeySchema, KeyType, RetryPolicy};
/// use store_layers::{LayerExt, Layers};
///
/// let store = MemoryDocumentStore::new("users", KeySchema::partition("id", KeyType::String))?;
/// let layers = Layers::new()
///     .timeout(Duration::from_secs(2))
///     .retry(RetryPolicy::default())
///     .concurrency(16)
///     .trace();
/// let store: Arc<dyn DocumentStore> = Arc::new(store.layer(layers));
/// assert_eq!(store.backend(), "memory");
/// # Ok::<(), store_core::StoreError>(()) }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct Layers {
    #[cfg(feature = "metrics")]
    metrics: Option<crate::MetricsLayer>,
    trace: Option<TraceLayer>,
    cache: Option<CacheLayer>,
    fallback: Option<FallbackLayer>,
    breaker: Option<BreakerLayer>,
    retry: Option<RetryLayer>,
    hedge: Option<HedgeLayer>,
    timeout: Option<TimeoutLayer>,
    rate: Option<RateLimitLayer>,
    concurrency: Option<ConcurrencyLayer>,
    faults: Option<FaultLayer>,
    /// Whether a layer that works on every call and has no fast path is set (metrics):
    /// kept by the setters, so the fast path tests one flag.
    busy: bool,
}

impl Layers {
    /// No layer yet: calls pass straight through.
    pub fn new() -> Self {
        Self::default()
    }

    /// A span per call ([`TraceLayer::new`]).
    pub fn trace(self) -> Self {
        self.trace_layer(TraceLayer::new())
    }

    /// A configured [`TraceLayer`] (namespace, server, query text).
    pub fn trace_layer(mut self, layer: TraceLayer) -> Self {
        self.trace = Some(layer);
        self
    }

    /// OpenTelemetry metrics ([`MetricsLayer`](crate::MetricsLayer), feature `metrics`),
    /// outermost with the trace: a call's duration covers its retries and fallback.
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, layer: crate::MetricsLayer) -> Self {
        self.metrics = Some(layer);
        self.busy = true;
        self
    }

    /// A read-through cache ([`CacheLayer`]), consulted before the other layers: a hit
    /// costs no call; answers a fallback gave are not cached.
    pub fn cache(mut self, layer: CacheLayer) -> Self {
        self.cache = Some(layer);
        self
    }

    /// Reads the primary cannot answer go to a secondary store ([`FallbackLayer`]); it sits
    /// outside the breaker, so an open breaker sends reads there at once.
    pub fn fallback(mut self, layer: FallbackLayer) -> Self {
        self.fallback = Some(layer);
        self
    }

    /// A circuit breaker ([`BreakerLayer`]); pass a clone of one breaker to every store of
    /// the same endpoint.
    pub fn breaker(mut self, layer: BreakerLayer) -> Self {
        self.breaker = Some(layer);
        self
    }

    /// Retries as `policy` says ([`RetryLayer::new`]).
    pub fn retry(self, policy: store_core::RetryPolicy) -> Self {
        self.retry_layer(RetryLayer::new(policy))
    }

    /// A configured [`RetryLayer`] (overrides, budget).
    pub fn retry_layer(mut self, layer: RetryLayer) -> Self {
        self.retry = Some(layer);
        self
    }

    /// A second try of slow idempotent reads ([`HedgeLayer`]), inside retry, so each
    /// attempt may be hedged, and outside timeout, so each try has its own limit.
    pub fn hedge(mut self, layer: HedgeLayer) -> Self {
        self.hedge = Some(layer);
        self
    }

    /// A time limit on each attempt ([`TimeoutLayer::new`]).
    pub fn timeout(self, limit: std::time::Duration) -> Self {
        self.timeout_layer(TimeoutLayer::new(limit))
    }

    /// A configured [`TimeoutLayer`] (per-operation limits).
    pub fn timeout_layer(mut self, layer: TimeoutLayer) -> Self {
        self.timeout = Some(layer);
        self
    }

    /// A rate limit per collection ([`RateLimitLayer`]), inside timeout (a wait for a slot
    /// counts against the attempt's limit) and outside the concurrency limit (a waiting call
    /// holds no permit).
    pub fn rate_limit(mut self, layer: RateLimitLayer) -> Self {
        self.rate = Some(layer);
        self
    }

    /// At most `limit` calls at once ([`ConcurrencyLayer::new`]).
    pub fn concurrency(self, limit: usize) -> Self {
        self.concurrency_layer(ConcurrencyLayer::new(limit))
    }

    /// A [`ConcurrencyLayer`], possibly shared with other stores.
    pub fn concurrency_layer(mut self, layer: ConcurrencyLayer) -> Self {
        self.concurrency = Some(layer);
        self
    }

    /// Fault injection ([`FaultLayer`]), innermost.
    pub fn faults(mut self, layer: FaultLayer) -> Self {
        self.faults = Some(layer);
        self
    }
}

/// The engine: each layer's step, in the stack's order, inside one future. The layers do not
/// wrap one another in boxed calls. Calls the fast path ([`quick`]) cannot serve whole run
/// here.
impl Layers {
    /// One run of the call: the timeout around the rest of the attempt.
    async fn attempt<'a, T: Send + 'a>(
        &self,
        meta: &OpMeta<'_>,
        call: &Call<'a, T>,
    ) -> store_core::Result<T> {
        match &self.timeout {
            Some(timeout) => timeout.run(meta, || self.admitted(meta, call)).await,
            None => self.admitted(meta, call).await,
        }
    }

    /// The rate limit, the concurrency permit, the faults and the store.
    async fn admitted<'a, T: Send + 'a>(
        &self,
        meta: &OpMeta<'_>,
        call: &Call<'a, T>,
    ) -> store_core::Result<T> {
        if let Some(rate) = &self.rate {
            rate.admit(meta).await?;
        }
        let _permit = match &self.concurrency {
            Some(limit) => Some(limit.permit().await),
            None => None,
        };
        match &self.faults {
            Some(faults) => faults.run(meta, call).await,
            None => call().await,
        }
    }

    /// One attempt, hedged when a hedge layer is set.
    async fn hedged<'a, T: Send + 'a>(
        &self,
        meta: &OpMeta<'_>,
        call: &Call<'a, T>,
    ) -> store_core::Result<T> {
        match &self.hedge {
            // Hedging holds two runs and a timer: boxed, so unhedged calls stay small.
            Some(hedge) => Box::pin(hedge.run(meta, || self.attempt(meta, call))).await,
            None => self.attempt(meta, call).await,
        }
    }

    /// The attempts of one call: retried, each one hedged.
    async fn tries<'a, T: Send + 'a>(
        &self,
        meta: &OpMeta<'_>,
        call: &Call<'a, T>,
    ) -> store_core::Result<T> {
        let hedged = || self.hedged(meta, call);
        match &self.retry {
            Some(retry) => retry.run(meta, hedged).await,
            None => hedged().await,
        }
    }

    /// The call as the primary store answers it: through the breaker, then the attempts.
    async fn primary<'a, T: Send + 'a>(
        &self,
        meta: &OpMeta<'_>,
        call: &Call<'a, T>,
    ) -> store_core::Result<T> {
        match &self.breaker {
            Some(breaker) => breaker.run(meta, || self.tries(meta, call)).await,
            None => self.tries(meta, call).await,
        }
    }

    /// Whether a call can take the fast path ([`quick`]): no layer outside the fallback has
    /// anything to do (no metrics, no span a subscriber could record). The fast path asks
    /// the fallback, the breaker, the rate limit and the hedge itself.
    #[inline]
    fn plain(&self) -> bool {
        !(self.busy || (self.trace.is_some() && tracing::level_enabled!(tracing::Level::INFO)))
    }

    /// `call` inside the metrics and the trace: the whole of [`Layer::observed`], and the
    /// outside of every call the engine serves.
    async fn observing<T, Fut>(
        &self,
        meta: &OpMeta<'_>,
        call: impl FnOnce() -> Fut,
    ) -> store_core::Result<T>
    where
        Fut: Future<Output = store_core::Result<T>>,
    {
        let traced = || async {
            match &self.trace {
                Some(trace) => trace.run(meta, call).await,
                None => call().await,
            }
        };
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.metrics {
            return metrics.run(meta, traced).await;
        }
        traced().await
    }

    /// The whole call: metrics and trace around the primary, with its fallback.
    async fn served<'a, T: Send + 'a>(
        &self,
        meta: &OpMeta<'_>,
        call: Call<'a, T>,
        secondary: Option<Call<'a, T>>,
    ) -> store_core::Result<T> {
        let answered = || async {
            match (&self.fallback, &secondary) {
                (Some(fallback), Some(secondary)) => {
                    let secondary = Some(secondary);
                    // Boxed: only reads with a fallback carry its path.
                    Box::pin(fallback.run(meta, || self.primary(meta, &call), secondary)).await
                }
                _ => self.primary(meta, &call).await,
            }
        };
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.metrics {
            metrics.observe(
                meta,
                crate::metrics::Observed {
                    retry: self.retry.as_ref(),
                    hedge: self.hedge.as_ref(),
                    rate: self.rate.as_ref(),
                    breaker: self.breaker.as_ref(),
                },
            );
        }
        self.observing(meta, answered).await
    }
}

impl Layer for Layers {
    /// Only the retry and the hedge run a call again, each as it says.
    fn may_repeat(&self, meta: &OpMeta<'_>) -> bool {
        self.retry
            .as_ref()
            .is_some_and(|retry| retry.may_repeat(meta))
            || self
                .hedge
                .as_ref()
                .is_some_and(|hedge| hedge.may_repeat(meta))
    }

    fn around<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        Box::pin(quick::Quick::new(
            self,
            *meta,
            call,
            quick::already_boxed,
            None::<Call<'a, T>>,
        ))
    }

    fn around_or<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
        secondary: Option<Call<'a, T>>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        Box::pin(quick::Quick::new(
            self,
            *meta,
            call,
            quick::already_boxed,
            secondary,
        ))
    }

    fn run_or<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
        secondary: Option<Call<'a, T>>,
    ) -> impl Future<Output = store_core::Result<T>> + Send + 'a {
        quick::Quick::new(self, *meta, call, quick::already_boxed, secondary)
    }

    fn run_owned_or<'a, T, F, Fut, S>(
        &'a self,
        meta: OpMeta<'a>,
        call: F,
        secondary: Option<S>,
    ) -> BoxFuture<'a, store_core::Result<T>>
    where
        T: Send + 'a,
        F: Fn() -> Fut + Send + Sync + 'a,
        Fut: Future<Output = store_core::Result<T>> + Send + 'a,
        S: Fn() -> BoxFuture<'a, store_core::Result<T>> + Send + Sync + 'a,
    {
        let boxed = |future: Fut| -> BoxFuture<'a, store_core::Result<T>> { Box::pin(future) };
        // Allocated before the value is built, so the optimiser may build it in the box
        // (it does here: the future's copy from the stack left the profile).
        let quick: Box<quick::Quick<'a, T, F, Fut, S>> = Box::write(
            Box::new_uninit(),
            quick::Quick::new(self, meta, call, boxed, secondary),
        );
        Box::into_pin(quick)
    }

    fn observed<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        Box::pin(self.observing(meta, call))
    }

    fn stream<'s, T: Send + 's>(
        &self,
        meta: &OpMeta<'_>,
        stream: BoxStream<'s, store_core::Result<T>>,
    ) -> BoxStream<'s, store_core::Result<T>> {
        match &self.timeout {
            Some(timeout) => timeout.stream(meta, stream),
            None => stream,
        }
    }

    fn fallback(&self) -> Option<&FallbackLayer> {
        self.fallback.as_ref()
    }

    fn cache(&self) -> Option<&CacheLayer> {
        self.cache.as_ref()
    }

    #[cfg(feature = "metrics")]
    fn metrics(&self) -> Option<&crate::MetricsLayer> {
        self.metrics.as_ref()
    }
}
