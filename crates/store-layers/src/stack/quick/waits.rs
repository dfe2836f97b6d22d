//! What waits for a [`Quick`](super::Quick) call's attempt once it did not answer on its
//! first poll: its timeout, the hedge's delay, and the hedge's second try.
//!
//! The semantics are the engine's (`HedgeLayer::run` around `TimeoutLayer::run`): the
//! timeout bounds each try; a try that fails or runs out of time before the hedge's delay
//! ends the call's attempt; after the delay a second try goes if the hedge's reserve allows;
//! the first success wins and the other try is dropped; a try that fails while the other
//! runs leaves the answer to the other.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use pin_project_lite::pin_project;
use store_core::Result;
use tokio::time::{Instant, Sleep};

use super::{Held, Shared, State};
use crate::layer::as_call;
use crate::timeout::expired;

pin_project! {
    /// The timers and the second try of a waiting attempt.
    pub(in crate::stack) struct Waits<'a, T> {
        // Fires at the next deadline: the timeout's or the hedge's, whichever comes first.
        #[pin]
        timer: Sleep,
        // When the attempt runs out of time, while a timeout is set and has not fired.
        expires: Option<Instant>,
        // When a second try goes, while none was considered yet.
        hedge_at: Option<Instant>,
        // The hedge's try, while it runs.
        second: Option<BoxFuture<'a, Result<T>>>,
        // The call, shared with the hedge's try once it went.
        shared: Option<Shared<'a, T>>,
    }
}

/// What a waiting attempt's timers and hedge say when polled.
enum Waited<T> {
    /// Nothing yet.
    Pending,
    /// The hedge's try succeeded: the call's answer.
    Answered(Result<T>),
    /// The hedge's delay has passed: a second try may go.
    Hedge,
    /// The attempt ran out of time.
    Expired,
}

impl<'a, T> Waits<'a, T> {
    /// Polls the timer, armed for the next deadline, then the hedge's try: at a tie the
    /// attempt's own timeout comes first, as in the engine, where the timed attempt is
    /// polled before the other try.
    fn poll_due(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Waited<T> {
        let mut this = self.project();
        if let Some(next) = earliest(*this.expires, *this.hedge_at) {
            if this.timer.deadline() != next {
                this.timer.as_mut().reset(next);
            }
            if this.timer.as_mut().poll(cx).is_ready() {
                // The timeout wins a tie with the hedge's delay: in the engine the attempt's
                // own timeout answers before the delay is looked at.
                if this.expires.is_some_and(|at| at <= next) {
                    *this.expires = None;
                    return Waited::Expired;
                }
                *this.hedge_at = None;
                return Waited::Hedge;
            }
        }
        let second = match this.second.as_mut() {
            Some(second) => second.as_mut().poll(cx),
            None => Poll::Pending,
        };
        match second {
            Poll::Ready(Ok(value)) => {
                *this.second = None;
                Waited::Answered(Ok(value))
            }
            // The attempt's own outcome will be the call's.
            Poll::Ready(Err(_)) => {
                *this.second = None;
                Waited::Pending
            }
            Poll::Pending => Waited::Pending,
        }
    }
}

/// The earlier of two deadlines, if any.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl<'a, T, C, F, S> State<'a, T, C, F, S>
where
    T: Send + 'a,
    C: Fn() -> F + Send + Sync + 'a,
    F: Future<Output = Result<T>> + Send + 'a,
    S: Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a,
{
    /// The attempt waits: its clock starts (when something counts time), its timeout and
    /// hedge are armed, and the hedge's try runs once it went. Ready with the hedge's
    /// success, or with the timeout's error once the attempt ran out of time.
    pub(super) fn waiting(&mut self, cx: &mut Context<'_>) -> Poll<Result<T>> {
        if matches!(self.held, Held::Nothing) && !self.arm() {
            return Poll::Pending;
        }
        loop {
            let Held::Waiting(waits) = &mut self.held else {
                return Poll::Pending;
            };
            match waits.as_mut().poll_due(cx) {
                Waited::Pending => return Poll::Pending,
                Waited::Answered(outcome) => return Poll::Ready(outcome),
                Waited::Expired => {
                    let limit = self
                        .layers
                        .timeout
                        .as_ref()
                        .map(|timeout| timeout.limit_of(self.meta.operation))
                        .unwrap_or_default();
                    return Poll::Ready(Err(expired(&self.meta, limit)));
                }
                Waited::Hedge => self.fire_hedge(),
            }
        }
    }

    /// Starts the attempt's clock and arms what times it; `false` when nothing does.
    fn arm(&mut self) -> bool {
        let layers = self.layers;
        if self.started.is_none() && (self.repeatable || self.hedging || layers.timeout.is_some()) {
            self.started = Some(Instant::now());
        }
        let Some(started) = self.started else {
            return false;
        };
        let expires = layers
            .timeout
            .as_ref()
            .map(|timeout| started + timeout.limit_of(self.meta.operation));
        let hedge_at = match &layers.hedge {
            Some(hedge) if self.hedging => Some(started + hedge.delay()),
            _ => None,
        };
        let Some(next) = earliest(expires, hedge_at) else {
            return false;
        };
        self.held = Held::Waiting(Box::pin(Waits {
            timer: tokio::time::sleep_until(next),
            expires,
            hedge_at,
            second: None,
            shared: None,
        }));
        true
    }

    /// The hedge's delay passed: a second try goes if the hedge's reserve allows.
    #[cold]
    fn fire_hedge(&mut self) {
        let hedge = self
            .layers
            .hedge
            .as_ref()
            .expect("only a hedge sets a delay");
        if !hedge.fire(&self.meta) {
            return;
        }
        let shared = match &self.held {
            Held::Waiting(waits) => waits.shared.clone(),
            _ => None,
        };
        let call = self.shared_call(shared);
        let (layers, meta, for_try) = (self.layers, self.meta, call.clone());
        let second: BoxFuture<'a, Result<T>> = Box::pin(async move {
            let call = || for_try();
            layers.attempt(&meta, &as_call(&call)).await
        });
        if let Held::Waiting(waits) = &mut self.held {
            let waits = waits.as_mut().project();
            *waits.second = Some(second);
            *waits.shared = Some(call);
        }
    }

    /// Whether the hedge's second try is running.
    pub(super) fn hedge_running(&self) -> bool {
        matches!(&self.held, Held::Waiting(waits) if waits.second.is_some())
    }

    /// Takes the hedge's try and the shared call out of what waits, before the attempt's
    /// end drops it.
    pub(super) fn take_hedge(
        &mut self,
    ) -> (Option<BoxFuture<'a, Result<T>>>, Option<Shared<'a, T>>) {
        match &mut self.held {
            Held::Waiting(waits) => {
                let waits = waits.as_mut().project();
                (waits.second.take(), waits.shared.take())
            }
            _ => (None, None),
        }
    }
}
