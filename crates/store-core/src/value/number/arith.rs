//! Exact arithmetic on [`Number`]s: sums and negation, digit by digit.

use std::cmp::Ordering;

use super::{MAX_DIGITS, Number};
use crate::error::StoreError;

impl Number {
    /// Exact sum. Fails only when the result would exceed [`MAX_DIGITS`].
    pub fn checked_add(&self, other: &Number) -> Result<Number, StoreError> {
        let exponent = self.exponent.min(other.exponent);
        let a = scaled_digits(self, exponent)?;
        let b = scaled_digits(other, exponent)?;
        let (negative, digits) = match (self.negative, other.negative) {
            (false, false) => (false, add_magnitudes(&a, &b)),
            (true, true) => (true, add_magnitudes(&a, &b)),
            (a_neg, _) => match compare_magnitudes(&a, &b) {
                Ordering::Less => (!a_neg, sub_magnitudes(&b, &a)),
                _ => (a_neg, sub_magnitudes(&a, &b)),
            },
        };
        Number::from_parts(negative, &digits, i64::from(exponent))
    }

    /// The number with its sign flipped.
    pub fn negated(&self) -> Number {
        let mut out = self.clone();
        out.negative = !self.negative && !self.is_zero();
        out
    }
}

/// The digits of `n` rescaled to `exponent` (which must not exceed `n.exponent`).
fn scaled_digits(n: &Number, exponent: i32) -> Result<Vec<u8>, StoreError> {
    let pad = (i64::from(n.exponent) - i64::from(exponent)) as usize;
    if n.digits.len() + pad > MAX_DIGITS {
        return Err(StoreError::invalid_input(
            "sum of numbers this far apart in magnitude exceeds the supported digits",
        ));
    }
    let mut out: Vec<u8> = n.digits.bytes().map(|b| b - b'0').collect();
    out.extend(std::iter::repeat_n(0, pad));
    Ok(out)
}

fn compare_magnitudes(a: &[u8], b: &[u8]) -> Ordering {
    let a = strip_leading_zeros(a);
    let b = strip_leading_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn strip_leading_zeros(d: &[u8]) -> &[u8] {
    let start = d.iter().position(|&x| x != 0).unwrap_or(d.len());
    &d[start..]
}

fn add_magnitudes(a: &[u8], b: &[u8]) -> String {
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let (mut i, mut j, mut carry) = (a.len(), b.len(), 0u8);
    while i > 0 || j > 0 || carry > 0 {
        let mut sum = carry;
        if i > 0 {
            i -= 1;
            sum += a[i];
        }
        if j > 0 {
            j -= 1;
            sum += b[j];
        }
        out.push(b'0' + sum % 10);
        carry = sum / 10;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// `a - b` for magnitudes with `a >= b`.
fn sub_magnitudes(a: &[u8], b: &[u8]) -> String {
    let mut out = Vec::with_capacity(a.len());
    let (mut j, mut borrow) = (b.len(), 0i8);
    for i in (0..a.len()).rev() {
        let mut d = a[i] as i8 - borrow;
        if j > 0 {
            j -= 1;
            d -= b[j] as i8;
        }
        borrow = if d < 0 { 1 } else { 0 };
        out.push(b'0' + (d + 10 * borrow) as u8);
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}
