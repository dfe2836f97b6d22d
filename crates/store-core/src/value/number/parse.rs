//! Reading a [`Number`] from decimal text.

use std::str::FromStr;

use super::Number;
use crate::error::StoreError;

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
        if frac_part.is_empty() {
            return Number::from_parts(negative, int_part, exponent);
        }
        let mut digits = String::with_capacity(int_part.len() + frac_part.len());
        digits.push_str(int_part);
        digits.push_str(frac_part);
        Number::from_parts(negative, &digits, exponent)
    }
}
