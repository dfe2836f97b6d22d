//! [`TimeoutLayer`]: a time limit on each run of a call, and on the wait between the items
//! of a stream.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use store_core::StoreError;

use crate::idle::IdleTimeout;
use crate::layer::{Call, Layer};
use crate::meta::OpMeta;

/// Fails a run of a call that takes longer than its limit with a retryable `Unavailable`
/// naming the operation and the limit; the run is cancelled (dropped). Inside a
/// [`RetryLayer`](crate::RetryLayer), each attempt has its own limit.
///
/// `download_file`, `upload_file` and `put_stream` move a whole object within one call, so
/// the limit covers the whole transfer: give them a limit of their own with
/// [`operation`](Self::operation) when the common one is meant for point calls.
///
/// With [`idle`](Self::idle), streams (object bodies, document query and scan items, SQL
/// rows) fail the same way when no item arrives within the idle limit of being asked for,
/// and the stalled stream is dropped; time the consumer spends between items does not count.
///
/// ```
/// use std::time::Duration;
/// use store_layers::TimeoutLayer;
/// let timeout = TimeoutLayer::new(Duration::from_secs(2))
///     .operation("scan", Duration::from_secs(30))
///     .operation("download_file", Duration::from_secs(600))
///     .idle(Duration::from_secs(10));
/// # let _ = timeout;
/// ```
#[derive(Debug, Clone)]
pub struct TimeoutLayer {
    limit: Duration,
    overrides: HashMap<&'static str, Duration>,
    idle: Option<Duration>,
}

impl TimeoutLayer {
    /// Every call gets `limit`.
    pub fn new(limit: Duration) -> Self {
        Self {
            limit,
            overrides: HashMap::new(),
            idle: None,
        }
    }

    /// Streams fail when no item arrives within `idle` of being asked for (off by default).
    pub fn idle(mut self, idle: Duration) -> Self {
        self.idle = Some(idle);
        self
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

impl TimeoutLayer {
    /// Runs `run` within the limit of `meta`'s operation.
    pub(crate) async fn run<T, F: Future<Output = store_core::Result<T>>>(
        &self,
        meta: &OpMeta<'_>,
        run: impl FnOnce() -> F,
    ) -> store_core::Result<T> {
        let limit = self.limit_of(meta.operation);
        // A call that is ready at once needs no timer: the clock is only read, and the
        // timer only armed, when the first poll finds the call waiting (the limit counts
        // from there).
        let mut run = std::pin::pin!(run());
        if let std::task::Poll::Ready(outcome) = futures::poll!(run.as_mut()) {
            return outcome;
        }
        // The timer is boxed: only calls that wait carry it, and the future of every call
        // stays small.
        Box::pin(tokio::time::timeout(limit, run))
            .await
            .unwrap_or_else(|_| Err(expired(meta, limit)))
    }
}

/// The error of a run of `meta`'s call that did not finish within `limit`: retryable.
pub(crate) fn expired(meta: &OpMeta<'_>, limit: Duration) -> StoreError {
    StoreError::unavailable(format!("`{meta}` did not finish within {limit:?}"))
        .with_backend(meta.backend)
}

impl Layer for TimeoutLayer {
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

    fn stream<'s, T: Send + 's>(
        &self,
        meta: &OpMeta<'_>,
        stream: BoxStream<'s, store_core::Result<T>>,
    ) -> BoxStream<'s, store_core::Result<T>> {
        match self.idle {
            Some(idle) => Box::pin(IdleTimeout::new(stream, idle, meta)),
            None => stream,
        }
    }
}
