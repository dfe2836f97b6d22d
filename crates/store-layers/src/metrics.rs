//! [`MetricsLayer`] (feature `metrics`): OpenTelemetry metrics for every call and for what the
//! other layers of its stack do.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use futures::FutureExt;
use futures::future::BoxFuture;
use opentelemetry::metrics::{Counter, Histogram, Meter};
use opentelemetry::{InstrumentationScope, KeyValue, global};

use crate::breaker::{BreakerLayer, BreakerState};
use crate::hedge::HedgeLayer;
use crate::layer::{Call, Layer};
use crate::meta::OpMeta;
use crate::rate::RateLimitLayer;
use crate::retry::RetryLayer;
use crate::trace::system_name;

/// The histogram buckets of `db.client.operation.duration`, in seconds, as the OpenTelemetry
/// database conventions advise.
const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
];

/// Records OpenTelemetry metrics through a [`Meter`] the application provides (a library never
/// installs an exporter):
///
/// | instrument | kind | what |
/// |---|---|---|
/// | `db.client.operation.duration` | histogram, `s` | every call, retries included, with `db.system.name`, `db.operation.name`, `db.collection.name`, and on failure `error.type` and `db.response.status_code` |
/// | `stores.client.bytes` | counter, `By` | object bodies sent (`put`) and received (`get`, as the body is read), with `stores.direction` = `sent` / `received` |
/// | `stores.client.retries` | observable counter | retries made by the stack's [`RetryLayer`] |
/// | `stores.client.hedges` | observable counter | second tries fired by the stack's [`HedgeLayer`] |
/// | `stores.client.rate_limit.waits` | observable counter | calls the stack's [`RateLimitLayer`] made wait |
/// | `stores.client.breaker.openings` | observable counter | times the stack's [`BreakerLayer`] opened |
/// | `stores.client.breaker.state` | observable gauge | 0 closed, 1 half-open, 2 open |
///
/// The observable instruments are registered at the first call through a
/// [`Layers`](crate::Layers) stack holding the layer, with that call's `db.system.name`, and
/// report that stack's layers: give each stack its own `MetricsLayer` (they may share one
/// meter). A call dropped before it finished records no duration; bytes of streamed puts,
/// file transfers and cached reads are not counted. Collection names are recorded, keys and query text never.
///
/// ```
/// use store_layers::{Layers, MetricsLayer};
/// let meter = opentelemetry::global::meter("my-service");
/// let layers = Layers::new().metrics(MetricsLayer::new(&meter));
/// # let _ = layers;
/// ```
#[derive(Clone)]
pub struct MetricsLayer {
    inner: Arc<Instruments>,
}

struct Instruments {
    meter: Meter,
    duration: Histogram<f64>,
    bytes: Counter<u64>,
    /// The observable instruments, kept alive with the layer.
    observed: OnceLock<Vec<Box<dyn Any + Send + Sync>>>,
}

impl fmt::Debug for MetricsLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsLayer").finish_non_exhaustive()
    }
}

impl MetricsLayer {
    /// Records through `meter`.
    pub fn new(meter: &Meter) -> Self {
        let duration = meter
            .f64_histogram("db.client.operation.duration")
            .with_description("Duration of database client operations.")
            .with_unit("s")
            .with_boundaries(DURATION_BUCKETS.to_vec())
            .build();
        let bytes = meter
            .u64_counter("stores.client.bytes")
            .with_description("Object bytes sent and received.")
            .with_unit("By")
            .build();
        Self {
            inner: Arc::new(Instruments {
                meter: meter.clone(),
                duration,
                bytes,
                observed: OnceLock::new(),
            }),
        }
    }

    /// Records through the global meter provider, under the scope `store-layers`.
    pub fn global() -> Self {
        let scope = InstrumentationScope::builder("store-layers")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        Self::new(&global::meter_with_scope(scope))
    }

    /// The attributes every instrument of a call carries.
    fn attributes(meta: &OpMeta<'_>) -> Vec<KeyValue> {
        let mut attributes = vec![
            KeyValue::new("db.system.name", system_name(meta.backend)),
            KeyValue::new("db.operation.name", meta.operation),
        ];
        if let Some(collection) = meta.collection {
            attributes.push(KeyValue::new("db.collection.name", collection.to_owned()));
        }
        attributes
    }

    /// A counter of object bytes of `meta`'s call moved in `direction` (`sent` or
    /// `received`), to call as they move (a body is counted as it is read).
    pub(crate) fn bytes(
        &self,
        meta: &OpMeta<'_>,
        direction: &'static str,
    ) -> impl Fn(u64) + Send + Sync + 'static {
        let mut attributes = Self::attributes(meta);
        attributes.push(KeyValue::new("stores.direction", direction));
        let counter = self.inner.bytes.clone();
        move |n| {
            if n > 0 {
                counter.add(n, &attributes);
            }
        }
    }

    /// Registers, once, the observable instruments of the stack's other layers.
    pub(crate) fn observe(&self, meta: &OpMeta<'_>, stack: Observed<'_>) {
        self.inner.observed.get_or_init(|| {
            let system = [KeyValue::new("db.system.name", system_name(meta.backend))];
            let meter = &self.inner.meter;
            let mut kept: Vec<Box<dyn Any + Send + Sync>> = Vec::new();
            let counter = |name: &'static str,
                           about: &'static str,
                           read: Box<dyn Fn() -> u64 + Send + Sync>| {
                let attributes = system.clone();
                meter
                    .u64_observable_counter(name)
                    .with_description(about)
                    .with_callback(move |observer| observer.observe(read(), &attributes))
                    .build()
            };
            if let Some(retry) = stack.retry.cloned() {
                kept.push(Box::new(counter(
                    "stores.client.retries",
                    "Retries made by the retry layer.",
                    Box::new(move || retry.retries()),
                )));
            }
            if let Some(hedge) = stack.hedge.cloned() {
                kept.push(Box::new(counter(
                    "stores.client.hedges",
                    "Second tries fired by the hedge layer.",
                    Box::new(move || hedge.fired()),
                )));
            }
            if let Some(rate) = stack.rate.cloned() {
                kept.push(Box::new(counter(
                    "stores.client.rate_limit.waits",
                    "Calls the rate limit made wait.",
                    Box::new(move || rate.waits()),
                )));
            }
            if let Some(breaker) = stack.breaker.cloned() {
                let opened = breaker.clone();
                kept.push(Box::new(counter(
                    "stores.client.breaker.openings",
                    "Times the circuit breaker opened.",
                    Box::new(move || opened.times_opened()),
                )));
                let attributes = system.clone();
                kept.push(Box::new(
                    meter
                        .i64_observable_gauge("stores.client.breaker.state")
                        .with_description("Circuit breaker state: 0 closed, 1 half-open, 2 open.")
                        .with_callback(move |observer| {
                            let state = match breaker.state() {
                                BreakerState::Closed => 0,
                                BreakerState::HalfOpen => 1,
                                BreakerState::Open { .. } => 2,
                            };
                            observer.observe(state, &attributes);
                        })
                        .build(),
                ));
            }
            kept
        });
    }
}

/// The layers of a stack whose counters a [`MetricsLayer`] reports.
#[derive(Default, Clone, Copy)]
pub(crate) struct Observed<'s> {
    pub(crate) retry: Option<&'s RetryLayer>,
    pub(crate) hedge: Option<&'s HedgeLayer>,
    pub(crate) rate: Option<&'s RateLimitLayer>,
    pub(crate) breaker: Option<&'s BreakerLayer>,
}

impl MetricsLayer {
    /// Runs `call` and records its duration.
    pub(crate) async fn run<T, Fut>(
        &self,
        meta: &OpMeta<'_>,
        call: impl FnOnce() -> Fut,
    ) -> store_core::Result<T>
    where
        Fut: std::future::Future<Output = store_core::Result<T>>,
    {
        {
            let started = Instant::now();
            let outcome = call().await;
            let mut attributes = Self::attributes(meta);
            if let Err(e) = &outcome {
                attributes.push(KeyValue::new("error.type", e.kind().as_str()));
                if let Some(code) = e.status_code() {
                    attributes.push(KeyValue::new("db.response.status_code", code.to_owned()));
                }
            }
            self.inner
                .duration
                .record(started.elapsed().as_secs_f64(), &attributes);
            outcome
        }
    }
}

impl Layer for MetricsLayer {
    /// Runs each call at most once.
    fn may_repeat(&self, _meta: &OpMeta<'_>) -> bool {
        false
    }

    fn around<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        self.run(meta, call).boxed()
    }

    fn observed<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        self.around(meta, call)
    }

    fn metrics(&self) -> Option<&MetricsLayer> {
        Some(self)
    }
}
