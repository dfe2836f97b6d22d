//! [`IdleTimeout`]: a stream that fails when its next item is too long in coming.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::stream::{BoxStream, Stream, StreamExt};
use store_core::{Result, StoreError};
use tokio::time::Sleep;

use crate::meta::OpMeta;

/// Wraps a stream: when an item has been waited for `idle` (counted from the poll that found
/// none ready), yields a retryable `Unavailable` and drops the stream underneath.
pub(crate) struct IdleTimeout<'s, T> {
    inner: Option<BoxStream<'s, Result<T>>>,
    idle: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    what: String,
    backend: &'static str,
}

impl<'s, T> IdleTimeout<'s, T> {
    pub(crate) fn new(inner: BoxStream<'s, Result<T>>, idle: Duration, meta: &OpMeta<'_>) -> Self {
        Self {
            inner: Some(inner),
            idle,
            timer: None,
            what: meta.to_string(),
            backend: meta.backend,
        }
    }
}

impl<T> Stream for IdleTimeout<'_, T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        if let Poll::Ready(item) = inner.poll_next_unpin(cx) {
            this.timer = None;
            if item.is_none() {
                this.inner = None;
            }
            return Poll::Ready(item);
        }
        let idle = this.idle;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        // Stalled: cancel the stream underneath and say so once.
        this.inner = None;
        this.timer = None;
        Poll::Ready(Some(Err(StoreError::unavailable(format!(
            "`{}` sent no item within {idle:?}",
            this.what
        ))
        .with_backend(this.backend))))
    }
}
