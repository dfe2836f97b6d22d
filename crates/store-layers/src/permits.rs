//! [`Permits`]: the counting semaphore behind [`ConcurrencyLayer`](crate::ConcurrencyLayer).
//! Taking and returning a permit is one atomic operation each when nobody waits (tokio's
//! semaphore takes a lock on every release); waiters queue on a [`Notify`], which wakes them
//! in the order they arrived.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// A fixed number of permits.
#[derive(Debug)]
pub(crate) struct Permits {
    available: AtomicUsize,
    /// Calls queued for a permit: while any waits, newcomers queue behind them.
    waiting: AtomicUsize,
    released: Notify,
}

/// A permit held until dropped.
#[derive(Debug)]
pub(crate) struct Permit<'a>(&'a Permits);

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Takes a queued call off the count however its wait ends (a permit, or cancelled).
struct Queued<'a>(&'a Permits);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Permits {
    /// `n` permits.
    pub(crate) fn new(n: usize) -> Self {
        Self {
            available: AtomicUsize::new(n),
            waiting: AtomicUsize::new(0),
            released: Notify::new(),
        }
    }

    /// Permits free now.
    pub(crate) fn available(&self) -> usize {
        self.available.load(Ordering::SeqCst)
    }

    /// A permit at once, if one is free and nobody is queued for one.
    #[inline]
    pub(crate) fn try_acquire(&self) -> Option<Permit<'_>> {
        (self.waiting.load(Ordering::SeqCst) == 0 && self.take()).then(|| Permit(self))
    }

    /// A permit, waiting in line for one.
    pub(crate) async fn acquire(&self) -> Permit<'_> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _queued = Queued(self);
        loop {
            // Registered before looking, so a release between the look and the wait wakes us.
            let released = self.released.notified();
            let mut released = std::pin::pin!(released);
            released.as_mut().enable();
            if self.take() {
                return Permit(self);
            }
            released.await;
        }
    }

    #[inline]
    fn take(&self) -> bool {
        let mut free = self.available.load(Ordering::SeqCst);
        while free > 0 {
            match self.available.compare_exchange_weak(
                free,
                free - 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(now) => free = now,
            }
        }
        false
    }

    #[inline]
    fn release(&self) {
        self.available.fetch_add(1, Ordering::SeqCst);
        // A waiter counted itself before looking for a permit: either it sees this one, or
        // it is counted here and woken (a wake-up before it waits is kept for it).
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.released.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn permits_are_counted_and_returned() {
        let permits = Permits::new(2);
        let a = permits.try_acquire().expect("first");
        let _b = permits.try_acquire().expect("second");
        assert!(permits.try_acquire().is_none());
        drop(a);
        assert_eq!(permits.available(), 1);
        assert!(permits.try_acquire().is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn never_more_than_the_limit_and_nobody_is_left_waiting() {
        let permits = Arc::new(Permits::new(3));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (permits, running, most) = (permits.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    for _ in 0..50 {
                        let _permit = match permits.try_acquire() {
                            Some(permit) => permit,
                            None => permits.acquire().await,
                        };
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        running.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("no waiter is forgotten")
                .expect("task");
        }
        assert_eq!(most.load(Ordering::SeqCst), 3);
        assert_eq!(permits.available(), 3);
    }

    #[tokio::test]
    async fn a_cancelled_wait_leaves_the_queue() {
        let permits = Permits::new(1);
        let held = permits.try_acquire().expect("permit");
        let waited = tokio::time::timeout(Duration::from_millis(20), permits.acquire()).await;
        assert!(waited.is_err());
        drop(held);
        assert!(
            permits.try_acquire().is_some(),
            "no phantom waiter blocks the fast path"
        );
    }
}
