//! [`BreakerLayer`]: a circuit breaker per backend endpoint, so a sick backend is given time
//! to recover instead of a flood of calls that will fail.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use store_core::{ErrorKind, StoreError};
use tokio::time::Instant;

use crate::layer::{Call, Layer};
use crate::meta::OpMeta;

/// When a [`BreakerLayer`] opens and how it recovers.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    /// Outcomes remembered (the last N calls).
    pub window: usize,
    /// Calls needed in the window before the breaker may open.
    pub min_calls: usize,
    /// The share of transient failures in the window that opens it (0.0–1.0).
    pub failure_rate: f64,
    /// How long it stays open before letting a probe through.
    pub open_for: Duration,
    /// Probes let through at once while half-open.
    pub probes: usize,
}

impl Default for BreakerConfig {
    /// Opens when half of the last 20 calls (at least 10) failed transiently; stays open 30 s;
    /// one probe at a time.
    fn default() -> Self {
        Self {
            window: 20,
            min_calls: 10,
            failure_rate: 0.5,
            open_for: Duration::from_secs(30),
            probes: 1,
        }
    }
}

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; outcomes are counted.
    Closed,
    /// Calls fail at once; a probe is let through after `retry_in`.
    Open {
        /// Time left before the next probe.
        retry_in: Duration,
    },
    /// Probes are going through; their outcome closes or reopens the breaker.
    HalfOpen,
}

/// A circuit breaker: when too many recent calls failed with transient errors (`Unavailable`,
/// `Throttled`: the backend is sick, not the input wrong), it opens and answers every call at
/// once with `Unavailable` carrying `Retry-After` (when it will probe again), without
/// touching the backend. After `open_for` it lets probes through: a success closes it, a
/// failure opens it again. Other errors (`NotFound`, `InvalidInput`, `Conflict`…) count as
/// the backend answering.
///
/// Use one breaker per endpoint: clones share their state, so hand a clone to every store
/// that talks to the same server. Placed outside retry by [`Layers`](crate::Layers), a call
/// counts once however many attempts it took.
///
/// ```
/// use std::time::Duration;
/// use store_layers::{BreakerConfig, BreakerLayer, BreakerState};
/// let breaker = BreakerLayer::new(BreakerConfig { open_for: Duration::from_secs(5), ..Default::default() });
/// assert_eq!(breaker.state(), BreakerState::Closed);
/// ```
#[derive(Debug, Clone)]
pub struct BreakerLayer {
    config: BreakerConfig,
    shared: Arc<Shared>,
}

/// A breaker's state, shared by its clones.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// What a call may learn without the lock: [`NOT_CLOSED`], [`CLOSED`] or [`STEADY`].
    /// Written under the lock whenever the state it sums up changes.
    quick: AtomicU8,
}

/// Open or half-open: a call takes the lock to learn what it may do.
const NOT_CLOSED: u8 = 0;
/// Closed: calls go through without the lock; their outcomes are counted under it.
const CLOSED: u8 = 1;
/// Closed, with a full window of successes: a success changes nothing (one more success in,
/// one out), so a successful call takes no lock at all.
const STEADY: u8 = 2;

#[derive(Debug)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { in_flight: usize },
}

#[derive(Debug)]
struct State {
    phase: Phase,
    outcomes: VecDeque<bool>,
    opened: u64,
}

/// What a call may do, decided before it runs.
enum Admit {
    Call,
    /// A probe of the half-open period after the breaker's opening number `.0`.
    Probe(u64),
    Refuse(Duration),
}

impl BreakerLayer {
    /// A closed breaker with `config`.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    phase: Phase::Closed,
                    outcomes: VecDeque::with_capacity(config.window),
                    opened: 0,
                }),
                quick: AtomicU8::new(CLOSED),
            }),
            config,
        }
    }

    /// The breaker's state now.
    pub fn state(&self) -> BreakerState {
        let state = self.lock();
        match state.phase {
            Phase::Closed => BreakerState::Closed,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
            Phase::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    BreakerState::HalfOpen
                } else {
                    BreakerState::Open {
                        retry_in: until - now,
                    }
                }
            }
        }
    }

    /// How many times the breaker has opened (from closed, or again after a failed probe).
    pub fn times_opened(&self) -> u64 {
        self.lock().opened
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the breaker is closed, read without its lock: a call may then go through at
    /// once, and its outcome is counted by [`count`](Self::count).
    #[inline]
    pub(crate) fn closed(&self) -> bool {
        self.shared.quick.load(Ordering::Acquire) != NOT_CLOSED
    }

    /// Counts the outcome of a call let through while closed (not a probe): a success
    /// with a steady window takes no lock.
    #[inline]
    pub(crate) fn count<T>(&self, outcome: &store_core::Result<T>) {
        match outcome {
            Ok(_) if self.shared.quick.load(Ordering::Acquire) == STEADY => {}
            // Our own rate limit refused it: the backend was not asked.
            Err(error) if crate::rate::refused_locally(error) => {}
            outcome => self.record(false, outcome.as_ref().err().is_some_and(transient)),
        }
    }

    fn admit(&self) -> Admit {
        if self.closed() {
            return Admit::Call;
        }
        let mut state = self.lock();
        let now = Instant::now();
        match state.phase {
            Phase::Closed => Admit::Call,
            Phase::Open { until } if now < until => Admit::Refuse(until - now),
            Phase::Open { .. } => {
                state.phase = Phase::HalfOpen { in_flight: 1 };
                Admit::Probe(state.opened)
            }
            Phase::HalfOpen { in_flight } if in_flight < self.config.probes.max(1) => {
                state.phase = Phase::HalfOpen {
                    in_flight: in_flight + 1,
                };
                Admit::Probe(state.opened)
            }
            Phase::HalfOpen { .. } => Admit::Refuse(Duration::ZERO),
        }
    }

    /// A probe of the half-open period after opening number `opened` ended without an
    /// answer from the backend: its slot is free again (unless that period is over).
    fn release_probe(&self, opened: u64) {
        let mut state = self.lock();
        if state.opened != opened {
            return;
        }
        if let Phase::HalfOpen { in_flight } = state.phase {
            state.phase = Phase::HalfOpen {
                in_flight: in_flight.saturating_sub(1),
            };
        }
    }

    #[cold]
    fn record(&self, probe: bool, failed: bool) {
        let mut state = self.lock();
        self.record_locked(&mut state, probe, failed);
        let quick = match state.phase {
            Phase::Closed
                if state.outcomes.len() == self.config.window.max(1)
                    && !state.outcomes.iter().any(|failed| *failed) =>
            {
                STEADY
            }
            Phase::Closed => CLOSED,
            _ => NOT_CLOSED,
        };
        self.shared.quick.store(quick, Ordering::Release);
    }

    fn record_locked(&self, state: &mut State, probe: bool, failed: bool) {
        if probe {
            if failed {
                tracing::info!("circuit breaker: probe failed, open again");
                state.opened += 1;
                state.phase = Phase::Open {
                    until: Instant::now() + self.config.open_for,
                };
            } else {
                tracing::info!("circuit breaker: probe succeeded, closed");
                state.phase = Phase::Closed;
                state.outcomes.clear();
            }
            return;
        }
        if !matches!(state.phase, Phase::Closed) {
            return;
        }
        if state.outcomes.len() == self.config.window.max(1) {
            state.outcomes.pop_front();
        }
        state.outcomes.push_back(failed);
        let calls = state.outcomes.len();
        let failures = state.outcomes.iter().filter(|f| **f).count();
        if calls >= self.config.min_calls.max(1)
            && failures as f64 >= self.config.failure_rate * calls as f64
        {
            tracing::info!(calls, failures, "circuit breaker: opened");
            state.opened += 1;
            state.phase = Phase::Open {
                until: Instant::now() + self.config.open_for,
            };
            state.outcomes.clear();
        }
    }
}

/// Gives a probe's slot back if the probe is cancelled before its outcome is known: a
/// caller's own deadline says nothing of the backend, so the next call probes instead.
struct ProbeGuard<'a> {
    breaker: &'a BreakerLayer,
    /// The opening whose half-open period the probe belongs to, while it runs.
    probe: Option<u64>,
}

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if let Some(opened) = self.probe {
            self.breaker.release_probe(opened);
        }
    }
}

/// Whether an error says the backend is sick (rather than the input wrong).
fn transient(error: &StoreError) -> bool {
    matches!(error.kind(), ErrorKind::Unavailable | ErrorKind::Throttled)
}

impl BreakerLayer {
    /// Runs `call` if the breaker lets it through, and counts its outcome.
    pub(crate) async fn run<T, Fut>(
        &self,
        meta: &OpMeta<'_>,
        call: impl FnOnce() -> Fut,
    ) -> store_core::Result<T>
    where
        Fut: Future<Output = store_core::Result<T>>,
    {
        let probe = match self.admit() {
            Admit::Call => None,
            Admit::Probe(opened) => Some(opened),
            Admit::Refuse(wait) => {
                return Err(StoreError::unavailable(format!(
                    "the circuit breaker for `{}` is open after repeated failures; it \
                     lets a call through again in {wait:?}",
                    meta.backend
                ))
                .with_retry_after(wait)
                .with_backend(meta.backend));
            }
        };
        // A probe dropped before it finished must not leave the breaker half-open forever.
        let mut guard = ProbeGuard {
            breaker: self,
            probe,
        };
        let outcome = call().await;
        guard.probe = None;
        let Some(opened) = probe else {
            self.count(&outcome);
            return outcome;
        };
        match outcome.as_ref().err() {
            // Our own rate limit refused it: the backend was not asked, so nothing is
            // counted, and the probe's slot goes to the next call.
            Some(error) if crate::rate::refused_locally(error) => self.release_probe(opened),
            error => self.record(true, error.is_some_and(transient)),
        }
        outcome
    }
}

impl Layer for BreakerLayer {
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
}
