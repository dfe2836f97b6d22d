//! [`HedgeLayer`]: a second try of a slow idempotent read after a fixed delay; the first
//! good answer wins and the other try is cancelled.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Either};
use store_core::Result;

use crate::layer::{Call, Layer};
use crate::meta::{Access, OpMeta};
use crate::reserve::Reserve;

/// Hedged reads: when an idempotent read or listing has not answered after `delay`, the same
/// call is sent once more; the first success wins and the other try is dropped, which cancels
/// it (no call is left running when the layer returns). If the first try to finish failed,
/// the other one is awaited and its outcome returned. Writes and admin calls are never
/// hedged, whatever their idempotency, nor is `download_file` (a second one would move every
/// byte again).
///
/// Extra load is capped: each call earns `ratio` of a hedge (up to a reserve of `burst`),
/// each hedge spends one, so over time at most `ratio` of calls are hedged (10% by default,
/// with a reserve of 10). Clones share the cap and the counter.
///
/// ```
/// use std::time::Duration;
/// use store_layers::HedgeLayer;
/// let hedge = HedgeLayer::new(Duration::from_millis(50)).max_ratio(0.05, 5);
/// assert_eq!(hedge.fired(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct HedgeLayer {
    delay: Duration,
    reserve: Reserve,
    fired: Arc<AtomicU64>,
}

impl HedgeLayer {
    /// A second try after `delay`, for at most 10% of calls (a reserve of 10).
    pub fn new(delay: Duration) -> Self {
        Self {
            delay,
            reserve: Reserve::new(0.1, 10),
            fired: Arc::default(),
        }
    }

    /// At most `ratio` (0.0–1.0) of calls hedged over time, with a reserve of `burst` hedges
    /// (full at start).
    pub fn max_ratio(mut self, ratio: f64, burst: u32) -> Self {
        self.reserve = Reserve::new(ratio, burst);
        self
    }

    /// Hedges fired so far.
    pub fn fired(&self) -> u64 {
        self.fired.load(Ordering::Relaxed)
    }
}

impl HedgeLayer {
    /// Runs `attempt`, and a second one if the first is slower than the delay (idempotent
    /// reads only); the first good answer wins and the other run is dropped.
    pub(crate) async fn run<T, F, Fut>(&self, meta: &OpMeta<'_>, attempt: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if !hedgeable(meta) {
            return attempt().await;
        }
        self.earn();
        let mut first = std::pin::pin!(attempt());
        // A read that is ready at once needs no timer.
        if let Poll::Ready(outcome) = futures::poll!(first.as_mut()) {
            return outcome;
        }
        let delay = std::pin::pin!(tokio::time::sleep(self.delay));
        match futures::future::select(first.as_mut(), delay).await {
            Either::Left((outcome, _)) => return outcome,
            Either::Right(((), _)) => {}
        }
        if !self.fire(meta) {
            return first.await;
        }
        let second = std::pin::pin!(attempt());
        match futures::future::select(first, second).await {
            Either::Left((Ok(value), _)) | Either::Right((Ok(value), _)) => Ok(value),
            Either::Left((Err(_), other)) => other.await,
            Either::Right((Err(_), other)) => other.await,
        }
    }
}

impl HedgeLayer {
    /// The wait before a second try.
    pub(crate) fn delay(&self) -> Duration {
        self.delay
    }

    /// One hedgeable call's share of the reserve.
    #[inline]
    pub(crate) fn earn(&self) {
        self.reserve.earn();
    }

    /// Whether a second try of `meta`'s slow call may go now: it spends one from the
    /// reserve and is counted.
    pub(crate) fn fire(&self, meta: &OpMeta<'_>) -> bool {
        if !self.reserve.spend() {
            return false;
        }
        self.fired.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(operation = %meta, delay = ?self.delay, "hedging a slow read");
        true
    }
}

/// Reads that move a whole object in one call: a second one would move every byte again
/// and throw the first one's progress away, so they are not hedged.
const WHOLE_TRANSFERS: [&str; 1] = ["download_file"];

/// Whether a call of `meta` may be hedged: idempotent reads and listings only, not whole
/// transfers.
pub(crate) fn hedgeable(meta: &OpMeta<'_>) -> bool {
    meta.idempotent
        && matches!(meta.access, Access::Read | Access::List)
        && !WHOLE_TRANSFERS.contains(&meta.operation)
}

impl Layer for HedgeLayer {
    fn may_repeat(&self, meta: &OpMeta<'_>) -> bool {
        hedgeable(meta)
    }

    fn around<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, Result<T>> {
        if !hedgeable(meta) {
            return call();
        }
        self.run(meta, call).boxed()
    }
}
