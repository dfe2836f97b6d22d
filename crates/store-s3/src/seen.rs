//! [`BucketSeen`]: when the bucket was last known to exist. A `HEAD` answered 404 has no body
//! to say whether the key or the bucket is missing; the client asks the bucket (one
//! `HeadBucket`) only when it has not seen the bucket lately, so a run of misses costs one
//! extra request a minute at most.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a sighting of the bucket vouches for it: within this, a 404 to a `HEAD` is
/// taken to mean the key is missing. A bucket deleted meanwhile is reported missing once
/// this has passed.
pub(crate) const SEEN_FOR: Duration = Duration::from_secs(60);

/// When the bucket last answered, in milliseconds since the client was made.
#[derive(Debug)]
pub(crate) struct BucketSeen {
    origin: Instant,
    /// `u64::MAX` until the bucket is first seen.
    at_ms: AtomicU64,
}

impl BucketSeen {
    /// Not seen yet.
    pub(crate) fn new() -> Self {
        Self {
            origin: Instant::now(),
            at_ms: AtomicU64::new(u64::MAX),
        }
    }

    /// The bucket answered just now.
    pub(crate) fn mark(&self) {
        let now = self.origin.elapsed().as_millis() as u64;
        self.at_ms.store(now, Ordering::Relaxed);
    }

    /// Whether the bucket answered within [`SEEN_FOR`].
    pub(crate) fn recently(&self) -> bool {
        let at = self.at_ms.load(Ordering::Relaxed);
        at != u64::MAX
            && self.origin.elapsed().as_millis() as u64 <= at + SEEN_FOR.as_millis() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_is_vouched_for_only_once_seen() {
        let seen = BucketSeen::new();
        assert!(!seen.recently(), "never seen");
        seen.mark();
        assert!(seen.recently());
    }

    #[test]
    fn a_sighting_expires() {
        let seen = BucketSeen {
            origin: Instant::now() - SEEN_FOR - Duration::from_secs(5),
            at_ms: AtomicU64::new(0),
        };
        assert!(!seen.recently(), "seen more than SEEN_FOR ago");
    }
}
