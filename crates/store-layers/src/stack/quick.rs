//! The fast path of [`Layers`]: a call that needs none of the outer layers (no metrics, no
//! span anybody records, no fallback, breaker, hedge or rate limit) and finds a permit free
//! and no fault armed runs as this one small future (the permit, the store's future, a timer
//! armed only if the call waits, and the clock read only then). Everything else (a wait for
//! a permit, injected faults, a retry after a failure, the outer layers) is the engine's
//! path, boxed, with the same semantics: this is an optimisation, not another behaviour.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use store_core::{Result, StoreError};
use tokio::time::{Instant, Sleep};

use super::Layers;
use crate::layer::{Call, as_call};
use crate::meta::OpMeta;
use crate::permits::Permit;
use crate::timeout::expired;

/// One call through a [`Layers`] stack. It owns its description and its call (`C`: a
/// [`Call`], or the closure of a store's method when the future is the method's own), so a
/// layered method can return it as its whole future; the engine's path takes them over.
///
/// Its fields are written in place as the call moves on (no state is moved in and out of an
/// enum), so a call that answers on its first poll costs a few stores and loads.
pub(super) struct Quick<'a, T, C> {
    layers: &'a Layers,
    meta: OpMeta<'a>,
    /// `None` once the engine's path has taken it.
    call: Option<C>,
    /// The read on the fallback's store, if any: only the engine's path uses it.
    secondary: Option<Call<'a, T>>,
    phase: Phase,
    /// The fast path's attempt ([`Phase::Running`]) or the engine's future
    /// ([`Phase::Engine`]).
    running: Option<BoxFuture<'a, Result<T>>>,
    permit: Option<Permit<'a>>,
    /// Whether the retry layer may repeat the call.
    repeatable: bool,
    /// When the attempt first waited: the timeout and the retry's elapsed budget count from
    /// there (an attempt that finishes on its first poll took no time).
    started: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

/// Where a [`Quick`] call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not polled yet.
    Start,
    /// The first attempt, on the fast path.
    Running,
    /// The engine's path.
    Engine,
    /// Answered.
    Done,
}

impl<'a, T, C> Quick<'a, T, C>
where
    T: Send + 'a,
    C: Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a,
{
    pub(super) fn new(
        layers: &'a Layers,
        meta: OpMeta<'a>,
        call: C,
        secondary: Option<Call<'a, T>>,
    ) -> Self {
        Self {
            layers,
            meta,
            call: Some(call),
            secondary,
            phase: Phase::Start,
            running: None,
            permit: None,
            repeatable: false,
            started: None,
            timer: None,
        }
    }

    /// Starts the fast path's first attempt, or the engine's path when the call needs more.
    fn start(&mut self) {
        let layers = self.layers;
        if !layers.plain(self.secondary.is_some()) {
            return self.engine_served();
        }
        if let Some(limit) = &layers.concurrency {
            match limit.try_permit() {
                Some(permit) => self.permit = Some(permit),
                None => return self.engine_tries(),
            }
        }
        if layers.faults.as_ref().is_some_and(|faults| faults.armed()) {
            self.permit = None;
            return self.engine_tries();
        }
        self.repeatable = layers
            .retry
            .as_ref()
            .is_some_and(|retry| retry.begin(&self.meta));
        let call = self
            .call
            .as_ref()
            .expect("the call is taken only by the engine");
        self.running = Some(call());
        self.phase = Phase::Running;
    }

    /// The attempt is over: its future, timer and permit go.
    fn finish(&mut self) {
        self.phase = Phase::Done;
        self.running = None;
        self.timer = None;
        self.permit = None;
    }

    fn take_call(&mut self) -> C {
        self.call
            .take()
            .expect("the call is taken once, by the engine")
    }

    /// The whole call as the engine runs it: the outer layers, the fallback, the attempts.
    #[cold]
    #[inline(never)]
    fn engine_served(&mut self) {
        let (layers, meta, call) = (self.layers, self.meta, self.take_call());
        let secondary = self.secondary.take();
        self.engine(Box::pin(async move {
            let call = || call();
            let secondary = secondary.map(|s| move || s());
            layers
                .served(&meta, as_call(&call), secondary.as_ref().map(as_call))
                .await
        }));
    }

    /// The attempts as the engine makes them, from the start.
    #[cold]
    #[inline(never)]
    fn engine_tries(&mut self) {
        let (layers, meta, call) = (self.layers, self.meta, self.take_call());
        self.engine(Box::pin(async move {
            let call = || call();
            layers.tries(&meta, &as_call(&call)).await
        }));
    }

    /// The retries after the fast path's attempt failed with `error`.
    #[cold]
    #[inline(never)]
    fn engine_retries(&mut self, error: StoreError, started: Option<Instant>) {
        let (layers, meta, call) = (self.layers, self.meta, self.take_call());
        let started = started.unwrap_or_else(Instant::now);
        self.engine(Box::pin(async move {
            let retry = layers.retry.as_ref().expect("only a retry layer repeats");
            let call = || call();
            let call = as_call(&call);
            let attempt = || layers.attempt(&meta, &call);
            retry.retry(&meta, &attempt, started, error).await
        }));
    }

    fn engine(&mut self, future: BoxFuture<'a, Result<T>>) {
        self.running = Some(future);
        self.phase = Phase::Engine;
    }

    /// The attempt waits: its clock starts (when something counts time) and its timer runs.
    /// Returns the timeout's error once the limit has passed.
    fn waiting(&mut self, cx: &mut Context<'_>) -> Option<StoreError> {
        let layers = self.layers;
        if self.started.is_none() && (self.repeatable || layers.timeout.is_some()) {
            self.started = Some(Instant::now());
        }
        let timeout = layers.timeout.as_ref()?;
        let limit = timeout.limit_of(self.meta.operation);
        let started = self.started?;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(started + limit)));
        timer
            .as_mut()
            .poll(cx)
            .is_ready()
            .then(|| expired(&self.meta, limit))
    }
}

// No field is pinned structurally: the store's future and the timer are boxed, and the call
// is only ever called through a shared reference.
impl<T, C> Unpin for Quick<'_, T, C> {}

impl<'a, T, C> Future for Quick<'a, T, C>
where
    T: Send + 'a,
    C: Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a,
{
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.get_mut();
        loop {
            let running = match this.phase {
                Phase::Start => {
                    this.start();
                    continue;
                }
                Phase::Done => panic!("a layered call was polled after it finished"),
                Phase::Running | Phase::Engine => this
                    .running
                    .as_mut()
                    .expect("a running call has its future"),
            };
            let outcome = match running.as_mut().poll(cx) {
                Poll::Ready(outcome) => outcome,
                Poll::Pending if this.phase == Phase::Engine => return Poll::Pending,
                Poll::Pending => match this.waiting(cx) {
                    Some(expired) => Err(expired),
                    None => return Poll::Pending,
                },
            };
            let (phase, repeatable, started) = (this.phase, this.repeatable, this.started);
            this.finish();
            match outcome {
                Err(error) if phase == Phase::Running && repeatable => {
                    this.engine_retries(error, started)
                }
                outcome => return Poll::Ready(outcome),
            }
        }
    }
}
