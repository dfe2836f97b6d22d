//! The order-preserving key encoding.
//!
//! | key value | bytes |
//! |---|---|
//! | string, bytes | the bytes with each `0x00` written `0x00 0xFF`, then `0x00 0x01` |
//! | number zero (any scale) | `0x02` |
//! | positive number | `0x03`, the adjusted exponent as a big-endian `i32` with its sign bit flipped, the significant digits as ASCII (trailing zeros dropped), `0x00` |
//! | negative number | `0x01`, then the positive form of its magnitude after `0x03`, every byte inverted |
//!
//! Every encoding is prefix-free (no encoding is a proper prefix of another), so a value's
//! encoding followed by anything still sorts by the value first.

use store_core::{DocKey, KeyType, KeyValue, Number};

const NEGATIVE: u8 = 0x01;
const ZERO: u8 = 0x02;
const POSITIVE: u8 = 0x03;

/// Appends the order-preserving encoding of one key value to `out`.
///
/// ```
/// use store_core::KeyValue;
/// use store_redb::codec::encode_key_value;
/// let enc = |n: &str| encode_key_value(&KeyValue::Number(n.parse().unwrap()));
/// assert!(enc("-10") < enc("-2.5"));
/// assert!(enc("-2.5") < enc("0"));
/// assert!(enc("0.001") < enc("2"));
/// assert!(enc("10") < enc("1E+20"));
/// assert_eq!(enc("1.5"), enc("1.50"));
/// ```
pub fn encode_key_value(value: &KeyValue) -> Vec<u8> {
    let mut out = Vec::new();
    push_key_value(&mut out, value);
    out
}

/// The encoding of a whole primary key: the partition value's encoding, then the sort value's.
pub fn encode_key(key: &DocKey) -> Vec<u8> {
    let mut out = Vec::new();
    push_key_value(&mut out, &key.partition);
    if let Some(sort) = &key.sort {
        push_key_value(&mut out, sort);
    }
    out
}

/// The encoding of a number key value.
pub fn encode_number(number: &Number) -> Vec<u8> {
    let mut out = Vec::new();
    push_number(&mut out, number);
    out
}

/// The bytes every encoded string or bytes value starting with `prefix` starts with: the
/// escaped prefix without its terminator (for `begins_with` ranges).
pub fn encode_sort_prefix(prefix: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + 2);
    push_escaped(&mut out, prefix);
    out
}

/// The length of the first encoded key value at the start of `bytes` (one of `key_type`), or
/// `None` when `bytes` does not start with a whole one.
pub(crate) fn key_value_len(bytes: &[u8], key_type: KeyType) -> Option<usize> {
    match key_type {
        KeyType::String | KeyType::Bytes => {
            let mut i = 0;
            while i + 1 < bytes.len() {
                match (bytes[i], bytes[i + 1]) {
                    (0x00, 0x01) => return Some(i + 2),
                    (0x00, _) => i += 2,
                    _ => i += 1,
                }
            }
            None
        }
        KeyType::Number => match *bytes.first()? {
            ZERO => Some(1),
            POSITIVE => Some(5 + bytes.get(5..)?.iter().position(|&b| b == 0x00)? + 1),
            NEGATIVE => Some(5 + bytes.get(5..)?.iter().position(|&b| b == 0xFF)? + 1),
            _ => None,
        },
    }
}

pub(crate) fn push_key_value(out: &mut Vec<u8>, value: &KeyValue) {
    match value {
        KeyValue::String(s) => push_bytes(out, s.as_bytes()),
        KeyValue::Bytes(b) => push_bytes(out, b),
        KeyValue::Number(n) => push_number(out, n),
    }
}

fn push_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    push_escaped(out, bytes);
    out.extend_from_slice(&[0x00, 0x01]);
}

fn push_number(out: &mut Vec<u8>, number: &Number) {
    if number.is_zero() {
        out.push(ZERO);
        return;
    }
    let digits = number.digits().trim_end_matches('0');
    // |adjusted exponent| <= MAX_EXPONENT + MAX_DIGITS, far inside i32.
    let adjusted = number.adjusted_exponent();
    let adjusted =
        i32::try_from(adjusted).unwrap_or(if adjusted < 0 { i32::MIN } else { i32::MAX });
    let start = out.len();
    out.push(if number.is_negative() {
        NEGATIVE
    } else {
        POSITIVE
    });
    out.extend_from_slice(&((adjusted as u32) ^ 0x8000_0000).to_be_bytes());
    out.extend_from_slice(digits.as_bytes());
    out.push(0x00);
    if number.is_negative() {
        for b in &mut out[start + 1..] {
            *b = !*b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Vec<u8> {
        encode_number(&text.parse().unwrap())
    }

    #[test]
    fn numbers_sort_numerically() {
        let sorted = [
            "-1E+125",
            "-12345678901234567890123456789012345678",
            "-10",
            "-2.5",
            "-2",
            "-1.2",
            "-1",
            "-1E-130",
            "0",
            "1E-130",
            "0.001",
            "1",
            "1.2",
            "2",
            "10",
            "1E+20",
            "99999999999999999999999999999999999999",
            "1E+125",
        ];
        for pair in sorted.windows(2) {
            assert!(n(pair[0]) < n(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(n("0"), n("-0.000"));
        assert_eq!(n("120"), n("1.2E2"));
    }

    #[test]
    fn the_first_value_of_a_key_is_found() {
        let key = DocKey::partition(KeyValue::Number("-1.5".parse().unwrap())).with_sort("a\0b");
        let bytes = encode_key(&key);
        let first = key_value_len(&bytes, KeyType::Number).unwrap();
        assert_eq!(&bytes[..first], encode_key_value(&key.partition).as_slice());
        let rest = &bytes[first..];
        assert_eq!(key_value_len(rest, KeyType::String), Some(rest.len()));
        for n in ["0", "7", "-7", "1E+100"] {
            let e = encode_key_value(&KeyValue::Number(n.parse().unwrap()));
            assert_eq!(key_value_len(&e, KeyType::Number), Some(e.len()), "{n}");
        }
    }

    #[test]
    fn strings_with_nul_sort_byte_wise_and_are_prefix_free() {
        let s = |t: &[u8]| {
            let mut out = Vec::new();
            push_bytes(&mut out, t);
            out
        };
        let sorted: [&[u8]; 6] = [b"a", b"a\0", b"a\0\0", b"a\0b", b"a\x01", b"ab"];
        for pair in sorted.windows(2) {
            assert!(s(pair[0]) < s(pair[1]), "{:?} < {:?}", pair[0], pair[1]);
            assert!(!s(pair[1]).starts_with(&s(pair[0])));
        }
    }
}
