//! [`Number`]: an exact decimal that never passes through a float.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::error::StoreError;

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
    digits: Box<str>,
    exponent: i32,
}

impl Number {
    /// Zero.
    pub fn zero() -> Self {
        Self {
            negative: false,
            digits: "0".into(),
            exponent: 0,
        }
    }

    fn from_parts(negative: bool, digits: &str, exponent: i64) -> Result<Self, StoreError> {
        let trimmed = digits.trim_start_matches('0');
        if trimmed.is_empty() {
            let exponent = i32::try_from(exponent.clamp(-(MAX_DIGITS as i64), 0)).unwrap_or(0);
            return Ok(Self {
                negative: false,
                digits: "0".into(),
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
            digits: trimmed.into(),
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
        self.to_i128().and_then(|v| i64::try_from(v).ok())
    }

    /// The value as a `u64` if it is a non-negative integer in range.
    pub fn to_u64(&self) -> Option<u64> {
        self.to_i128().and_then(|v| u64::try_from(v).ok())
    }

    /// The nearest `f64` (correctly rounded; may lose digits, may be infinite for huge values).
    pub fn to_f64(&self) -> f64 {
        let sign = if self.negative { "-" } else { "" };
        format!("{sign}{}e{}", self.digits, self.exponent)
            .parse()
            .unwrap_or(f64::NAN)
    }

    /// Prints the number without an exponent, however many zeros that takes.
    pub fn to_plain_string(&self) -> String {
        let mut out = String::with_capacity(self.digits.len() + 4);
        if self.negative {
            out.push('-');
        }
        let len = self.digits.len() as i64;
        let exponent = i64::from(self.exponent);
        if exponent >= 0 {
            out.push_str(&self.digits);
            out.extend(std::iter::repeat_n('0', exponent as usize));
        } else if len > -exponent {
            let (int, frac) = self.digits.split_at((len + exponent) as usize);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exponent - len) as usize));
            out.push_str(&self.digits);
        }
        out
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

impl FromStr for Number {
    type Err = StoreError;

    /// Parses decimal text: an optional sign, digits with an optional point, an optional
    /// exponent (`1.5`, `-0.001`, `12e-3`, `1E+125`). No spaces, no `NaN`, no `Infinity`.
    fn from_str(text: &str) -> Result<Self, StoreError> {
        let invalid = || {
            let shown: String = text.chars().take(64).collect();
            StoreError::invalid_input(format!(
                "`{shown}` is not a decimal number (expected digits with an optional sign, point and exponent)"
            ))
        };
        let (negative, unsigned) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exp_text) = match unsigned.find(['e', 'E']) {
            Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
            None => (unsigned, None),
        };
        let (int_part, frac_part) = match mantissa.split_once('.') {
            Some((i, f)) => (i, f),
            None => (mantissa, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        if !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return Err(invalid());
        }
        let mut exponent: i64 = match exp_text {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid());
                }
                e.parse::<i64>().map_err(|_| invalid())?
            }
        };
        exponent = exponent
            .checked_sub(frac_part.len() as i64)
            .ok_or_else(invalid)?;
        let mut digits = String::with_capacity(int_part.len() + frac_part.len());
        digits.push_str(int_part);
        digits.push_str(frac_part);
        Number::from_parts(negative, &digits, exponent)
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
            f.write_str(&self.to_plain_string())
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
                let negative = value < 0 as $t;
                let text = value.to_string();
                let digits = text.trim_start_matches('-');
                Number { negative, digits: digits.into(), exponent: 0 }
            }
        }
    )*};
}
number_from_int!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

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

impl serde::Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(NUMBER_TOKEN, &self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(NUMBER_TOKEN, NumberVisitor)
    }
}

struct NumberVisitor;

impl<'de> serde::de::Visitor<'de> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number or a string holding one")
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Number, E> {
        Number::try_from(v).map_err(E::custom)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Number, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_newtype_struct<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Number, D::Error> {
        deserializer.deserialize_any(self)
    }

    /// The one-entry map `{NUMBER_TOKEN: digits}` that carries numbers no float can hold
    /// through serde's buffered paths.
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Number, A::Error> {
        match map.next_key::<String>()? {
            Some(key) if key == NUMBER_TOKEN => {
                let digits: String = map.next_value()?;
                digits.parse().map_err(serde::de::Error::custom)
            }
            _ => Err(serde::de::Error::custom("expected a number, found a map")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        s.parse().unwrap()
    }

    #[test]
    fn keeps_every_digit_and_the_scale() {
        for text in [
            "0",
            "1.50",
            "-0.001",
            "12345678901234567890123456789012345678",
            "0.12345678901234567890123456789012345678",
            "-99999999999999999999999999999999999999",
            "1234567890123456789012345678.0123456789",
        ] {
            assert_eq!(n(text).to_string(), text);
        }
    }

    #[test]
    fn dynamodb_range_edges_round_trip() {
        let smallest = n("1E-130");
        assert_eq!(smallest.to_string(), "1E-130");
        assert_eq!(n(&smallest.to_string()), smallest);
        let largest = n("9.9999999999999999999999999999999999999E+125");
        assert_eq!(largest.significant_digits(), 38);
        assert_eq!(largest.adjusted_exponent(), 125);
        assert_eq!(
            n(&largest.to_string()).to_plain_string(),
            largest.to_plain_string()
        );
        assert_eq!(n(&largest.to_plain_string()), largest);
    }

    #[test]
    fn comparison_is_numeric() {
        assert_eq!(n("1.50"), n("1.5"));
        assert_eq!(n("-0"), n("0.000"));
        assert!(n("-2") < n("-1.5"));
        assert!(n("0.1") < n("0.10001"));
        assert!(n("1E+3") > n("999.999"));
        assert!(n("-1E-130") < n("0"));
    }

    #[test]
    fn rejects_garbage_nan_and_infinity() {
        for text in [
            "", "-", ".", "1e", "1.2.3", "NaN", "inf", " 1", "1 ", "0x10", "1e+",
        ] {
            assert!(text.parse::<Number>().is_err(), "{text:?} parsed");
        }
        assert!(Number::try_from(f64::INFINITY).is_err());
        assert!(Number::try_from(f64::NAN).is_err());
    }

    #[test]
    fn floats_convert_to_their_shortest_decimal() {
        assert_eq!(Number::try_from(0.1f64).unwrap().to_string(), "0.1");
        assert_eq!(Number::try_from(-2.5e-10f64).unwrap().to_f64(), -2.5e-10);
    }

    #[test]
    fn integer_conversions_are_exact() {
        assert_eq!(n("1.0E+2").to_i64(), Some(100));
        assert_eq!(n("1.5").to_i64(), None);
        assert_eq!(Number::from(u64::MAX).to_u64(), Some(u64::MAX));
        assert_eq!(Number::from(i128::MIN).to_i128(), Some(i128::MIN));
        assert_eq!(n("-1").to_u64(), None);
    }

    #[test]
    fn addition_is_exact() {
        let sum = n("0.1").checked_add(&n("0.2")).unwrap();
        assert_eq!(sum.to_string(), "0.3");
        assert_eq!(
            n("5").checked_add(&n("-7.25")).unwrap().to_string(),
            "-2.25"
        );
        assert_eq!(
            n("1E+20").checked_add(&n("1")).unwrap().to_string(),
            "100000000000000000001"
        );
        assert!(n("-3").checked_add(&n("3")).unwrap().is_zero());
    }
}
