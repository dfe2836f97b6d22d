//! The fast path of [`Layers`]: a call that needs none of the outer observers (no metrics,
//! no span anybody records), finds the breaker closed, a permit and a rate-limit slot free and
//! no fault armed runs as this one small future: the permit, the store's future held in
//! place, and what waits (the timeout, the hedge's delay and its second try) made only if the
//! call waits. Past the rate limit (which reads it on every call) the clock is read only then.
//! Everything else is the engine's path, boxed, with the same semantics: an open breaker, a
//! wait for a permit or a slot, injected faults, a retry after a failure, a hedge's try that
//! outlives the first, the fallback's read on the secondary, the outer observers. This is an
//! optimisation, not another behaviour.
//!
//! A call answered on its first poll (the in-memory stores' reads) goes straight through
//! [`Quick::poll`]: one test of the phase, the attempt polled, its answer handed back as
//! polled. Waiting (`waits`) and the engine's paths (`engine`) are cold code of their own.

mod engine;
mod waits;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use pin_project_lite::pin_project;
use store_core::Result;
use tokio::time::Instant;

use super::Layers;
use crate::hedge::hedgeable;
use crate::meta::{Access, OpMeta};
use crate::permits::Permit;

pin_project! {
    /// One call through a [`Layers`] stack. It owns its description and its call (`C`: a
    /// [`Call`](crate::layer::Call), or the closure of a store's method when the future is the method's own), so a
    /// layered method can return it as its whole future; the engine's path takes them over.
    ///
    /// The fast path's attempt (`F`, the call's own future) is held in place, not boxed: a
    /// store that hands out its unboxed future makes this future the call's only allocation.
    pub(super) struct Quick<'a, T, C, F, S> {
        // The fast path's attempt, while it runs. First, so that a cancelled call drops it
        // before the permit it holds.
        #[pin]
        attempt: Option<F>,
        state: State<'a, T, C, F, S>,
    }
}

/// Everything of a [`Quick`] call but its attempt. Its fields are written in place as the
/// call moves on (no state is moved in and out of an enum), so a call that answers on its
/// first poll costs a few stores and loads.
struct State<'a, T, C, F, S> {
    layers: &'a Layers,
    meta: OpMeta<'a>,
    /// `None` once the engine's path has taken it.
    call: Option<C>,
    /// Boxes one of the call's futures for the engine (which runs boxed calls): the identity
    /// when they are boxed already.
    boxed: fn(F) -> BoxFuture<'a, Result<T>>,
    /// The same read on the fallback's store, if any.
    secondary: Option<S>,
    phase: Phase,
    /// What waits for the fast path's attempt, or the engine's future, if either.
    held: Held<'a, T>,
    permit: Option<Permit<'a>>,
    /// Whether the retry layer may repeat the call.
    repeatable: bool,
    /// Whether the breaker let the call through at once (closed): the call counts its
    /// outcome with the breaker when it ends, however many attempts it took.
    counted: bool,
    /// Whether the hedge layer may send a second try of the call once it is slow.
    hedging: bool,
    /// Whether the call is a read the fallback's secondary may answer: the primary's outcome
    /// is settled by the fallback when it ends.
    falls_back: bool,
    /// When the attempt first waited: the timeout and the retry's elapsed budget count from
    /// there (an attempt that finishes on its first poll took no time).
    started: Option<Instant>,
}

/// The call as the engine's paths and a hedge's second try share it: each run's future
/// boxed.
type Shared<'a, T> = Arc<dyn Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a>;

/// What a [`Quick`] call holds besides its attempt: never both what waits for the attempt
/// and the engine's future (the engine's path starts after the fast path's attempt ended),
/// so one field, and the drop of a call that had neither tests one tag.
enum Held<'a, T> {
    /// Neither.
    Nothing,
    /// The fast path's attempt waits: its timeout, the hedge's delay and second try.
    Waiting(Pin<Box<waits::Waits<'a, T>>>),
    /// The engine's future ([`Phase::Engine`]).
    Engine(BoxFuture<'a, Result<T>>),
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

/// The futures of a [`Call`](crate::layer::Call), boxed already.
pub(super) fn already_boxed<T>(future: BoxFuture<'_, Result<T>>) -> BoxFuture<'_, Result<T>> {
    future
}

impl<'a, T, C, F, S> Quick<'a, T, C, F, S>
where
    T: Send + 'a,
    C: Fn() -> F + Send + Sync + 'a,
    F: Future<Output = Result<T>> + Send + 'a,
    S: Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a,
{
    /// The call `call` described by `meta`, whose futures `boxed` boxes for the engine.
    pub(super) fn new(
        layers: &'a Layers,
        meta: OpMeta<'a>,
        call: C,
        boxed: fn(F) -> BoxFuture<'a, Result<T>>,
        secondary: Option<S>,
    ) -> Self {
        Self {
            attempt: None,
            state: State {
                layers,
                meta,
                call: Some(call),
                boxed,
                secondary,
                phase: Phase::Start,
                held: Held::Nothing,
                permit: None,
                repeatable: false,
                counted: false,
                hedging: false,
                falls_back: false,
                started: None,
            },
        }
    }
}

impl<'a, T, C, F, S> State<'a, T, C, F, S>
where
    T: Send + 'a,
    C: Fn() -> F + Send + Sync + 'a,
    F: Future<Output = Result<T>> + Send + 'a,
    S: Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a,
{
    /// Starts the fast path's first attempt (returned, to be held in place), or the engine's
    /// path when the call needs more.
    fn start(&mut self) -> Option<F> {
        let layers = self.layers;
        if !layers.plain() {
            self.engine_served();
            return None;
        }
        if let Some(breaker) = &layers.breaker {
            // Open or half-open: the engine's breaker refuses the call or sends a probe (and
            // the engine's fallback reads the secondary instead).
            if !breaker.closed() {
                self.engine_served();
                return None;
            }
            self.counted = true;
        }
        self.falls_back = layers.fallback.is_some()
            && self.secondary.is_some()
            && matches!(self.meta.access, Access::Read | Access::List);
        // A permit first: a call the rate limit admits has spent its slot, so nothing after
        // the admission may send it to the engine (whose attempt takes a slot again).
        if let Some(limit) = &layers.concurrency {
            match limit.try_permit() {
                Some(permit) => self.permit = Some(permit),
                None => {
                    self.engine_tries();
                    return None;
                }
            }
        }
        let faults = layers.faults.as_ref();
        let armed = faults.is_some_and(|faults| faults.armed());
        // No slot free now: the engine waits for one (or fails fast) within the timeout, and
        // holds no permit meanwhile.
        let no_slot = || {
            layers
                .rate
                .as_ref()
                .is_some_and(|rate| !rate.admits_now(&self.meta))
        };
        if armed || no_slot() {
            self.permit = None;
            self.engine_tries();
            return None;
        }
        if let Some(faults) = faults {
            faults.count_call();
        }
        self.repeatable = layers
            .retry
            .as_ref()
            .is_some_and(|retry| retry.begin(&self.meta));
        if let Some(hedge) = &layers.hedge
            && hedgeable(&self.meta)
        {
            hedge.earn();
            self.hedging = true;
        }
        let call = self
            .call
            .as_ref()
            .expect("the call is taken only by the engine");
        let attempt = call();
        self.phase = Phase::Running;
        Some(attempt)
    }

    /// The attempt is over: its timer and permit go (its future, gone already, goes first).
    #[inline]
    fn finish(&mut self) {
        self.phase = Phase::Done;
        // Tested first: most calls never had either, and its drop is not inlined.
        if !matches!(self.held, Held::Nothing) {
            self.held = Held::Nothing;
        }
        self.permit = None;
    }
}

impl<'a, T, C, F, S> Future for Quick<'a, T, C, F, S>
where
    T: Send + 'a,
    C: Fn() -> F + Send + Sync + 'a,
    F: Future<Output = Result<T>> + Send + 'a,
    S: Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a,
{
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let mut this = self.project();
        let state = &mut *this.state;
        if state.phase == Phase::Start
            && let Some(attempt) = state.start()
        {
            this.attempt.set(Some(attempt));
        }
        if state.phase != Phase::Running {
            return state.poll_engine(cx);
        }
        let polled = this
            .attempt
            .as_mut()
            .as_pin_mut()
            .expect("a running call has its attempt")
            .poll(cx);
        // The common end, answered as polled: a success, or a failure no retry repeats
        // and no hedge's second try may still mend.
        let answered = match &polled {
            Poll::Ready(Ok(_)) => true,
            Poll::Ready(Err(_)) => !state.repeatable && !state.hedge_running(),
            Poll::Pending => false,
        };
        if answered {
            // The attempt goes before its permit.
            this.attempt.set(None);
            state.finish();
            if state.counted || state.falls_back {
                let Poll::Ready(outcome) = polled else {
                    unreachable!("an answered call is ready")
                };
                return state.settle(outcome, cx);
            }
            return polled;
        }
        state.attempt_went_on(this.attempt, cx, polled)
    }
}
