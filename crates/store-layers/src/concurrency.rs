//! [`ConcurrencyLayer`]: at most N calls in flight, shareable across stores.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use store_core::StoreError;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::layer::{Call, Layer};
use crate::meta::OpMeta;

/// Lets at most `limit` calls run at once; others wait their turn in order. Clones share the
/// limit, so one layer can bound several stores that talk to one server.
///
/// ```
/// use store_layers::ConcurrencyLayer;
/// let limit = ConcurrencyLayer::new(8);
/// let shared = limit.clone(); // the same 8 permits
/// assert_eq!(shared.available(), 8);
/// ```
#[derive(Debug, Clone)]
pub struct ConcurrencyLayer {
    permits: Arc<Semaphore>,
}

impl ConcurrencyLayer {
    /// At most `limit` calls at once (at least 1).
    pub fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit.max(1))),
        }
    }

    /// Calls that could start now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

impl ConcurrencyLayer {
    /// Waits for a turn: the call may run while the permit is held.
    pub(crate) async fn permit(&self) -> store_core::Result<SemaphorePermit<'_>> {
        if let Ok(permit) = self.permits.try_acquire() {
            return Ok(permit);
        }
        // Waiting is the slow path, boxed so that every call's future stays small.
        Box::pin(self.permits.acquire())
            .await
            .map_err(|_| StoreError::internal("the concurrency limit was closed"))
    }
}

impl Layer for ConcurrencyLayer {
    fn around<'a, T: Send + 'a>(
        &'a self,
        _meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        async move {
            let _permit = self.permit().await?;
            call().await
        }
        .boxed()
    }
}
