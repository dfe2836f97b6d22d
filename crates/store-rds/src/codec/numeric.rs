//! PostgreSQL `numeric` in its binary wire format, to and from an exact [`Number`].
//!
//! The wire format, as PostgreSQL's `numeric_send` writes it and `numeric_recv` reads it:
//! `ndigits u16, weight i16, sign u16, dscale u16`, then `ndigits` groups of four decimal
//! digits (each `0..=9999`), `weight` being the power of 10000 of the first group. The digit
//! count is unsigned: a value at numeric's limits (131,072 digits before the point and 16,383
//! after) has 36,864 groups, more than an `i16` holds. No float is involved anywhere.

use bytes::{BufMut, BytesMut};
use store_core::{Number, StoreError};

/// The most decimal digits `numeric` holds before the point.
const MAX_INTEGER_DIGITS: i64 = 131_072;
/// The most decimal digits `numeric` holds after the point.
const MAX_SCALE: i64 = 16_383;

const SIGN_POSITIVE: u16 = 0x0000;
const SIGN_NEGATIVE: u16 = 0x4000;
const SIGN_NAN: u16 = 0xC000;
const SIGN_PINF: u16 = 0xD000;
const SIGN_NINF: u16 = 0xF000;
/// The bits of `dscale` PostgreSQL allows (`NUMERIC_DSCALE_MASK`).
const DSCALE_MASK: u16 = 0x3FFF;

/// Writes `n` as a binary `numeric`, keeping every digit and its scale (`1.50` has scale 2).
///
/// The digits are gathered into base-10000 groups as they are read, straight into `out`: the
/// digit `10^p` (`p` its power, negative after the point) belongs to the group of weight
/// `p / 4` (rounded down) and counts `10^(p mod 4)` in it. Zero groups at either end are left
/// out, as PostgreSQL leaves them.
pub(crate) fn encode(n: &Number, out: &mut BytesMut) -> Result<(), StoreError> {
    const POWERS: [i16; 4] = [1, 10, 100, 1000];
    let digits = n.digits().as_bytes();
    let exponent = i64::from(n.exponent());
    let scale = (-exponent).max(0);
    let integer_len = digits.len() as i64 + exponent;
    if scale > MAX_SCALE || integer_len > MAX_INTEGER_DIGITS {
        return Err(out_of_range(n));
    }
    let header = out.len();
    out.reserve(8 + digits.len().div_ceil(4) * 2 + 2);
    out.put_bytes(0, 8);
    // The weight of the first group written (the first that is not zero), and where the
    // groups end without their trailing zeros.
    let mut first_weight = None;
    let mut end = out.len();
    let mut weight = (integer_len - 1).div_euclid(4);
    let mut group = 0i16;
    let mut put = |group: i16, weight: i64, out: &mut BytesMut| {
        if group == 0 && first_weight.is_none() {
            return;
        }
        first_weight.get_or_insert(weight);
        out.put_i16(group);
        if group != 0 {
            end = out.len();
        }
    };
    for (i, &d) in digits.iter().enumerate() {
        let power = integer_len - 1 - i as i64;
        if power.div_euclid(4) != weight {
            put(group, weight, out);
            group = 0;
            weight = power.div_euclid(4);
        }
        group += i16::from(d - b'0') * POWERS[power.rem_euclid(4) as usize];
    }
    put(group, weight, out);
    out.truncate(end);
    // Within numeric's range both fit: at most 36,864 groups, and a weight in -4,096..=32,767.
    let ndigits = u16::try_from((end - header - 8) / 2).map_err(|_| out_of_range(n))?;
    let weight = match first_weight {
        Some(w) if ndigits > 0 => i16::try_from(w).map_err(|_| out_of_range(n))?,
        _ => 0,
    };
    let sign = if n.is_negative() && ndigits > 0 {
        SIGN_NEGATIVE
    } else {
        SIGN_POSITIVE
    };
    let head = &mut out[header..header + 8];
    head[0..2].copy_from_slice(&ndigits.to_be_bytes());
    head[2..4].copy_from_slice(&weight.to_be_bytes());
    head[4..6].copy_from_slice(&sign.to_be_bytes());
    head[6..8].copy_from_slice(&(scale as u16).to_be_bytes());
    Ok(())
}

fn out_of_range(n: &Number) -> StoreError {
    let text = n.to_string();
    let shown = if text.len() > 40 {
        format!("a number of {} characters", text.len())
    } else {
        text
    };
    StoreError::invalid_input(format!(
        "{shown} is out of numeric's range (at most {MAX_INTEGER_DIGITS} digits before the \
         point and {MAX_SCALE} after)"
    ))
}

/// Reads a binary `numeric`, keeping its display scale: `42` in a `numeric(38,10)` column is
/// `42.0000000000`. NaN and the infinities have no exact [`Number`] and are refused.
pub(crate) fn decode(raw: &[u8]) -> Result<Number, StoreError> {
    let bad = || StoreError::internal("malformed numeric from the server");
    if raw.len() < 8 {
        return Err(bad());
    }
    let u16_at = |o: usize| -> Result<u16, StoreError> {
        raw.get(o..o + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(bad)
    };
    // Each field read with PostgreSQL's own width and signedness (numeric_recv).
    let ndigits = usize::from(u16_at(0)?);
    let weight = i64::from(u16_at(2)? as i16);
    let sign = u16_at(4)?;
    let dscale = u16_at(6)?;
    match sign {
        SIGN_NAN | SIGN_PINF | SIGN_NINF => {
            let what = match sign {
                SIGN_NAN => "NaN",
                SIGN_PINF => "Infinity",
                _ => "-Infinity",
            };
            return Err(StoreError::unsupported(format!(
                "numeric {what} has no exact number; filter it out or cast the column to text"
            )));
        }
        SIGN_POSITIVE | SIGN_NEGATIVE => {}
        _ => return Err(bad()),
    }
    if dscale & DSCALE_MASK != dscale || raw.len() != 8 + 2 * ndigits {
        return Err(bad());
    }
    let dscale = usize::from(dscale);
    let group_at = |i: usize| u16::from_be_bytes([raw[8 + 2 * i], raw[9 + 2 * i]]);
    if (0..ndigits).any(|i| group_at(i) > 9999) {
        return Err(bad());
    }
    // Group `i` stands for 10000^(weight - i): the integer part is groups 0..=weight, the
    // fraction the groups after, read as far as the display scale asks. Missing groups are 0.
    let group = |i: i64| -> u16 {
        usize::try_from(i)
            .ok()
            .filter(|&i| i < ndigits)
            .map_or(0, group_at)
    };
    // The digits are written straight into a buffer (on the stack when they fit, as nearly
    // all do) and become the number with no text to format or parse.
    let integer_groups = usize::try_from(weight + 1).unwrap_or(0);
    let len = (integer_groups * 4).max(1) + dscale;
    let mut stack = [0u8; 64];
    let mut heap = Vec::new();
    let digits: &mut [u8] = if len <= stack.len() {
        &mut stack[..len]
    } else {
        heap.resize(len, 0);
        &mut heap
    };
    let mut at = 0;
    if integer_groups == 0 {
        put_group(digits, &mut at, 0, 1);
    }
    for i in 0..integer_groups {
        put_group(digits, &mut at, group(i as i64), 4);
    }
    let mut k = 1;
    while at < len {
        let count = (len - at).min(4);
        put_group(digits, &mut at, group(weight + k), count);
        k += 1;
    }
    let digits = std::str::from_utf8(digits).map_err(|_| bad())?;
    Number::from_digits(sign == SIGN_NEGATIVE, digits, -(dscale as i64))
}

/// Writes the first `count` of the four decimal digits of `group` (zero-padded) at `*at`.
fn put_group(out: &mut [u8], at: &mut usize, group: u16, count: usize) {
    let mut four = [0u8; 4];
    let mut rest = group;
    for d in four.iter_mut().rev() {
        *d = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out[*at..*at + count].copy_from_slice(&four[..count]);
    *at += count;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        let n: Number = text.parse().unwrap();
        let mut buf = BytesMut::new();
        encode(&n, &mut buf).unwrap();
        decode(&buf).unwrap().to_plain_string()
    }

    #[test]
    fn values_keep_every_digit_and_scale() {
        for (input, expected) in [
            ("0", "0"),
            ("42", "42"),
            ("-42.50", "-42.50"),
            ("0.0000000001", "0.0000000001"),
            (
                "1234567890123456789012345678.1234567891",
                "1234567890123456789012345678.1234567891",
            ),
            (
                "-0.000000000000000000000000000001",
                "-0.000000000000000000000000000001",
            ),
            ("10000", "10000"),
            ("9999.9999", "9999.9999"),
            ("1E+8", "100000000"),
            ("0.00", "0.00"),
        ] {
            assert_eq!(round_trip(input), expected, "{input}");
        }
    }

    #[test]
    fn seeded_numbers_of_every_shape_round_trip() {
        // Up to 12 digits with the point anywhere in or around them, and exponents on both
        // sides, so groups split at every offset and zero groups fall at either end or inside.
        let mut seeded = store_core::testkit::Seeded::new(0x9e37_79b9_7f4a_7c15);
        let mut next = |bound| seeded.below(bound);
        for _ in 0..20_000 {
            let len = 1 + next(12) as usize;
            let digits: String = (0..len)
                .map(|_| char::from(b'0' + [0, 0, 0, 1, 5, 9][next(6) as usize]))
                .collect();
            let sign = if next(2) == 0 { "-" } else { "" };
            let text = match next(3) {
                0 => format!("{sign}{digits}"),
                1 => {
                    let at = next(len as u64 + 1) as usize;
                    let int = if at == 0 { "0" } else { &digits[..at] };
                    format!("{sign}{int}.{}", &digits[at..])
                }
                _ => format!("{sign}{digits}E{}", next(21) as i64 - 10),
            };
            let n: Number = text.parse().unwrap();
            let mut buf = BytesMut::new();
            encode(&n, &mut buf).unwrap();
            let back = decode(&buf).unwrap();
            assert_eq!(back.to_plain_string(), n.to_plain_string(), "{text}");
        }
    }

    #[test]
    fn wire_format_matches_postgres() {
        // 12345.678 → ndigits 3, weight 1, groups [1, 2345, 6780], dscale 3.
        let mut buf = BytesMut::new();
        encode(&"12345.678".parse().unwrap(), &mut buf).unwrap();
        assert_eq!(
            &buf[..],
            &[0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]
        );
    }

    #[test]
    fn huge_exponents_are_refused_not_allocated() {
        let n: Number = "1E+200000".parse().unwrap();
        assert!(encode(&n, &mut BytesMut::new()).is_err());
    }

    #[test]
    fn nan_is_refused() {
        let raw = [0, 0, 0, 0, 0xC0, 0, 0, 0];
        assert!(decode(&raw).is_err());
    }

    /// `digits` nines, then a point and `scale` digits cycling 1..9 (so no group is zero).
    fn wide(negative: bool, digits: usize, scale: usize, trailing_zeros: usize) -> String {
        let mut s = String::new();
        if negative {
            s.push('-');
        }
        s.push_str(&"9".repeat(digits.max(1)));
        if scale > 0 {
            s.push('.');
            let frac: String = (0..scale - trailing_zeros)
                .map(|i| char::from(b'1' + (i % 9) as u8))
                .collect();
            s.push_str(&frac);
            s.push_str(&"0".repeat(trailing_zeros));
        }
        s
    }

    #[test]
    fn numeric_extremes_round_trip_exactly() {
        for (negative, digits, scale, zeros) in [
            (false, 131_072, 0, 0),
            (false, 1, 16_383, 0),
            (false, 131_072, 16_383, 0),
            (true, 131_072, 16_383, 0),
            (true, 131_072, 16_383, 5),
            (false, 131_068, 0, 0),
        ] {
            let text = wide(negative, digits, scale, zeros);
            assert_eq!(
                round_trip(&text),
                text,
                "{digits} digits before the point, {scale} after, negative {negative}"
            );
        }
    }

    #[test]
    fn the_digit_count_is_unsigned_on_the_wire() {
        // 131,072 + 16,383 digits are 36,864 groups: above i16::MAX, as PostgreSQL sends it.
        let text = wide(false, 131_072, 16_383, 0);
        let mut buf = BytesMut::new();
        encode(&text.parse().unwrap(), &mut buf).unwrap();
        assert_eq!(u16::from_be_bytes([buf[0], buf[1]]), 36_864);
        assert_eq!(i16::from_be_bytes([buf[2], buf[3]]), 32_767);
        assert_eq!(u16::from_be_bytes([buf[6], buf[7]]), 16_383);
    }

    #[test]
    fn one_past_the_limits_is_refused() {
        for text in [wide(false, 131_073, 0, 0), wide(false, 1, 16_384, 0)] {
            let err = encode(&text.parse().unwrap(), &mut BytesMut::new()).unwrap_err();
            assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
            assert!(
                err.message().len() < 200,
                "the message names the size, not the digits"
            );
        }
    }

    #[test]
    fn malformed_headers_are_errors_not_values() {
        // A digit group above 9999, a dscale outside the mask, and a body shorter or longer
        // than ndigits says.
        let cases: [&[u8]; 4] = [
            &[0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10],
            &[0, 0, 0, 0, 0, 0, 0x40, 0],
            &[0, 2, 0, 0, 0, 0, 0, 0, 0, 1],
            &[0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1],
        ];
        for raw in cases {
            assert!(decode(raw).is_err(), "{raw:?}");
        }
    }
}
