//! [`RetryLayer`]: retries retryable failures of idempotent calls with store-core's
//! [`RetryPolicy`] and [`Backoff`](store_core::Backoff), within a retry budget.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::FutureExt;
use futures::future::BoxFuture;
use store_core::{RetryPolicy, StoreError};

use crate::layer::{Call, Layer};
use crate::meta::OpMeta;
use crate::reserve::Reserve;

/// Retries a call that failed with a retryable error ([`StoreError::is_retryable`]), as the
/// policy allows, honouring the server's `Retry-After`; a call that is not idempotent runs
/// once, unless an override says it may be repeated.
///
/// When this layer is on, turn the adapters' own SDK retry down to one attempt
/// (`max_attempts(1)` on the S3 and DynamoDB builders) so the two never multiply.
///
/// ```
/// use std::time::Duration;
/// use store_core::RetryPolicy;
/// use store_layers::{RetryBudget, RetryLayer};
/// let retry = RetryLayer::new(RetryPolicy::default().base_delay(Duration::from_millis(20)))
///     .idempotent("execute", true)
///     .budget(RetryBudget::new(0.2, 10));
/// # let _ = retry;
/// ```
#[derive(Debug, Clone)]
pub struct RetryLayer {
    policy: RetryPolicy,
    overrides: HashMap<&'static str, bool>,
    budget: Option<RetryBudget>,
    retries: Arc<AtomicU64>,
}

impl RetryLayer {
    /// Retries as `policy` says, idempotent calls only, with no budget.
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            overrides: HashMap::new(),
            budget: None,
            retries: Arc::default(),
        }
    }

    /// Overrides whether `operation` (`"execute"`, `"update"`…) may be repeated.
    pub fn idempotent(mut self, operation: &'static str, repeatable: bool) -> Self {
        self.overrides.insert(operation, repeatable);
        self
    }

    /// Caps retries across every call through this layer (clones share the budget).
    pub fn budget(mut self, budget: RetryBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Retries made so far through this layer and its clones.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    #[inline]
    fn repeatable(&self, meta: &OpMeta<'_>) -> bool {
        if self.overrides.is_empty() {
            return meta.idempotent;
        }
        self.overrides
            .get(meta.operation)
            .copied()
            .unwrap_or(meta.idempotent)
    }
}

impl RetryLayer {
    /// Runs `attempt` once, then again as the policy allows while it fails retryably (only
    /// when `meta`'s call may be repeated).
    pub(crate) async fn run<T, F, Fut>(
        &self,
        meta: &OpMeta<'_>,
        attempt: F,
    ) -> store_core::Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = store_core::Result<T>>,
    {
        if !self.begin(meta) {
            return attempt().await;
        }
        let (first, started) = match clocked(attempt()).await {
            Ok(value) => return Ok(value),
            Err(failed) => failed,
        };
        // Retrying is the slow path: its backoff timer is boxed so that every call's future
        // stays small.
        Box::pin(self.retry(meta, &attempt, started, first)).await
    }

    /// Whether `meta`'s call may be repeated; if so, its first attempt earns the budget its
    /// share.
    #[inline]
    pub(crate) fn begin(&self, meta: &OpMeta<'_>) -> bool {
        let repeatable = self.repeatable(meta);
        if repeatable && let Some(budget) = &self.budget {
            budget.reserve.earn();
        }
        repeatable
    }

    /// The retries after a first attempt, begun at `started`, failed with `first`.
    pub(crate) async fn retry<T, F, Fut>(
        &self,
        meta: &OpMeta<'_>,
        attempt: &F,
        started: tokio::time::Instant,
        first: StoreError,
    ) -> store_core::Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = store_core::Result<T>>,
    {
        let mut backoff = self.policy.start_at(started);
        let mut error = first;
        loop {
            let Some(delay) = backoff.next_for(&error) else {
                return Err(error);
            };
            if let Some(budget) = &self.budget
                && !budget.reserve.spend()
            {
                tracing::debug!(operation = meta.operation, "retry budget spent");
                return Err(error);
            }
            tracing::debug!(
                operation = meta.operation,
                attempt = backoff.failures(),
                ?delay,
                error = %error,
                "retrying"
            );
            self.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
            error = match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
        }
    }
}

/// Runs a first attempt; the time it began, from which the policy's elapsed budget counts, is
/// read only if it did not finish on its first poll (an attempt that did took no time), so a
/// call that succeeds at once never reads the clock.
pub(crate) async fn clocked<T, F>(attempt: F) -> Result<T, (StoreError, tokio::time::Instant)>
where
    F: Future<Output = store_core::Result<T>>,
{
    let mut attempt = std::pin::pin!(attempt);
    let (outcome, started) = match futures::poll!(attempt.as_mut()) {
        std::task::Poll::Ready(outcome) => (outcome, None),
        std::task::Poll::Pending => {
            let started = tokio::time::Instant::now();
            (attempt.await, Some(started))
        }
    };
    outcome.map_err(|error| (error, started.unwrap_or_else(tokio::time::Instant::now)))
}

impl Layer for RetryLayer {
    fn may_repeat(&self, meta: &OpMeta<'_>) -> bool {
        self.repeatable(meta)
    }

    fn around<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        self.run(meta, call).boxed()
    }
}

/// How many retries a layer may add: each first attempt earns `ratio` of a retry (up to a
/// reserve of `reserve` retries), each retry spends one. With a ratio of 0.2, a backend that
/// fails every call sees at most 20% extra calls once the reserve is spent, instead of a
/// retry storm.
#[derive(Debug, Clone)]
pub struct RetryBudget {
    reserve: Reserve,
}

impl RetryBudget {
    /// A budget earning `ratio` retries per call, holding at most `reserve` (full at start).
    pub fn new(ratio: f64, reserve: u32) -> Self {
        Self {
            reserve: Reserve::new(ratio, reserve.max(1)),
        }
    }

    /// Retries available now.
    pub fn available(&self) -> u32 {
        self.reserve.available()
    }
}
