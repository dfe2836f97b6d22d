//! [`FaultLayer`]: seeded fault injection on reads and writes, for tests (ours and users').

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use store_core::{ErrorKind, StoreError};

use crate::layer::{Call, Layer};
use crate::meta::{Access, OpMeta};

/// One kind of fault and the calls it hits.
#[derive(Debug, Clone)]
pub struct Fault {
    kind: ErrorKind,
    ratio: f64,
    operations: Option<Vec<&'static str>>,
    access: Option<Access>,
    after: bool,
}

impl Fault {
    /// Fails `ratio` (0.0–1.0) of the calls it matches with an error of `kind`, before the
    /// store sees them.
    pub fn error(kind: ErrorKind, ratio: f64) -> Self {
        Self {
            kind,
            ratio: ratio.clamp(0.0, 1.0),
            operations: None,
            access: None,
            after: false,
        }
    }

    /// Lets the call reach the store and succeed, then reports the error anyway: "the write
    /// happened, then the call failed", the fault that makes retries write twice unless
    /// writes are idempotent.
    pub fn after_success(mut self) -> Self {
        self.after = true;
        self
    }

    /// Only these operations (`"put"`, `"batch_write"`…).
    pub fn operations(mut self, operations: &[&'static str]) -> Self {
        self.operations = Some(operations.to_vec());
        self
    }

    /// Only reads, writes, listings or admin calls.
    pub fn access(mut self, access: Access) -> Self {
        self.access = Some(access);
        self
    }

    fn matches(&self, meta: &OpMeta<'_>) -> bool {
        self.operations
            .as_ref()
            .is_none_or(|ops| ops.contains(&meta.operation))
            && self.access.is_none_or(|a| a == meta.access)
    }
}

/// Injects faults into calls, deterministically from a seed: errors by kind, operation and
/// ratio, failures after a successful write, added latency, and scripts such as "fail the
/// next 3 calls with `Throttled`". Clones share their state (the random sequence, the script
/// and the counters), so a test can keep one to script and inspect while the store uses it.
///
/// ```
/// use store_core::ErrorKind;
/// use store_layers::{Access, Fault, FaultLayer};
/// let faults = FaultLayer::seeded(7)
///     .with(Fault::error(ErrorKind::Unavailable, 0.2))
///     .with(Fault::error(ErrorKind::Unavailable, 0.1).after_success().access(Access::Write));
/// faults.fail_next(3, ErrorKind::Throttled);
/// assert_eq!(faults.injected(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct FaultLayer {
    faults: Vec<Fault>,
    latency: Option<Duration>,
    state: Arc<Mutex<State>>,
    counters: Arc<Counters>,
}

/// What an unarmed call reads and counts without taking the lock.
#[derive(Debug, Default)]
struct Counters {
    /// Calls that reached the layer.
    calls: AtomicU64,
    /// Scripted faults not yet handed out.
    scripted: AtomicUsize,
}

#[derive(Debug)]
struct State {
    rng: u64,
    /// Scripted faults in order: the kind, and whether the call runs first.
    script: VecDeque<(ErrorKind, bool)>,
    injected: u64,
    injected_after: u64,
}

impl FaultLayer {
    /// No fault yet; the random sequence starts from `seed` (the same seed gives the same
    /// faults for the same sequence of calls).
    pub fn seeded(seed: u64) -> Self {
        Self {
            faults: Vec::new(),
            latency: None,
            state: Arc::new(Mutex::new(State {
                rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
                script: VecDeque::new(),
                injected: 0,
                injected_after: 0,
            })),
            counters: Arc::default(),
        }
    }

    /// Adds a fault.
    pub fn with(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Delays every call by `latency` before it starts.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Fails the next `n` calls with `kind`, whatever they are, before the random faults.
    pub fn fail_next(&self, n: usize, kind: ErrorKind) {
        self.script(n, kind, false);
    }

    /// Lets the next `n` calls reach the store and succeed, then reports `kind` for each
    /// anyway ("the write happened, then the call failed"), before the random faults.
    pub fn fail_next_after_success(&self, n: usize, kind: ErrorKind) {
        self.script(n, kind, true);
    }

    fn script(&self, n: usize, kind: ErrorKind, after: bool) {
        let mut state = self.lock();
        state.script.extend(std::iter::repeat_n((kind, after), n));
        self.counters.scripted.fetch_add(n, Ordering::SeqCst);
    }

    /// Faults injected so far, of both kinds.
    pub fn injected(&self) -> u64 {
        self.lock().injected
    }

    /// Of the faults injected so far, those reported after the store had done the call
    /// ([`Fault::after_success`]).
    pub fn injected_after_success(&self) -> u64 {
        self.lock().injected_after
    }

    /// Calls that reached this layer so far, faulted or not. The fault layer is innermost, so
    /// each attempt a retry or a hedge makes counts once: with `n` calls made by the caller,
    /// `calls() - n` is the number of extra attempts the layers above added.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use store_core::memory::MemoryObjectStore;
    /// use store_core::{ErrorKind, ObjectKey, ObjectStoreExt, RetryPolicy};
    /// use store_layers::{FaultLayer, LayerExt, Layers};
    /// let faults = FaultLayer::seeded(3);
    /// faults.fail_next(1, ErrorKind::Unavailable);
    /// let policy = RetryPolicy::default().base_delay(Duration::from_millis(1));
    /// let store = MemoryObjectStore::new().layer(Layers::new().retry(policy).faults(faults.clone()));
    /// store.put_str(&ObjectKey::new("k")?, "v").await?;
    /// assert_eq!((faults.calls(), faults.injected()), (2, 1));
    /// # Ok::<(), store_core::StoreError>(()) }).unwrap();
    /// ```
    pub fn calls(&self) -> u64 {
        self.counters.calls.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fault this call gets, if any: `(kind, after_success)`.
    fn draw(&self, meta: &OpMeta<'_>) -> Option<(ErrorKind, bool)> {
        let mut state = self.lock();
        if let Some((kind, after)) = state.script.pop_front() {
            self.counters.scripted.fetch_sub(1, Ordering::SeqCst);
            state.injected += 1;
            state.injected_after += u64::from(after);
            return Some((kind, after));
        }
        for fault in self.faults.iter().filter(|f| f.matches(meta)) {
            if state.next_unit() < fault.ratio {
                state.injected += 1;
                state.injected_after += u64::from(fault.after);
                return Some((fault.kind, fault.after));
            }
        }
        None
    }
}

impl State {
    /// xorshift64*: a uniform number in `[0, 1)`.
    fn next_unit(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn injected(kind: ErrorKind, meta: &OpMeta<'_>, after: bool) -> StoreError {
    let when = if after { " after it succeeded" } else { "" };
    StoreError::new(kind, format!("injected fault on `{meta}`{when}")).with_backend(meta.backend)
}

impl FaultLayer {
    /// Whether a call may meet a fault now. A call that will not (and so needs no wrapping)
    /// is counted by [`count_call`](Self::count_call) once it goes ahead.
    #[inline]
    pub(crate) fn armed(&self) -> bool {
        self.latency.is_some()
            || !self.faults.is_empty()
            || self.counters.scripted.load(Ordering::SeqCst) > 0
    }

    /// Counts a call that went ahead without faults (without a lock).
    #[inline]
    pub(crate) fn count_call(&self) {
        self.counters.calls.fetch_add(1, Ordering::SeqCst);
    }

    /// Runs `call` with the faults this layer draws for it.
    pub(crate) async fn run<T, Fut>(
        &self,
        meta: &OpMeta<'_>,
        call: impl FnOnce() -> Fut,
    ) -> store_core::Result<T>
    where
        Fut: Future<Output = store_core::Result<T>>,
    {
        if !self.armed() {
            self.count_call();
            return call().await;
        }
        self.inject(meta, call).await
    }

    /// Runs `call` with the latency and the fault (if any) drawn for it.
    async fn inject<T, Fut>(
        &self,
        meta: &OpMeta<'_>,
        call: impl FnOnce() -> Fut,
    ) -> store_core::Result<T>
    where
        Fut: Future<Output = store_core::Result<T>>,
    {
        // Counted on arrival: a call cancelled during its added latency still reached us.
        self.counters.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(latency) = self.latency {
            Box::pin(tokio::time::sleep(latency)).await;
        }
        let draw = self.draw(meta);
        match draw {
            None => call().await,
            Some((kind, false)) => Err(injected(kind, meta, false)),
            Some((kind, true)) => {
                call().await?;
                Err(injected(kind, meta, true))
            }
        }
    }
}

impl Layer for FaultLayer {
    /// Runs each call at most once.
    fn may_repeat(&self, _meta: &OpMeta<'_>) -> bool {
        false
    }

    fn around<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        if !self.armed() {
            self.count_call();
            return call();
        }
        // Not counted yet: `inject` counts the call.
        async move { self.inject(meta, call).await }.boxed()
    }
}
