//! [`Number`]: an exact decimal that never passes through a float.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use crate::error::StoreError;
use digits::Digits;

mod arith;
mod digits;
mod parse;
mod serial;

/// The most digits a [`Number`] may have (PostgreSQL NUMERIC's limit: 131,072 before the point
/// and 16,383 after).
pub const MAX_DIGITS: usize = 147_455;

/// The largest exponent magnitude a [`Number`] may have: twice [`MAX_DIGITS`], beyond what any
/// backend stores, and small enough that printing a number in full stays cheap.
pub const MAX_EXPONENT: u64 = 2 * MAX_DIGITS as u64;

/// Magic newtype name under which a [`Number`] travels through serde, so that the value
/// serializer of this crate keeps every digit while other formats see a plain string.
pub(crate) const NUMBER_TOKEN: &str = "$store_core::Number";

/// An exact decimal number: `digits × 10^exponent`, with a sign.
///
/// Every digit written is kept and printed back, so `1.50` stays `1.50`, while comparison and
/// hashing are numeric (`1.50 == 1.5`). There is no float anywhere on the path; NaN and the
/// infinities cannot be represented and are rejected when converting from `f64`.
///
/// ```
/// use store_core::Number;
/// let n: Number = "12345678901234567890123456789012345678e-130".parse().unwrap();
/// assert_eq!(n.to_string(), "1.2345678901234567890123456789012345678E-93");
/// assert_eq!("1.50".parse::<Number>().unwrap(), "1.5".parse::<Number>().unwrap());
/// assert_eq!("1.50".parse::<Number>().unwrap().to_string(), "1.50");
/// assert!(Number::try_from(f64::NAN).is_err());
/// ```
#[derive(Clone)]
pub struct Number {
    negative: bool,
    /// ASCII digits without leading zeros; `"0"` for zero.
    digits: Digits,
    exponent: i32,
}

impl Number {
    /// Zero.
    pub fn zero() -> Self {
        Self {
            negative: false,
            digits: Digits::new("0"),
            exponent: 0,
        }
    }

    /// `digits × 10^exponent` with a sign, from ASCII decimal digits (leading zeros are
    /// dropped, every other digit kept): the constructor for decoders that already hold a
    /// number's digits, with no text to parse. `InvalidInput` for a character that is not a
    /// digit, or more than [`MAX_DIGITS`] digits or an exponent beyond [`MAX_EXPONENT`].
    ///
    /// ```
    /// use store_core::Number;
    /// let n = Number::from_digits(true, "01250", -2).unwrap();
    /// assert_eq!(n.to_string(), "-12.50");
    /// assert!(Number::from_digits(false, "12a", 0).is_err());
    /// ```
    pub fn from_digits(negative: bool, digits: &str, exponent: i64) -> Result<Self, StoreError> {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(StoreError::invalid_input(format!(
                "{digits:?} is not a sequence of decimal digits"
            )));
        }
        Self::from_parts(negative, digits, exponent)
    }

    fn from_parts(negative: bool, digits: &str, exponent: i64) -> Result<Self, StoreError> {
        let trimmed = digits.trim_start_matches('0');
        if trimmed.is_empty() {
            let exponent = i32::try_from(exponent.clamp(-(MAX_DIGITS as i64), 0)).unwrap_or(0);
            return Ok(Self {
                negative: false,
                digits: Digits::new("0"),
                exponent,
            });
        }
        if trimmed.len() > MAX_DIGITS {
            return Err(StoreError::invalid_input(format!(
                "number has {} digits; at most {MAX_DIGITS} are supported",
                trimmed.len()
            )));
        }
        if exponent.unsigned_abs() > MAX_EXPONENT {
            return Err(StoreError::invalid_input(format!(
                "number exponent {exponent} is out of range (at most ±{MAX_EXPONENT})"
            )));
        }
        let exponent = i32::try_from(exponent).map_err(|_| {
            StoreError::invalid_input(format!("number exponent {exponent} is out of range"))
        })?;
        Ok(Self {
            negative,
            digits: Digits::new(trimmed),
            exponent,
        })
    }

    /// Whether the number is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// Whether the number is zero (of any scale).
    pub fn is_zero(&self) -> bool {
        &*self.digits == "0"
    }

    /// The digits as written, without sign, point or leading zeros.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The power of ten the digits are scaled by.
    pub fn exponent(&self) -> i32 {
        self.exponent
    }

    /// The digits without trailing zeros, and the matching exponent.
    fn normalized(&self) -> (&str, i64) {
        if self.is_zero() {
            return ("0", 0);
        }
        let trimmed = self.digits.trim_end_matches('0');
        let dropped = (self.digits.len() - trimmed.len()) as i64;
        (trimmed, i64::from(self.exponent) + dropped)
    }

    /// Count of significant digits: trailing zeros are not counted (`1.50` and `150` have 2).
    pub fn significant_digits(&self) -> usize {
        self.normalized().0.len()
    }

    /// The exponent of the leading digit in scientific notation (`123.4` → 2). Zero gives 0.
    pub fn adjusted_exponent(&self) -> i64 {
        let (digits, exponent) = self.normalized();
        exponent + digits.len() as i64 - 1
    }

    /// Whether the number has no fractional part.
    pub fn is_integer(&self) -> bool {
        self.normalized().1 >= 0
    }

    /// The value as an `i128` if it is an integer in range.
    pub fn to_i128(&self) -> Option<i128> {
        let (digits, exponent) = self.normalized();
        if exponent < 0 || digits.len() as i64 + exponent > 39 {
            return None;
        }
        // Accumulate towards the sign so that i128::MIN, whose magnitude has no positive
        // i128, still converts.
        let mut value: i128 = 0;
        for byte in digits
            .bytes()
            .chain(std::iter::repeat_n(b'0', exponent as usize))
        {
            let digit = i128::from(byte - b'0');
            value = value.checked_mul(10)?;
            value = if self.negative {
                value.checked_sub(digit)?
            } else {
                value.checked_add(digit)?
            };
        }
        Some(value)
    }

    /// The value as a `u128` if it is a non-negative integer in range.
    pub fn to_u128(&self) -> Option<u128> {
        if self.negative && !self.is_zero() {
            return None;
        }
        let (digits, exponent) = self.normalized();
        if exponent < 0 || digits.len() as i64 + exponent > 39 {
            return None;
        }
        let mut value: u128 = 0;
        for byte in digits
            .bytes()
            .chain(std::iter::repeat_n(b'0', exponent as usize))
        {
            value = value
                .checked_mul(10)?
                .checked_add(u128::from(byte - b'0'))?;
        }
        Some(value)
    }

    /// The value as an `i64` if it is an integer in range.
    pub fn to_i64(&self) -> Option<i64> {
        // Up to 18 digits (with the zeros of the exponent) fit whatever they are.
        if self.exponent >= 0 && self.digits.len() + self.exponent as usize <= 18 {
            let magnitude = self
                .digits
                .bytes()
                .fold(0_i64, |value, digit| value * 10 + i64::from(digit - b'0'))
                * 10_i64.pow(self.exponent as u32);
            return Some(if self.negative { -magnitude } else { magnitude });
        }
        self.to_i128().and_then(|v| i64::try_from(v).ok())
    }

    /// The value as a `u64` if it is a non-negative integer in range.
    pub fn to_u64(&self) -> Option<u64> {
        self.to_i128().and_then(|v| u64::try_from(v).ok())
    }

    /// The nearest `f64` (correctly rounded; may lose digits, may be infinite for huge values).
    pub fn to_f64(&self) -> f64 {
        // Up to 15 digits are an integer below 2^53 and 10^22 is the largest exact power of
        // ten: one multiplication or division of two exact values rounds correctly.
        const POWERS: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ];
        let fast = (self.digits.len() <= 15)
            .then(|| self.digits.parse::<u64>().ok())
            .flatten()
            .zip(POWERS.get(self.exponent.unsigned_abs() as usize));
        if let Some((digits, &power)) = fast {
            let magnitude = if self.exponent >= 0 {
                digits as f64 * power
            } else {
                digits as f64 / power
            };
            return if self.negative { -magnitude } else { magnitude };
        }
        let sign = if self.negative { "-" } else { "" };
        format!("{sign}{}e{}", &*self.digits, self.exponent)
            .parse()
            .unwrap_or(f64::NAN)
    }

    /// Prints the number without an exponent, however many zeros that takes.
    pub fn to_plain_string(&self) -> String {
        let mut out = String::with_capacity(self.digits.len() + 4);
        let _ = self.write_plain(&mut out);
        out
    }

    /// Writes [`Self::to_plain_string`] to `out`.
    fn write_plain(&self, out: &mut impl fmt::Write) -> fmt::Result {
        if self.negative {
            out.write_char('-')?;
        }
        let zeros =
            |out: &mut dyn fmt::Write, n: usize| (0..n).try_for_each(|_| out.write_char('0'));
        let len = self.digits.len() as i64;
        let exponent = i64::from(self.exponent);
        if exponent >= 0 {
            out.write_str(&self.digits)?;
            zeros(out, exponent as usize)
        } else if len > -exponent {
            let (int, frac) = self.digits.split_at((len + exponent) as usize);
            out.write_str(int)?;
            out.write_char('.')?;
            out.write_str(frac)
        } else {
            out.write_str("0.")?;
            zeros(out, (-exponent - len) as usize)?;
            out.write_str(&self.digits)
        }
    }

    fn to_scientific_string(&self) -> String {
        let mut out = String::with_capacity(self.digits.len() + 8);
        if self.negative {
            out.push('-');
        }
        let (first, rest) = self.digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let adjusted = i64::from(self.exponent) + self.digits.len() as i64 - 1;
        out.push_str(&format!("E{adjusted:+}"));
        out
    }
}

impl fmt::Display for Number {
    /// Plain notation while it stays short (up to 40 padding zeros), scientific beyond.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.digits.len() as i64;
        let exponent = i64::from(self.exponent);
        let padding = if exponent >= 0 {
            exponent
        } else {
            (-exponent - len).max(0)
        };
        if padding <= 40 {
            self.write_plain(f)
        } else {
            f.write_str(&self.to_scientific_string())
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Number {}

impl Hash for Number {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let (digits, exponent) = self.normalized();
        (self.negative && !self.is_zero()).hash(state);
        digits.hash(state);
        exponent.hash(state);
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => {
                return if other.negative {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
            }
            (false, true) => {
                return if self.negative {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
            }
            _ => {}
        }
        if self.negative != other.negative {
            return if self.negative {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (a, _) = self.normalized();
        let (b, _) = other.normalized();
        let magnitude = self
            .adjusted_exponent()
            .cmp(&other.adjusted_exponent())
            .then_with(|| {
                let width = a.len().max(b.len());
                let pa = a.bytes().chain(std::iter::repeat(b'0')).take(width);
                let pb = b.bytes().chain(std::iter::repeat(b'0')).take(width);
                pa.cmp(pb)
            });
        if self.negative {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

macro_rules! number_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(value: $t) -> Self {
                let negative = value < 0;
                Number {
                    negative,
                    digits: Digits::of_integer(value.unsigned_abs() as u128),
                    exponent: 0,
                }
            }
        }
    )*};
}
number_from_int!(i8, i16, i32, i64, i128, isize);

macro_rules! number_from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(value: $t) -> Self {
                Number { negative: false, digits: Digits::of_integer(value as u128), exponent: 0 }
            }
        }
    )*};
}
number_from_unsigned!(u8, u16, u32, u64, u128, usize);

impl TryFrom<f64> for Number {
    type Error = StoreError;

    /// The shortest decimal that reads back as the same `f64`; NaN and infinities are rejected.
    fn try_from(value: f64) -> Result<Self, StoreError> {
        if !value.is_finite() {
            return Err(StoreError::invalid_input(format!(
                "{value} cannot be stored: only finite numbers are supported"
            )));
        }
        format!("{value:e}").parse()
    }
}

impl TryFrom<f32> for Number {
    type Error = StoreError;

    /// The shortest decimal that reads back as the same `f32`; NaN and infinities are rejected.
    fn try_from(value: f32) -> Result<Self, StoreError> {
        if !value.is_finite() {
            return Err(StoreError::invalid_input(format!(
                "{value} cannot be stored: only finite numbers are supported"
            )));
        }
        format!("{value:e}").parse()
    }
}

#[cfg(test)]
mod tests;
