//! [`Reserve`]: the shared allowance of extra calls (retries, hedges) that every call earns a
//! share of, lock-free.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Millionths of a token: the unit a [`Reserve`] counts in.
const UNIT: u64 = 1_000_000;

/// An allowance of extra calls shared by clones: each call earns `ratio` of one, each extra
/// call spends a whole one, and at most `cap` are held (full at start).
///
/// Earning is one atomic load while the reserve is full (a healthy backend's steady state)
/// and one atomic add otherwise; spending is one compare-and-swap. The count may pass the cap
/// by what calls earning at the same moment add; every read caps it, so it behaves as a
/// reserve capped at each earning.
#[derive(Debug, Clone)]
pub(crate) struct Reserve {
    /// What has been earned and not spent, in millionths, capped when read.
    held: Arc<AtomicU64>,
    /// What one call earns, in millionths.
    earn: u64,
    /// The most that is held, in millionths.
    cap: u64,
}

impl Reserve {
    /// A full reserve of `cap` extra calls, earning `ratio` (clamped to 0.0–1.0) of one per
    /// call.
    pub(crate) fn new(ratio: f64, cap: u32) -> Self {
        let cap = u64::from(cap) * UNIT;
        Self {
            held: Arc::new(AtomicU64::new(cap)),
            earn: earning(ratio),
            cap,
        }
    }

    /// One call's share.
    pub(crate) fn earn(&self) {
        if self.earn > 0 && self.held.load(Ordering::Relaxed) < self.cap {
            self.held.fetch_add(self.earn, Ordering::Relaxed);
        }
    }

    /// Spends one extra call; `false` when less than one is held.
    pub(crate) fn spend(&self) -> bool {
        self.held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                let held = held.min(self.cap);
                held.checked_sub(UNIT)
            })
            .is_ok()
    }

    /// Whole extra calls held now.
    pub(crate) fn available(&self) -> u32 {
        u32::try_from(self.held.load(Ordering::Relaxed).min(self.cap) / UNIT).unwrap_or(u32::MAX)
    }
}

/// `ratio` in millionths: at most one whole token (so the count stays far from overflowing),
/// at least one millionth for any ratio above zero (so a tiny ratio still earns), nothing for
/// zero, a negative ratio or NaN.
fn earning(ratio: f64) -> u64 {
    if ratio.is_nan() || ratio <= 0.0 {
        return 0;
    }
    ((ratio.min(1.0) * UNIT as f64).round() as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_reserve_is_spent_then_earned_back_by_calls() {
        let reserve = Reserve::new(0.25, 2);
        assert_eq!(reserve.available(), 2);
        assert!(reserve.spend() && reserve.spend());
        assert!(!reserve.spend(), "nothing is left");
        for _ in 0..3 {
            reserve.earn();
        }
        assert!(!reserve.spend(), "three calls earn three quarters of one");
        reserve.earn();
        assert!(reserve.spend(), "the fourth completes one");
        assert!(!reserve.spend());
    }

    #[test]
    fn earning_never_holds_more_than_the_cap() {
        let reserve = Reserve::new(1.0, 3);
        for _ in 0..100 {
            reserve.earn();
        }
        assert_eq!(reserve.available(), 3);
        let spent = (0..10).filter(|_| reserve.spend()).count();
        assert_eq!(spent, 3);
    }

    #[test]
    fn clones_share_one_reserve_and_a_zero_cap_allows_nothing() {
        let reserve = Reserve::new(0.5, 1);
        let clone = reserve.clone();
        assert!(clone.spend());
        assert!(!reserve.spend());
        let none = Reserve::new(1.0, 0);
        none.earn();
        assert!(!none.spend());
    }

    #[test]
    fn ratios_become_millionths_and_a_tiny_one_still_earns() {
        assert_eq!(earning(0.2), 200_000);
        assert_eq!(earning(7.0), UNIT);
        assert_eq!(earning(1e-9), 1);
        assert_eq!(earning(0.0), 0);
        assert_eq!(earning(-1.0), 0);
        assert_eq!(earning(f64::NAN), 0);
    }

    #[test]
    fn calls_earning_at_once_are_all_counted() {
        let reserve = Reserve::new(0.001, 10);
        for _ in 0..10_000 {
            assert!(reserve.spend() || reserve.available() == 0);
            if reserve.available() == 0 {
                break;
            }
        }
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| (0..1_000).for_each(|_| reserve.earn()));
            }
        });
        assert_eq!(reserve.available(), 4, "4,000 calls at 0.001 earn 4");
    }
}
