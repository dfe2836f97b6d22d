//! [`RateLimitLayer`]: at most N calls per period for each collection (GCRA, by `governor`),
//! waiting for a slot or failing fast with `Throttled`.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{NotUntil, Quota, RateLimiter};
use store_core::{Result, StoreError};
use tokio::time::Instant;

use crate::layer::{Call, Layer};
use crate::meta::{OpMeta, StoreKind};

/// The source of a fail-fast refusal: the limit is this process's own, not the backend's,
/// so a circuit breaker does not count it as the backend failing.
#[derive(Debug)]
struct LocalLimit;

impl std::fmt::Display for LocalLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused by this process's own rate limit, not by the backend")
    }
}

impl std::error::Error for LocalLimit {}

/// Whether `error` is a [`RateLimitLayer`]'s own refusal rather than the backend's answer.
pub(crate) fn refused_locally(error: &StoreError) -> bool {
    std::error::Error::source(error).is_some_and(|source| source.is::<LocalLimit>())
}

/// Tokio's clock for `governor`, so a paused test clock drives the limiter: time since the
/// limiter was made.
#[derive(Debug, Clone, Copy)]
struct TokioClock {
    start: Instant,
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        // In nanoseconds, governor's own unit: its arithmetic on `Duration`s costs more
        // than the rest of a check.
        Nanos::from(self.start.elapsed())
    }
}

/// The limit of one collection.
type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Nanos>>;

/// The limiters of the collections a limit has met, by kind of store, then name.
type Limiters = RwLock<HashMap<StoreKind, HashMap<String, Arc<Limiter>>>>;

/// A rate limit per collection (bucket, table, index): at most `calls` per `period`,
/// spread evenly by the GCRA algorithm with bursts of up to `calls`. A call over the limit
/// waits for its slot by default; with [`fail_fast`](Self::fail_fast) it fails at once with
/// a `Throttled` error carrying when a slot frees up (`Retry-After`), which a
/// [`RetryLayer`](crate::RetryLayer) outside honours. Clones share the limit.
///
/// ```
/// use std::time::Duration;
/// use store_layers::RateLimitLayer;
/// let limit = RateLimitLayer::new(100, Duration::from_secs(1)).fail_fast();
/// assert_eq!(limit.waits(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    quota: Quota,
    limiters: Arc<Limiters>,
    /// The limiter of the first collection this clone was asked about (a layered store
    /// calls one), so that its calls find it without the shared map's lock.
    first: OnceLock<(StoreKind, Box<str>, Arc<Limiter>)>,
    clock: TokioClock,
    fail_fast: bool,
    waits: Arc<AtomicU64>,
}

impl RateLimitLayer {
    /// At most `calls` (at least 1) per `period` for each collection.
    pub fn new(calls: u32, period: Duration) -> Self {
        let burst = NonZeroU32::new(calls.max(1)).unwrap_or(NonZeroU32::MIN);
        let interval = (period / burst.get()).max(Duration::from_nanos(1));
        let quota = Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_second(burst))
            .allow_burst(burst);
        let clock = TokioClock {
            start: Instant::now(),
        };
        Self {
            quota,
            limiters: Arc::default(),
            first: OnceLock::new(),
            clock,
            fail_fast: false,
            waits: Arc::default(),
        }
    }

    /// Fails a call over the limit with `Throttled` instead of waiting.
    pub fn fail_fast(mut self) -> Self {
        self.fail_fast = true;
        self
    }

    /// Calls that had to wait for a slot so far.
    pub fn waits(&self) -> u64 {
        self.waits.load(Ordering::Relaxed)
    }
}

impl RateLimitLayer {
    /// Takes a slot of `meta`'s collection if one is free now.
    #[inline]
    pub(crate) fn admits_now(&self, meta: &OpMeta<'_>) -> bool {
        self.check(meta).is_ok()
    }

    /// Waits for a slot of `meta`'s collection (or, failing fast, refuses with `Throttled`).
    pub(crate) async fn admit(&self, meta: &OpMeta<'_>) -> Result<()> {
        if self.admits_now(meta) {
            return Ok(());
        }
        // Waiting is the slow path: its timer is boxed so that every call's future stays
        // small.
        Box::pin(self.wait(meta)).await
    }

    /// Takes a slot of `meta`'s collection, or says when one frees up.
    #[inline]
    fn check(&self, meta: &OpMeta<'_>) -> std::result::Result<(), NotUntil<Nanos>> {
        let collection = meta.collection.unwrap_or("");
        match self.first.get() {
            Some((kind, name, limiter)) if *kind == meta.kind && **name == *collection => {
                limiter.check()
            }
            _ => self.limiter(meta.kind, collection).check(),
        }
    }

    /// The limiter of `collection`, made on first use; the first one this clone meets is
    /// kept at hand (a stack shared by the stores of several collections, or an SQL store's
    /// tables, find the others here, under the map's read lock: they do not wait for each
    /// other).
    fn limiter(&self, kind: StoreKind, collection: &str) -> Arc<Limiter> {
        let known = self
            .limiters
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&kind)
            .and_then(|of_kind| of_kind.get(collection))
            .cloned();
        let limiter = known.unwrap_or_else(|| {
            self.limiters
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .entry(kind)
                .or_default()
                .entry(collection.to_owned())
                .or_insert_with(|| Arc::new(RateLimiter::direct_with_clock(self.quota, self.clock)))
                .clone()
        });
        if self.first.get().is_none() {
            // Only the first: building the entry for a set that fails would allocate on every
            // call to another collection.
            let _ = self.first.set((kind, collection.into(), limiter.clone()));
        }
        limiter
    }

    /// Waits until `meta`'s collection has a slot (or refuses, failing fast).
    async fn wait(&self, meta: &OpMeta<'_>) -> Result<()> {
        let mut waited = false;
        while let Err(not_until) = self.check(meta) {
            let wait = not_until.wait_time_from(self.clock.now());
            if self.fail_fast {
                return Err(StoreError::throttled(format!(
                    "`{meta}` is over its rate limit; a slot frees up in {wait:?}"
                ))
                .with_retry_after(wait)
                .with_source(LocalLimit)
                .with_backend(meta.backend));
            }
            if !waited {
                waited = true;
                self.waits.fetch_add(1, Ordering::Relaxed);
            }
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }
}

impl Layer for RateLimitLayer {
    /// Runs each call at most once.
    fn may_repeat(&self, _meta: &OpMeta<'_>) -> bool {
        false
    }

    fn around<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, Result<T>> {
        async move {
            self.admit(meta).await?;
            call().await
        }
        .boxed()
    }
}
