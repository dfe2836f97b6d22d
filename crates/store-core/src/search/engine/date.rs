//! Dates as OpenSearch's default date format reads them: `strict_date_optional_time||epoch_millis`.
//!
//! Accepted text: `yyyy-MM-dd`, optionally followed by `T` and `HH:mm`, `HH:mm:ss` or
//! `HH:mm:ss.fraction`, optionally followed by `Z`, `±HH:mm`, `±HHmm` or `±HH`; no zone means
//! UTC. A string of digits (with an optional `-`) is epoch milliseconds. Dates are compared,
//! sorted and returned as sort values in epoch milliseconds.

use crate::civil::days_from_civil;

/// Epoch milliseconds of a date string in the default format, or `None` if it is not one.
pub(super) fn parse_date_or_millis(text: &str) -> Option<i64> {
    parse_date(text).or_else(|| parse_epoch_millis(text))
}

/// Epoch milliseconds of `strict_date_optional_time` text (what dynamic mapping detects as a date).
pub(super) fn parse_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let year = digits(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut millis = days_from_civil(year, month, day) * 86_400_000;
    if b.len() == 10 {
        return Some(millis);
    }
    expect(b, 10, b'T')?;
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b':')?;
    let minute = digits(b, 14, 2)?;
    let mut pos = 16;
    let mut second = 0;
    let mut fraction_millis = 0;
    if b.get(pos) == Some(&b':') {
        second = digits(b, pos + 1, 2)?;
        pos += 3;
        if b.get(pos) == Some(&b'.') {
            let start = pos + 1;
            let mut end = start;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
            if end == start || end - start > 9 {
                return None;
            }
            let mut value = 0i64;
            for (i, digit) in b[start..end].iter().take(3).enumerate() {
                value += i64::from(digit - b'0') * [100, 10, 1][i];
            }
            fraction_millis = value;
            pos = end;
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    millis += ((hour * 60 + minute) * 60 + second) * 1000 + fraction_millis;
    let offset_minutes = parse_zone(&b[pos..])?;
    Some(millis - offset_minutes * 60_000)
}

fn parse_epoch_millis(text: &str) -> Option<i64> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    if unsigned.is_empty() || !unsigned.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The zone offset in minutes: empty (UTC), `Z`, `±HH`, `±HHmm` or `±HH:mm`.
fn parse_zone(b: &[u8]) -> Option<i64> {
    match b {
        [] | [b'Z'] => Some(0),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (hours, minutes) = match rest.len() {
                2 => (digits(rest, 0, 2)?, 0),
                4 => (digits(rest, 0, 2)?, digits(rest, 2, 2)?),
                5 => {
                    expect(rest, 2, b':')?;
                    (digits(rest, 0, 2)?, digits(rest, 3, 2)?)
                }
                _ => return None,
            };
            if hours > 18 || minutes > 59 {
                return None;
            }
            let offset = hours * 60 + minutes;
            Some(if *sign == b'-' { -offset } else { offset })
        }
        _ => None,
    }
}

fn digits(b: &[u8], start: usize, len: usize) -> Option<i64> {
    let slice = b.get(start..start + len)?;
    slice.iter().try_fold(0i64, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn expect(b: &[u8], at: usize, c: u8) -> Option<()> {
    (b.get(at) == Some(&c)).then_some(())
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dates_and_times_to_epoch_millis() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2024-02-29"), Some(1_709_164_800_000));
        assert_eq!(parse_date("2024-02-29T12:30"), Some(1_709_209_800_000));
        assert_eq!(
            parse_date("2024-02-29T12:30:15.5Z"),
            Some(1_709_209_815_500)
        );
        assert_eq!(
            parse_date("2024-02-29T14:30:15+02:00"),
            Some(1_709_209_815_000)
        );
        assert_eq!(
            parse_date("2024-02-29T07:30:15-0500"),
            Some(1_709_209_815_000)
        );
        assert_eq!(parse_date("1969-12-31T23:59:59.999Z"), Some(-1));
    }

    #[test]
    fn rejects_what_is_not_a_date() {
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "2024-01-01 10:00",
            "2024-01-01T25:00",
            "2024-01-01T10:00Zx",
            "hello",
            "2024",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?} must not parse");
        }
    }

    #[test]
    fn digits_are_epoch_millis() {
        assert_eq!(
            parse_date_or_millis("1700000000000"),
            Some(1_700_000_000_000)
        );
        assert_eq!(parse_date_or_millis("-5"), Some(-5));
        assert_eq!(parse_date_or_millis("12a"), None);
    }
}
