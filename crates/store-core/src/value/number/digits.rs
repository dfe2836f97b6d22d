//! A [`Number`](super::Number)'s digits: held in place when short, on the heap otherwise.
//!
//! Numbers are made on every decoded row and attribute, and nearly all of them (ids, counts,
//! prices, timestamps) have at most [`INLINE`] digits: those cost no allocation.

use std::fmt;
use std::ops::Deref;

/// The most digits held in place: 22 fit beside the length in the 24 bytes the heap form
/// needs anyway, which covers every `i64`/`u64` (20 digits at most).
const INLINE: usize = 22;

/// ASCII decimal digits.
#[derive(Clone)]
pub(crate) enum Digits {
    /// At most [`INLINE`] digits, the first `len` of `bytes`.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// More digits than fit in place.
    Heap(Box<str>),
}

impl Digits {
    /// `digits`, which the caller has checked are ASCII decimal digits.
    pub(crate) fn new(digits: &str) -> Self {
        debug_assert!(digits.bytes().all(|b| b.is_ascii_digit()));
        if digits.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..digits.len()].copy_from_slice(digits.as_bytes());
            Self::Inline {
                len: digits.len() as u8,
                bytes,
            }
        } else {
            Self::Heap(digits.into())
        }
    }

    /// The decimal digits of `magnitude`, without the formatter (no `i64` or `u64` needs
    /// the heap).
    pub(crate) fn of_integer(magnitude: u128) -> Self {
        if let Ok(small) = u64::try_from(magnitude) {
            // The common case: written in place, one division by a constant per digit, no
            // 128-bit arithmetic (a u64 has at most 20 digits).
            let len = small.checked_ilog10().map_or(1, |log| log as usize + 1);
            let mut bytes = [0u8; INLINE];
            let mut at = len;
            put_u64(&mut bytes, &mut at, small, 1);
            return Self::Inline {
                len: len as u8,
                bytes,
            };
        }
        // u128::MAX has 39 digits; nineteen are written at a time, the low chunks zero-padded
        // in full.
        const CHUNK: u128 = 10_000_000_000_000_000_000;
        let mut buffer = [0u8; 39];
        let mut at = buffer.len();
        let mut rest = magnitude;
        while rest > u128::from(u64::MAX) {
            put_u64(&mut buffer, &mut at, (rest % CHUNK) as u64, 19);
            rest /= CHUNK;
        }
        put_u64(&mut buffer, &mut at, rest as u64, 1);
        // Only ASCII digits were written.
        Self::new(std::str::from_utf8(&buffer[at..]).expect("ASCII digits"))
    }
}

/// Writes `n` in decimal just before `*at` in `buffer`, zero-padded to at least `min_digits`.
fn put_u64(buffer: &mut [u8], at: &mut usize, mut n: u64, min_digits: usize) {
    let padded_to = *at - min_digits;
    loop {
        *at -= 1;
        buffer[*at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 && *at <= padded_to {
            break;
        }
    }
}

impl Deref for Digits {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Self::Inline { len, bytes } => {
                // Only ASCII digits are ever stored (see `new`).
                std::str::from_utf8(&bytes[..usize::from(*len)]).expect("ASCII digits")
            }
            Self::Heap(digits) => digits,
        }
    }
}

impl fmt::Debug for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_digits_stay_in_place_and_long_ones_go_to_the_heap() {
        for text in ["0", "7", "1234567890123456789012"] {
            let digits = Digits::new(text);
            assert!(matches!(digits, Digits::Inline { .. }), "{text}");
            assert_eq!(&*digits, text);
        }
        let long = "12345678901234567890123";
        assert!(matches!(Digits::new(long), Digits::Heap(_)));
        assert_eq!(&*Digits::new(long), long);
        assert_eq!(std::mem::size_of::<Digits>(), 24);
    }

    #[test]
    fn integers_print_as_the_formatter_prints_them() {
        let cases = [
            0u128,
            9,
            10,
            u128::from(u64::MAX) - 1,
            u128::from(u64::MAX),
            u128::from(u64::MAX) + 1,
            10_000_000_000_000_000_000,
            10_000_000_000_000_000_000 * 10_000_000_000_000_000_000,
            u128::MAX,
            u128::MAX - 1,
        ];
        for n in cases {
            assert_eq!(&*Digits::of_integer(n), n.to_string(), "{n}");
        }
    }
}
