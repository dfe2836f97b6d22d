//! # store-layers
//!
//! Resilience and observability as layers over any store of the `stores` family: a layered
//! store implements the same trait as the store it wraps ([`ObjectStore`](store_core::ObjectStore),
//! [`DocumentStore`](store_core::DocumentStore), [`SqlStore`](store_core::SqlStore),
//! [`SearchIndex`](store_core::SearchIndex)), so `Arc<dyn DocumentStore>` stays
//! `Arc<dyn DocumentStore>`, whether the store is an adapter, an in-memory or embedded
//! backend, or your own.
//!
//! Every call is described once by an [`OpMeta`] (kind, backend, operation, collection,
//! read/write, idempotent), and every layer decides from it: a retry repeats only what may
//! safely run twice, a fault layer targets writes or one operation.
//!
//! | layer | does |
//! |---|---|
//! | [`CacheLayer`] | an in-memory read-through cache of single-key reads, bounded, with a TTL, invalidated by our writes |
//! | `MetricsLayer` (feature `metrics`) | OpenTelemetry metrics: `db.client.operation.duration`, bytes, retries, hedges, rate-limit waits, breaker state |
//! | [`TraceLayer`] | one client span per call with the OpenTelemetry database attributes |
//! | [`FallbackLayer`] | reads the primary cannot answer go to a secondary store, marked so ([`observe_served`]); writes never do |
//! | [`BreakerLayer`] | a circuit breaker per endpoint: opens on a rate of transient failures, answers at once with when it will probe again |
//! | [`RetryLayer`] | retries retryable errors of idempotent calls, with backoff, `Retry-After` and a [`RetryBudget`] |
//! | [`HedgeLayer`] | a second try of a slow idempotent read after a delay; the loser is cancelled; extra load capped |
//! | [`TimeoutLayer`] | a time limit on each attempt, per operation if needed, and an idle limit between stream items |
//! | [`RateLimitLayer`] | at most N calls per period per collection (GCRA), waiting or failing fast with `Throttled` |
//! | [`ConcurrencyLayer`] | at most N calls at once, shareable across stores |
//! | [`FaultLayer`] | seeded faults on reads and writes: errors by kind and ratio, failures after a successful write, latency, scripts |
//!
//! [`SqlSearch`] answers searches from a SQL table, for a search [`FallbackLayer`] when the
//! cluster is down.
//!
//! [`Layers`] puts them in the one safe order; [`LayerExt::layer`] wraps a store in one layer.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use store_core::memory::MemoryObjectStore;
//! use store_core::{ErrorKind, ObjectKey, ObjectStoreExt, RetryPolicy};
//! use store_layers::{FaultLayer, LayerExt, Layers};
//!
//! // Fail the next two calls as a throttled server would; the retry layer absorbs them.
//! let faults = FaultLayer::seeded(1);
//! faults.fail_next(2, ErrorKind::Throttled);
//! let policy = RetryPolicy::default().base_delay(Duration::from_millis(1));
//! let store = MemoryObjectStore::new().layer(Layers::new().retry(policy).faults(faults.clone()));
//! let key = ObjectKey::new("a.txt")?;
//! store.put_str(&key, "hello").await?;
//! assert_eq!(store.get_string(&key).await?, "hello");
//! assert_eq!(faults.injected(), 2);
//! # Ok::<(), store_core::StoreError>(()) }).unwrap();
//! ```

mod breaker;
mod cache;
mod concurrency;
mod document;
mod fallback;
mod faults;
mod health;
mod hedge;
mod idle;
mod layer;
mod meta;
#[cfg(feature = "metrics")]
mod metrics;
mod object;
mod rate;
mod read;
mod retry;
mod search;
mod served;
mod sql;
mod sql_search;
mod stack;
mod timeout;
mod trace;

pub use breaker::{BreakerConfig, BreakerLayer, BreakerState};
pub use cache::CacheLayer;
pub use concurrency::ConcurrencyLayer;
pub use document::update_is_idempotent;
pub use fallback::FallbackLayer;
pub use faults::{Fault, FaultLayer};
pub use hedge::HedgeLayer;
pub use layer::{Call, Layer, LayerExt, Layered};
pub use meta::{Access, OpMeta, StoreKind};
#[cfg(feature = "metrics")]
pub use metrics::MetricsLayer;
pub use rate::RateLimitLayer;
pub use retry::{RetryBudget, RetryLayer};
pub use served::{Served, Source, observe_served};
pub use sql_search::SqlSearch;
pub use stack::Layers;
pub use timeout::TimeoutLayer;
pub use trace::TraceLayer;
