//! [`Layers`]: several layers in the one safe order.

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::breaker::BreakerLayer;
use crate::concurrency::ConcurrencyLayer;
use crate::faults::FaultLayer;
use crate::layer::{Call, Layer};
use crate::meta::OpMeta;
use crate::retry::RetryLayer;
use crate::timeout::TimeoutLayer;
use crate::trace::TraceLayer;

/// The layers a store gets, applied in one fixed order whatever order they were set in,
/// outermost first: trace → breaker → retry → timeout → concurrency limit → fault injection →
/// the store. So a trace spans every attempt, a breaker counts a call once however many
/// attempts it took, each attempt has its own time limit, a waiting
/// call does not hold a permit while it backs off, and injected faults look to every other
/// layer exactly like the store's own.
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
    trace: Option<TraceLayer>,
    breaker: Option<BreakerLayer>,
    retry: Option<RetryLayer>,
    timeout: Option<TimeoutLayer>,
    concurrency: Option<ConcurrencyLayer>,
    faults: Option<FaultLayer>,
}

impl Layers {
    /// No layer yet: calls pass straight through.
    pub fn new() -> Self {
        Self::default()
    }

    /// A span per call ([`TraceLayer`]).
    pub fn trace(mut self) -> Self {
        self.trace = Some(TraceLayer::new());
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

    /// A time limit on each attempt ([`TimeoutLayer::new`]).
    pub fn timeout(self, limit: std::time::Duration) -> Self {
        self.timeout_layer(TimeoutLayer::new(limit))
    }

    /// A configured [`TimeoutLayer`] (per-operation limits).
    pub fn timeout_layer(mut self, layer: TimeoutLayer) -> Self {
        self.timeout = Some(layer);
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

/// `call` run through `layer` when there is one.
fn wrap<'a, L: Layer, T: Send + 'a>(
    layer: Option<&'a L>,
    meta: &'a OpMeta,
    call: Call<'a, T>,
) -> Call<'a, T> {
    match layer {
        None => call,
        Some(layer) => Arc::new(move || layer.around(meta, call.clone())),
    }
}

impl Layer for Layers {
    fn around<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        // Innermost first: each wrap runs the layers inside it.
        let call = wrap(self.faults.as_ref(), meta, call);
        let call = wrap(self.concurrency.as_ref(), meta, call);
        let call = wrap(self.timeout.as_ref(), meta, call);
        let call = wrap(self.retry.as_ref(), meta, call);
        let call = wrap(self.breaker.as_ref(), meta, call);
        let call = wrap(self.trace.as_ref(), meta, call);
        call()
    }
}
