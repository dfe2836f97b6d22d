//! [`RetryPolicy`]: exponential backoff with full jitter, and [`retry`] to apply it.

use std::future::Future;
use std::time::Duration;

use crate::error::{Result, StoreError};

/// Exponential backoff with full jitter, bounded by attempts and elapsed time.
///
/// The delay before attempt `n + 1` is a random duration in `0..=min(max_delay, base * 2^(n-1))`
/// (full jitter), unless the error carries a server-given delay (`Retry-After`), which is
/// honoured as a floor even above `max_delay`; `max_elapsed` still bounds the total wait.
///
/// ```
/// use std::time::Duration;
/// use store_core::RetryPolicy;
/// let policy = RetryPolicy::default()
///     .max_attempts(5)
///     .base_delay(Duration::from_millis(50))
///     .max_elapsed(Some(Duration::from_secs(10)));
/// assert_eq!(policy.attempts(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_elapsed: Option<Duration>,
    jitter: bool,
}

impl Default for RetryPolicy {
    /// 5 attempts, 100 ms base, 10 s cap per delay, 60 s overall, jitter on.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            max_elapsed: Some(Duration::from_secs(60)),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self::default().max_attempts(1)
    }

    /// Total attempts, the first included (at least 1).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// The first backoff ceiling.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The largest single delay.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Stop retrying once this much time has passed since the first attempt.
    pub fn max_elapsed(mut self, limit: Option<Duration>) -> Self {
        self.max_elapsed = limit;
        self
    }

    /// Turns jitter off (delays are then the full exponential ceiling), for predictable tests.
    pub fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// Total attempts allowed.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff ceiling after `attempt` failed attempts (1-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The delay before the next attempt, or `None` when the error is not retryable or the
    /// attempts or elapsed time are used up.
    pub fn next_delay(
        &self,
        attempt: u32,
        elapsed: Duration,
        error: &StoreError,
    ) -> Option<Duration> {
        if !error.is_retryable() {
            return None;
        }
        self.delay_after(attempt, elapsed, error.retry_after())
    }

    /// Starts a [`Backoff`]: the stateful schedule of one operation's retries, its clock
    /// starting now.
    ///
    /// ```
    /// use std::time::Duration;
    /// use store_core::RetryPolicy;
    /// let policy = RetryPolicy::default().max_attempts(3).without_jitter();
    /// let mut backoff = policy.start();
    /// assert_eq!(backoff.next(None), Some(Duration::from_millis(100)));
    /// assert_eq!(backoff.next(None), Some(Duration::from_millis(200)));
    /// assert_eq!(backoff.next(None), None); // three attempts made
    /// ```
    pub fn start(&self) -> Backoff {
        self.start_at(tokio::time::Instant::now())
    }

    /// Starts a [`Backoff`] whose elapsed budget counts from `started` (for one part of a
    /// larger operation that shares its deadline, such as one chunk of a batch).
    pub fn start_at(&self, started: tokio::time::Instant) -> Backoff {
        Backoff {
            policy: self.clone(),
            failed: 0,
            started,
        }
    }

    /// The delay after `attempt` failed attempts, `elapsed` into the operation, with the
    /// server's `hint` as a floor; `None` when the attempts or the elapsed budget are used up.
    fn delay_after(
        &self,
        attempt: u32,
        elapsed: Duration,
        hint: Option<Duration>,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let ceiling = self.ceiling(attempt);
        let mut delay = if self.jitter {
            Duration::try_from_secs_f64(ceiling.as_secs_f64() * random_unit())
                .map_or(ceiling, |d| d.min(ceiling))
        } else {
            ceiling
        };
        if let Some(hint) = hint {
            // The server knows best: its delay is a floor, not capped by `max_delay`; the
            // elapsed budget below decides whether waiting that long is still worth it.
            delay = delay.max(hint);
        }
        if let Some(limit) = self.max_elapsed
            && elapsed.saturating_add(delay) > limit
        {
            return None;
        }
        Some(delay)
    }
}

/// The retry schedule of one operation, from [`RetryPolicy::start`]: each call to
/// [`next`](Backoff::next) records a failed attempt and says how long to wait before the next
/// one, or `None` when the policy's attempts or elapsed budget are used up.
///
/// It is the one primitive behind every retry loop of the workspace, including the loops that
/// retry only the failed items of a batch: the caller decides *what* to retry, the backoff
/// decides *when* and *whether*.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use store_core::RetryPolicy;
/// let mut pending = vec![1, 2, 3];
/// let mut backoff = RetryPolicy::default().base_delay(Duration::from_millis(1)).start();
/// loop {
///     pending.retain(|item| item % 2 == 0); // pretend the odd items were written
///     pending.clear(); // ... and on the second round, the rest
///     if pending.is_empty() || !backoff.wait(None).await {
///         break;
///     }
/// }
/// assert!(pending.is_empty());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    failed: u32,
    started: tokio::time::Instant,
}

impl Backoff {
    /// Records a failed attempt and returns the delay before the next one (`hint`, a server's
    /// `Retry-After`, is a floor), or `None` when no attempt is left within the policy.
    pub fn next(&mut self, hint: Option<Duration>) -> Option<Duration> {
        self.failed = self.failed.saturating_add(1);
        self.policy
            .delay_after(self.failed, self.started.elapsed(), hint)
    }

    /// Like [`next`](Backoff::next) for an error: `None` at once when the error is not
    /// retryable, its `Retry-After` honoured otherwise.
    pub fn next_for(&mut self, error: &StoreError) -> Option<Duration> {
        if !error.is_retryable() {
            return None;
        }
        self.next(error.retry_after())
    }

    /// Records a failed attempt and sleeps until the next one may start; `false` (without
    /// sleeping) when the policy gives up.
    pub async fn wait(&mut self, hint: Option<Duration>) -> bool {
        match self.next(hint) {
            Some(delay) => {
                tracing::debug!(attempt = self.failed, ?delay, "retrying");
                tokio::time::sleep(delay).await;
                true
            }
            None => false,
        }
    }

    /// Failed attempts recorded so far.
    pub fn failures(&self) -> u32 {
        self.failed
    }

    /// Time since the backoff started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Runs `operation` until it succeeds, fails with a non-retryable error, or the policy gives up;
/// the last error is returned.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use store_core::{retry, RetryPolicy, StoreError};
/// let calls = AtomicU32::new(0);
/// let policy = RetryPolicy::default().base_delay(Duration::from_millis(1));
/// let out = retry(&policy, || async {
///     if calls.fetch_add(1, Ordering::SeqCst) < 2 {
///         Err(StoreError::throttled("slow down"))
///     } else {
///         Ok("done")
///     }
/// })
/// .await;
/// assert_eq!(out.unwrap(), "done");
/// assert_eq!(calls.load(Ordering::SeqCst), 3);
/// # });
/// ```
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, mut operation: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut backoff = policy.start();
    loop {
        match operation().await {
            Ok(value) => return Ok(value),
            Err(error) => match backoff.next_for(&error) {
                Some(delay) => {
                    tracing::debug!(attempt = backoff.failures(), ?delay, error = %error, "retrying");
                    tokio::time::sleep(delay).await;
                }
                None => return Err(error),
            },
        }
    }
}

/// A uniform random number in `[0, 1)`, from a per-thread xorshift seeded by the OS hasher.
fn random_unit() -> f64 {
    use std::cell::Cell;
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(0x9e37_79b9_7f4a_7c15);
            h.finish() | 1
        });
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fast() -> RetryPolicy {
        RetryPolicy::default()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(2))
    }

    #[tokio::test(start_paused = true)]
    async fn retries_retryable_errors_until_success() {
        let calls = AtomicU32::new(0);
        let out = retry(&fast(), || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(StoreError::unavailable("down")),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(out.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn does_not_retry_permanent_errors() {
        let calls = AtomicU32::new(0);
        let out: Result<()> = retry(&fast(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::invalid_input("bad"))
        })
        .await;
        assert_eq!(out.unwrap_err().kind(), crate::ErrorKind::InvalidInput);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_attempts_with_last_error() {
        let calls = AtomicU32::new(0);
        let out: Result<()> = retry(&fast().max_attempts(4), || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::throttled(format!("try {n}")))
        })
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert_eq!(out.unwrap_err().message(), "try 3");
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_grows_exponentially_without_jitter() {
        let start = tokio::time::Instant::now();
        let calls = AtomicU32::new(0);
        let _: Result<()> = retry(&fast().without_jitter().max_attempts(4), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::unavailable("down"))
        })
        .await;
        // 100 + 200 + 400 ms of sleeping on the paused clock.
        assert_eq!(start.elapsed(), Duration::from_millis(700));
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after_and_stops_at_max_elapsed() {
        let start = tokio::time::Instant::now();
        let policy = fast()
            .max_attempts(100)
            .max_delay(Duration::from_secs(5))
            .max_elapsed(Some(Duration::from_secs(10)));
        let calls = AtomicU32::new(0);
        let _: Result<()> = retry(&policy, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::throttled("busy").with_retry_after(Duration::from_secs(3)))
        })
        .await;
        // Every delay is at least 3 s; a fourth delay would pass the 10 s budget.
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert!(start.elapsed() >= Duration::from_secs(9));
        assert!(start.elapsed() <= Duration::from_secs(10));
    }

    #[test]
    fn a_server_delay_above_max_delay_is_honoured_and_huge_values_do_not_overflow() {
        let policy = fast().max_delay(Duration::from_secs(1)).max_elapsed(None);
        let err = StoreError::throttled("busy").with_retry_after(Duration::from_secs(30));
        assert_eq!(
            policy.next_delay(1, Duration::ZERO, &err),
            Some(Duration::from_secs(30))
        );
        let extreme = RetryPolicy::default()
            .base_delay(Duration::from_secs(u64::MAX / 2))
            .max_delay(Duration::MAX);
        let delay = extreme.next_delay(3, Duration::from_secs(1), &StoreError::throttled("x"));
        assert!(
            delay.is_none(),
            "a delay past the elapsed budget must give up, not overflow"
        );
    }

    #[test]
    fn jittered_delay_stays_under_the_ceiling() {
        let policy = fast();
        let err = StoreError::throttled("x");
        for attempt in 1..policy.attempts() {
            for _ in 0..100 {
                let d = policy.next_delay(attempt, Duration::ZERO, &err).unwrap();
                assert!(d <= policy.ceiling(attempt));
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_follows_the_same_schedule_as_retry() {
        let policy = fast().without_jitter().max_attempts(4);
        let start = tokio::time::Instant::now();
        let mut backoff = policy.start();
        let mut delays = Vec::new();
        while let Some(d) = backoff.next(None) {
            delays.push(d);
            tokio::time::sleep(d).await;
        }
        assert_eq!(
            delays,
            [100, 200, 400].map(Duration::from_millis).to_vec(),
            "the schedule retry() sleeps in backoff_grows_exponentially_without_jitter"
        );
        assert_eq!(start.elapsed(), Duration::from_millis(700));
        assert_eq!(backoff.failures(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_honours_hints_and_the_elapsed_budget() {
        let policy = fast()
            .max_attempts(100)
            .max_delay(Duration::from_secs(5))
            .max_elapsed(Some(Duration::from_secs(10)));
        let mut backoff = policy.start();
        let mut waits = 0;
        while backoff.wait(Some(Duration::from_secs(3))).await {
            waits += 1;
        }
        // Three 3 s waits fit in 10 s; a fourth would not.
        assert_eq!(waits, 3);
        assert_eq!(backoff.elapsed(), Duration::from_secs(9));
    }

    #[test]
    fn backoff_refuses_permanent_errors_at_once() {
        let mut backoff = fast().start();
        assert_eq!(backoff.next_for(&StoreError::invalid_input("bad")), None);
        let hinted = StoreError::throttled("busy").with_retry_after(Duration::from_secs(2));
        assert!(backoff.next_for(&hinted).unwrap() >= Duration::from_secs(2));
    }
}
