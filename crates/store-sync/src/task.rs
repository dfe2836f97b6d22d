//! Work run as a task of its own, tied to the future that waits for it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use store_core::{Result, StoreError};
use tokio::task::JoinHandle;

/// A spawned task that is cancelled when its handle is dropped: work handed to the
/// runtime's workers that stops with the call that waits for it, as work done in place would.
pub(crate) struct AbortOnDrop<T>(JoinHandle<T>);

impl<T: Send + 'static> AbortOnDrop<T> {
    /// Spawns `work` on the runtime.
    pub(crate) fn spawn(work: impl Future<Output = T> + Send + 'static) -> Self {
        Self(tokio::spawn(work))
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = std::result::Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The result of a spawned `what` that ended: its own, or an internal error if it panicked.
pub(crate) fn joined<T>(
    what: &str,
    ended: std::result::Result<Result<T>, tokio::task::JoinError>,
) -> Result<T> {
    ended.unwrap_or_else(|e| Err(StoreError::internal(format!("{what} failed: {e}"))))
}
