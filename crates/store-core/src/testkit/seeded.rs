//! A small deterministic random source for seeded tests: the same seed gives the same
//! sequence on every machine, so a failing case can be replayed.

/// Xorshift64 numbers from a seed.
///
/// ```
/// use store_core::testkit::Seeded;
/// let mut a = Seeded::new(7);
/// let mut b = Seeded::new(7);
/// assert_eq!(a.below(100), b.below(100));
/// assert!(a.below(10) < 10);
/// ```
#[derive(Debug, Clone)]
pub struct Seeded(u64);

impl Seeded {
    /// A source started from `seed` (zero is taken as one: xorshift never leaves zero).
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next number of the sequence.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..bound` (`bound` above zero).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}
