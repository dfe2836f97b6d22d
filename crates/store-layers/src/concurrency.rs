//! [`ConcurrencyLayer`]: at most N calls in flight, shareable across stores.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::layer::{Call, Layer};
use crate::meta::OpMeta;
use crate::permits::{Permit, Permits};

/// Lets at most `limit` calls run at once; others wait their turn in the order they came. Clones share the
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
    permits: Arc<Permits>,
}

impl ConcurrencyLayer {
    /// At most `limit` calls at once (at least 1).
    pub fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Permits::new(limit.max(1))),
        }
    }

    /// Calls that could start now.
    pub fn available(&self) -> usize {
        self.permits.available()
    }
}

impl ConcurrencyLayer {
    /// A permit at once, if one is free and nobody is waiting for one.
    #[inline]
    pub(crate) fn try_permit(&self) -> Option<Permit<'_>> {
        self.permits.try_acquire()
    }

    /// Waits for a turn: the call may run while the permit is held.
    pub(crate) async fn permit(&self) -> Permit<'_> {
        if let Some(permit) = self.permits.try_acquire() {
            return permit;
        }
        // Waiting is the slow path, boxed so that every call's future stays small.
        Box::pin(self.permits.acquire()).await
    }
}

impl Layer for ConcurrencyLayer {
    /// Runs each call at most once.
    fn may_repeat(&self, _meta: &OpMeta<'_>) -> bool {
        false
    }

    fn around<'a, T: Send + 'a>(
        &'a self,
        _meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        async move {
            let _permit = self.permit().await;
            call().await
        }
        .boxed()
    }
}
