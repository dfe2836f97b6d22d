#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
//!
//! ## API at a glance
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
//! | [`RetryLayer`] | retries retryable errors of idempotent calls, with backoff, `Retry-After` and a [`RetryBudget`]; a conditional write refused because of what its own earlier run wrote is read back and reported done |
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

mod breaker;
mod cache;
mod concurrency;
mod consumed;
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
mod pages;
mod permits;
mod rate;
mod read;
mod reserve;
mod retry;
mod search;
mod served;
mod settle;
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
