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
use crate::layer::Call;
use crate::meta::OpMeta;
use crate::permits::Permit;
use crate::timeout::expired;

/// One call through a [`Layers`] stack.
pub(super) struct Quick<'a, T> {
    layers: &'a Layers,
    meta: &'a OpMeta<'a>,
    call: Call<'a, T>,
    state: State<'a, T>,
}

enum State<'a, T> {
    /// Not polled yet, holding the read on the fallback's store, if any.
    Start(Option<Call<'a, T>>),
    /// The first attempt, on the fast path.
    Running(Running<'a, T>),
    /// The engine's path.
    Engine(BoxFuture<'a, Result<T>>),
    Done,
}

struct Running<'a, T> {
    call: BoxFuture<'a, Result<T>>,
    _permit: Option<Permit<'a>>,
    /// Whether the retry layer may repeat the call.
    repeatable: bool,
    /// When the attempt first waited: the timeout and the retry's elapsed budget count from
    /// there (an attempt that finishes on its first poll took no time).
    started: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<'a, T: Send + 'a> Quick<'a, T> {
    pub(super) fn new(
        layers: &'a Layers,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
        secondary: Option<Call<'a, T>>,
    ) -> Self {
        Self {
            layers,
            meta,
            call,
            state: State::Start(secondary),
        }
    }

    /// The fast path's first attempt, or the engine's path when the call needs more.
    fn start(&self, secondary: Option<Call<'a, T>>) -> State<'a, T> {
        let (layers, meta) = (self.layers, self.meta);
        if !layers.plain(secondary.is_some()) {
            return State::Engine(Box::pin(layers.served(meta, self.call, secondary)));
        }
        let permit = match &layers.concurrency {
            Some(limit) => match limit.try_permit() {
                Some(permit) => Some(permit),
                None => return self.engine_tries(),
            },
            None => None,
        };
        if layers.faults.as_ref().is_some_and(|faults| faults.armed()) {
            drop(permit);
            return self.engine_tries();
        }
        State::Running(Running {
            repeatable: layers.retry.as_ref().is_some_and(|retry| retry.begin(meta)),
            call: (self.call)(),
            _permit: permit,
            started: None,
            timer: None,
        })
    }

    /// The attempts as the engine makes them, from the start.
    fn engine_tries(&self) -> State<'a, T> {
        let (layers, meta, call) = (self.layers, self.meta, self.call);
        State::Engine(Box::pin(async move { layers.tries(meta, &call).await }))
    }

    /// The retries after the fast path's attempt failed with `error`.
    fn engine_retries(&self, error: StoreError, started: Option<Instant>) -> State<'a, T> {
        let (layers, meta, call) = (self.layers, self.meta, self.call);
        let started = started.unwrap_or_else(Instant::now);
        State::Engine(Box::pin(async move {
            let retry = layers.retry.as_ref().expect("only a retry layer repeats");
            let attempt = || layers.attempt(meta, &call);
            retry.retry(meta, &attempt, started, error).await
        }))
    }
}

impl<T> Running<'_, T> {
    /// The attempt waits: its clock starts (when something counts time) and its timer runs.
    /// Returns the timeout's error once the limit has passed.
    fn waiting(
        &mut self,
        layers: &Layers,
        meta: &OpMeta<'_>,
        cx: &mut Context<'_>,
    ) -> Option<StoreError> {
        if self.started.is_none() && (self.repeatable || layers.timeout.is_some()) {
            self.started = Some(Instant::now());
        }
        let timeout = layers.timeout.as_ref()?;
        let limit = timeout.limit_of(meta.operation);
        let started = self.started?;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(started + limit)));
        timer
            .as_mut()
            .poll(cx)
            .is_ready()
            .then(|| expired(meta, limit))
    }
}

impl<'a, T: Send + 'a> Future for Quick<'a, T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Start(secondary) => {
                    let secondary = secondary.take();
                    this.state = this.start(secondary);
                }
                State::Running(running) => {
                    let error = match running.call.as_mut().poll(cx) {
                        Poll::Ready(Ok(value)) => {
                            this.state = State::Done;
                            return Poll::Ready(Ok(value));
                        }
                        Poll::Ready(Err(error)) => error,
                        Poll::Pending => match running.waiting(this.layers, this.meta, cx) {
                            Some(expired) => expired,
                            None => return Poll::Pending,
                        },
                    };
                    let (repeatable, started) = (running.repeatable, running.started);
                    // The attempt is over: its future, timer and permit go.
                    this.state = State::Done;
                    if !repeatable {
                        return Poll::Ready(Err(error));
                    }
                    this.state = this.engine_retries(error, started);
                }
                State::Engine(engine) => {
                    let outcome = std::task::ready!(engine.as_mut().poll(cx));
                    this.state = State::Done;
                    return Poll::Ready(outcome);
                }
                State::Done => panic!("a layered call was polled after it finished"),
            }
        }
    }
}
