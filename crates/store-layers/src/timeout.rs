//! [`TimeoutLayer`]: a time limit on each run of a call.

use std::collections::HashMap;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use store_core::StoreError;

use crate::layer::{Call, Layer};
use crate::meta::OpMeta;

/// Fails a run of a call that takes longer than its limit with a retryable `Unavailable`
/// naming the operation and the limit; the run is cancelled (dropped). Inside a
/// [`RetryLayer`](crate::RetryLayer), each attempt has its own limit.
///
/// ```
/// use std::time::Duration;
/// use store_layers::TimeoutLayer;
/// let timeout = TimeoutLayer::new(Duration::from_secs(2)).operation("scan", Duration::from_secs(30));
/// # let _ = timeout;
/// ```
#[derive(Debug, Clone)]
pub struct TimeoutLayer {
    limit: Duration,
    overrides: HashMap<&'static str, Duration>,
}

impl TimeoutLayer {
    /// Every call gets `limit`.
    pub fn new(limit: Duration) -> Self {
        Self {
            limit,
            overrides: HashMap::new(),
        }
    }

    /// `operation` gets its own limit.
    pub fn operation(mut self, operation: &'static str, limit: Duration) -> Self {
        self.overrides.insert(operation, limit);
        self
    }

    /// The limit of `operation`.
    pub fn limit_of(&self, operation: &str) -> Duration {
        self.overrides.get(operation).copied().unwrap_or(self.limit)
    }
}

impl Layer for TimeoutLayer {
    fn around<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        let limit = self.limit_of(meta.operation);
        async move {
            let timed_out = || {
                StoreError::unavailable(format!("`{meta}` did not finish within {limit:?}"))
                    .with_backend(meta.backend)
            };
            // A call that is ready at once needs no timer: the clock is only read, and the
            // timer only armed, when the first poll finds the call waiting.
            let started = tokio::time::Instant::now();
            let mut run = std::pin::pin!(call());
            if let std::task::Poll::Ready(outcome) = futures::poll!(run.as_mut()) {
                return outcome;
            }
            tokio::time::timeout_at(started + limit, run)
                .await
                .unwrap_or_else(|_| Err(timed_out()))
        }
        .boxed()
    }
}
