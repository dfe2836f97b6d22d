//! The cold paths of a [`Quick`](super::Quick) call: what happens when its attempt did not
//! answer at once, and the engine's paths it hands the call to.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use store_core::{Result, StoreError};
use tokio::time::Instant;

use super::{Held, Phase, Shared, State};
use crate::layer::as_call;
use crate::served::Source;
use crate::stack::Layers;

impl<'a, T, C, F, S> State<'a, T, C, F, S>
where
    T: Send + 'a,
    C: Fn() -> F + Send + Sync + 'a,
    F: Future<Output = Result<T>> + Send + 'a,
    S: Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a,
{
    /// The fast path's attempt is still waiting (its timeout and hedge run, and may end it)
    /// or failed in a way a retry or a hedge's second try may mend.
    #[cold]
    #[inline(never)]
    pub(super) fn attempt_went_on(
        &mut self,
        mut attempt: Pin<&mut Option<F>>,
        cx: &mut Context<'_>,
        polled: Poll<Result<T>>,
    ) -> Poll<Result<T>> {
        let outcome = match polled {
            Poll::Ready(outcome) => outcome,
            Poll::Pending => match self.waiting(cx) {
                // The hedge's try answered, or the attempt ran out of time.
                Poll::Ready(outcome) => outcome,
                Poll::Pending => return Poll::Pending,
            },
        };
        let (repeatable, started) = (self.repeatable, self.started);
        let (second, shared) = self.take_hedge();
        attempt.set(None);
        self.finish();
        match (outcome, second) {
            // The attempt failed while the hedge's try runs: the call's answer is that try's.
            (Err(_), Some(second)) => {
                let call = self.shared_call(shared);
                self.engine_awaits_hedge(second, call, started);
                self.poll_engine(cx)
            }
            (Err(error), None) if repeatable => {
                let call = self.shared_call(shared);
                self.engine_retries(error, call, started);
                self.poll_engine(cx)
            }
            (outcome, _) => self.settle(outcome, cx),
        }
    }

    /// The primary's final outcome, after its retries: counted with the breaker if it let
    /// the call through, and settled by the fallback for a read it may answer (a failure
    /// it takes goes to the secondary).
    pub(super) fn settle(&mut self, outcome: Result<T>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        if self.counted {
            self.counted = false;
            if let Some(breaker) = &self.layers.breaker {
                breaker.count(&outcome);
            }
        }
        if self.falls_back {
            self.falls_back = false;
            let fallback = self
                .layers
                .fallback
                .as_ref()
                .expect("only a fallback falls back");
            if outcome.is_ok() {
                // The common end, kept apart so the answer is not moved through the
                // fallback's verdict.
                fallback.served_by(Source::Primary);
                return Poll::Ready(outcome);
            }
            return match fallback.primary_answered(outcome) {
                Ok(answer) => Poll::Ready(answer),
                Err(error) => {
                    self.engine_fallback(error);
                    self.poll_engine(cx)
                }
            };
        }
        Poll::Ready(outcome)
    }

    /// Polls the engine's future ([`Phase::Engine`]).
    pub(super) fn poll_engine(&mut self, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let Held::Engine(engine) = &mut self.held else {
            panic!("a layered call was polled after it finished")
        };
        let Poll::Ready(outcome) = engine.as_mut().poll(cx) else {
            return Poll::Pending;
        };
        self.finish();
        self.settle(outcome, cx)
    }

    /// The call as the engine runs it: each run's future boxed.
    fn take_call(&mut self) -> impl Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a {
        let call = self
            .call
            .take()
            .expect("the call is taken once, by the engine");
        let boxed = self.boxed;
        move || boxed(call())
    }

    /// The call as the engine's paths and a hedge's try share it: `shared` when a hedge
    /// shared it already, else taken now.
    pub(super) fn shared_call(&mut self, shared: Option<Shared<'a, T>>) -> Shared<'a, T> {
        match shared {
            Some(shared) => shared,
            None => Arc::new(self.take_call()),
        }
    }

    /// The whole call as the engine runs it: the outer layers, the fallback, the attempts.
    #[cold]
    #[inline(never)]
    pub(super) fn engine_served(&mut self) {
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
    pub(super) fn engine_tries(&mut self) {
        let (layers, meta, call) = (self.layers, self.meta, self.take_call());
        self.engine(Box::pin(async move {
            let call = || call();
            layers.tries(&meta, &as_call(&call)).await
        }));
    }

    /// The retries after the fast path's attempt failed with `error`.
    fn engine_retries(&mut self, error: StoreError, call: Shared<'a, T>, started: Option<Instant>) {
        let (layers, meta) = (self.layers, self.meta);
        let started = started.unwrap_or_else(Instant::now);
        self.engine(Box::pin(retried(layers, meta, call, started, error)));
    }

    /// The hedge's try after the fast path's attempt failed: its outcome is the attempt's,
    /// retried when it fails and the call may be repeated.
    fn engine_awaits_hedge(
        &mut self,
        second: BoxFuture<'a, Result<T>>,
        call: Shared<'a, T>,
        started: Option<Instant>,
    ) {
        let (layers, meta, repeatable) = (self.layers, self.meta, self.repeatable);
        let started = started.unwrap_or_else(Instant::now);
        self.engine(Box::pin(async move {
            match second.await {
                Err(error) if repeatable => retried(layers, meta, call, started, error).await,
                outcome => outcome,
            }
        }));
    }

    /// The fallback's read on the secondary after the primary failed with `error`.
    #[cold]
    #[inline(never)]
    fn engine_fallback(&mut self, error: StoreError) {
        let (layers, meta) = (self.layers, self.meta);
        let secondary = self
            .secondary
            .take()
            .expect("a call that falls back has a secondary");
        self.engine(Box::pin(async move {
            let fallback = layers
                .fallback
                .as_ref()
                .expect("only a fallback falls back");
            fallback.after_primary_failed(&meta, error, secondary).await
        }));
    }

    fn engine(&mut self, future: BoxFuture<'a, Result<T>>) {
        self.held = Held::Engine(future);
        self.phase = Phase::Engine;
    }
}

/// The retries of a call whose attempts began at `started` and whose last one failed with
/// `error`: each one hedged, as the engine's own attempts are.
async fn retried<'a, T: Send + 'a>(
    layers: &'a Layers,
    meta: crate::meta::OpMeta<'a>,
    call: Shared<'a, T>,
    started: Instant,
    error: StoreError,
) -> Result<T> {
    let retry = layers.retry.as_ref().expect("only a retry layer repeats");
    let call = || call();
    let call = as_call(&call);
    let attempt = || layers.hedged(&meta, &call);
    retry.retry(&meta, &attempt, started, error).await
}
