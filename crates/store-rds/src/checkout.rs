//! When a pooled connection is verified before it is handed out.
//!
//! A connection in steady use is handed out without a round trip. One is verified (an empty
//! query, bounded in time) when it has been idle for the configured while; when the pool has
//! found a connection closed since this one was last verified (a server restart or a network
//! reset rarely closes just one); or when the caller runs on another tokio runtime than the
//! one driving the connection: that runtime may be blocked waiting for the caller (a `Drop`
//! running `block_on` elsewhere), and an unverified connection would then never answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use deadpool_postgres::{ClientWrapper, Hook, HookError, Metrics, StatementCache};
use tokio::runtime::{Handle, Id};

/// What one pool knows of its open connections: the runtime driving each and the pool's
/// error count when each was last verified, keyed by the connection's statement cache (an
/// `Arc` that lives exactly as long as the connection).
#[derive(Clone, Default)]
pub(crate) struct Drivers {
    connections: Arc<Mutex<Vec<Driven>>>,
    /// Connections found closed so far.
    closed: Arc<AtomicU64>,
}

struct Driven {
    cache: Weak<StatementCache>,
    runtime: Option<Id>,
    verified_at: u64,
}

impl Drivers {
    /// Records that `client`, just opened, is driven by the current runtime.
    fn record(&self, client: &ClientWrapper) {
        let runtime = Handle::try_current().ok().map(|h| h.id());
        let verified_at = self.closed.load(Ordering::Acquire);
        let mut connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        connections.retain(|c| c.cache.strong_count() > 0);
        connections.push(Driven {
            cache: Arc::downgrade(&client.statement_cache),
            runtime,
            verified_at,
        });
    }

    /// Whether `client` may skip its check: it is driven by the caller's runtime, and no
    /// connection of the pool was found closed since it was last verified.
    fn trusted(&self, client: &ClientWrapper) -> bool {
        let Ok(here) = Handle::try_current().map(|h| h.id()) else {
            return false;
        };
        let closed = self.closed.load(Ordering::Acquire);
        let cache = Arc::as_ptr(&client.statement_cache);
        let connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        connections.iter().any(|c| {
            c.cache.as_ptr() == cache && c.runtime == Some(here) && c.verified_at == closed
        })
    }

    /// The pool's count of connections found closed, read before a check begins.
    fn closed_so_far(&self) -> u64 {
        self.closed.load(Ordering::Acquire)
    }

    /// Records that `client` answered the check begun when `closed` connections had been
    /// found closed (a connection found closed during the check leaves it to be checked
    /// again).
    fn verified(&self, client: &ClientWrapper, closed: u64) {
        let cache = Arc::as_ptr(&client.statement_cache);
        let mut connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = connections.iter_mut().find(|c| c.cache.as_ptr() == cache) {
            c.verified_at = closed;
        }
    }

    /// Records that a connection of the pool was found closed.
    fn found_closed(&self) {
        self.closed.fetch_add(1, Ordering::AcqRel);
    }
}

/// The hook run when a connection is opened: it remembers the runtime driving it.
pub(crate) fn record_driver(drivers: Drivers) -> Hook {
    Hook::sync_fn(move |client: &mut ClientWrapper, _: &Metrics| {
        drivers.record(client);
        Ok(())
    })
}

/// A check passed without a round trip: a unit future, so boxing it allocates nothing (a
/// `ready(Ok(()))` would, once per checkout).
struct Passed;

impl std::future::Future for Passed {
    type Output = Result<(), HookError>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// The checkout hook. A connection known closed is replaced, and makes every other one
/// checked before its next use. The others are verified with an empty query's round trip
/// bounded by `limit` unless used within `idle` (never skipped when `idle` is zero) and
/// [trusted](Drivers::trusted); one that fails or does not answer in time is replaced.
pub(crate) fn verify(drivers: Drivers, idle: Duration, limit: Duration) -> Hook {
    Hook::async_fn(move |client: &mut ClientWrapper, metrics: &Metrics| {
        let closed = client.is_closed();
        if !closed && !idle.is_zero() && metrics.last_used() < idle && drivers.trusted(client) {
            return Box::pin(Passed);
        }
        let drivers = drivers.clone();
        Box::pin(async move {
            if closed {
                drivers.found_closed();
                return Err(HookError::message("the connection was closed"));
            }
            let closed_before = drivers.closed_so_far();
            match tokio::time::timeout(limit, client.simple_query("")).await {
                Ok(Ok(_)) => {
                    drivers.verified(client, closed_before);
                    Ok(())
                }
                Ok(Err(e)) => {
                    drivers.found_closed();
                    Err(HookError::Backend(e))
                }
                Err(_) => {
                    drivers.found_closed();
                    Err(HookError::message(
                        "the connection did not answer its check in time",
                    ))
                }
            }
        })
    })
}
