//! Dates, times, timestamps and UUIDs between their binary wire forms and standard text.
//!
//! Text forms: dates `YYYY-MM-DD`, times `HH:MM:SS[.ffffff]`, timestamps
//! `YYYY-MM-DDTHH:MM:SS[.ffffff]` (ISO 8601), timestamptz in UTC with `Z` (RFC 3339), UUIDs
//! hyphenated lowercase. PostgreSQL's `infinity` / `-infinity` pass as those words; years
//! before 1 AD use PostgreSQL's ` BC` suffix so the text reads back into the server.

use store_core::StoreError;
use store_core::civil::{civil_from_days, days_from_civil};

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Appends `n` (not negative) in decimal, zero-padded to `width` digits.
fn push_padded(out: &mut String, n: i64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    while rest > 0 {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let start = (digits.len() - width).min(at);
    out.extend(digits[start..].iter().map(|&d| char::from(d)));
}

/// Appends `YYYY-MM-DD` of a day counted from PostgreSQL's epoch; whether it is BC (the year
/// written is then `1 - y`, PostgreSQL's numbering).
fn push_date(out: &mut String, days_since_pg_epoch: i64) -> bool {
    let (y, m, d) = civil_from_days(days_since_pg_epoch + PG_EPOCH_DAYS);
    push_padded(out, if y <= 0 { 1 - y } else { y }, 4);
    out.push('-');
    push_padded(out, m, 2);
    out.push('-');
    push_padded(out, d, 2);
    y <= 0
}

/// Appends `HH:MM:SS`, then `.` and the fraction without trailing zeros if there is one.
fn push_time(out: &mut String, micros: i64) {
    let secs = micros / 1_000_000;
    let frac = micros % 1_000_000;
    push_padded(out, secs / 3600, 2);
    out.push(':');
    push_padded(out, (secs / 60) % 60, 2);
    out.push(':');
    push_padded(out, secs % 60, 2);
    if frac != 0 {
        let mut digits = 6;
        let mut frac = frac;
        while frac % 10 == 0 {
            frac /= 10;
            digits -= 1;
        }
        out.push('.');
        push_padded(out, frac, digits);
    }
}

/// A binary `date` (days since 2000-01-01) as text.
pub(crate) fn date_to_text(days: i32) -> String {
    match days {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        d => {
            let mut text = String::with_capacity(13);
            if push_date(&mut text, i64::from(d)) {
                text.push_str(" BC");
            }
            text
        }
    }
}

/// A binary `time` (microseconds since midnight) as text.
pub(crate) fn time_to_text(micros: i64) -> String {
    let mut text = String::with_capacity(15);
    push_time(&mut text, micros);
    text
}

/// A binary `timestamp` / `timestamptz` (microseconds since 2000-01-01) as text; with
/// `utc`, the RFC 3339 form ending in `Z`.
pub(crate) fn timestamp_to_text(micros: i64, utc: bool) -> String {
    match micros {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        us => {
            let mut text = String::with_capacity(32);
            let bc = push_date(&mut text, us.div_euclid(MICROS_PER_DAY));
            text.push('T');
            push_time(&mut text, us.rem_euclid(MICROS_PER_DAY));
            if utc {
                text.push('Z');
            }
            if bc {
                text.push_str(" BC");
            }
            text
        }
    }
}

/// 16 UUID bytes, hyphenated.
pub(crate) fn uuid_to_text(raw: &[u8]) -> String {
    let h: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    if h.len() != 32 {
        return h;
    }
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn bad(what: &str, text: &str) -> StoreError {
    StoreError::invalid_input(format!("`{text}` is not a valid {what}"))
}

fn number(text: &str, what: &str, whole: &str) -> Result<i64, StoreError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(what, whole));
    }
    text.parse().map_err(|_| bad(what, whole))
}

/// `text` without PostgreSQL's ` BC` suffix, and whether it had one.
fn strip_bc(text: &str) -> (&str, bool) {
    let trimmed = text.trim_end();
    match trimmed.len().checked_sub(3) {
        Some(at) if trimmed.is_char_boundary(at) && trimmed[at..].eq_ignore_ascii_case(" BC") => {
            (&trimmed[..at], true)
        }
        _ => (text, false),
    }
}

/// Days since 2000-01-01 of `YYYY-MM-DD`, a year before 1 AD when `bc` (PostgreSQL's
/// numbering: 1 BC is year 0).
fn parse_days(text: &str, whole: &str, what: &str, bc: bool) -> Result<i64, StoreError> {
    let mut parts = text.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad(what, whole));
    };
    let (y, m, d) = (
        number(y, what, whole)?,
        number(m, what, whole)?,
        number(d, what, whole)?,
    );
    let y = match (bc, y) {
        (false, y) => y,
        (true, 0) => return Err(bad(what, whole)),
        (true, y) => 1 - y,
    };
    epoch_days(y, m, d).ok_or_else(|| bad(what, whole))
}

/// Days since 2000-01-01 of a calendar date, if it is one.
fn epoch_days(y: i64, m: i64, d: i64) -> Option<i64> {
    let days = days_from_civil(y, m, d);
    let real = (1..=12).contains(&m) && (1..=31).contains(&d) && civil_from_days(days) == (y, m, d);
    real.then_some(days - PG_EPOCH_DAYS)
}

/// Microseconds since midnight of a time of day, if it is one (hour 24 and second 60 are
/// taken, as PostgreSQL takes them).
fn day_micros(h: i64, m: i64, s: i64, micros: i64) -> Option<i64> {
    (h <= 24 && m <= 59 && s <= 60).then_some(((h * 60 + m) * 60 + s) * 1_000_000 + micros)
}

/// Microseconds since midnight of `HH:MM[:SS[.fraction]]`.
fn parse_time_of_day(text: &str, whole: &str, what: &str) -> Result<i64, StoreError> {
    let (hms, frac) = text.split_once('.').unwrap_or((text, ""));
    let mut parts = hms.split(':');
    let h = number(parts.next().unwrap_or(""), what, whole)?;
    let m = number(parts.next().unwrap_or(""), what, whole)?;
    let s = match parts.next() {
        Some(s) => number(s, what, whole)?,
        None => 0,
    };
    if parts.next().is_some() {
        return Err(bad(what, whole));
    }
    let mut micros = 0i64;
    if !frac.is_empty() {
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(what, whole));
        }
        let mut digits: String = frac.chars().take(7).collect();
        while digits.len() < 7 {
            digits.push('0');
        }
        let seven: i64 = digits.parse().map_err(|_| bad(what, whole))?;
        micros = (seven + 5) / 10;
    }
    day_micros(h, m, s, micros).ok_or_else(|| bad(what, whole))
}

/// A binary `date` from `YYYY-MM-DD` (or `infinity`).
pub(crate) fn parse_date(text: &str) -> Result<i32, StoreError> {
    match text {
        "infinity" => return Ok(i32::MAX),
        "-infinity" => return Ok(i32::MIN),
        _ => {}
    }
    let (date, bc) = strip_bc(text.trim());
    let days = parse_days(date, text, "date (YYYY-MM-DD)", bc)?;
    i32::try_from(days).map_err(|_| bad("date", text))
}

/// A binary `time` from `HH:MM[:SS[.ffffff]]`.
pub(crate) fn parse_time(text: &str) -> Result<i64, StoreError> {
    parse_time_of_day(text.trim(), text, "time (HH:MM:SS)")
}

/// A binary `timestamp` (`with_zone == false`) or `timestamptz` from ISO 8601 / RFC 3339 text.
/// A timestamptz needs an offset (`Z`, `+02:00`, `-0500`, `+02`), so no session time zone is
/// guessed; a timestamp refuses one.
pub(crate) fn parse_timestamp(text: &str, with_zone: bool) -> Result<i64, StoreError> {
    match canonical_timestamp(text.as_bytes(), with_zone) {
        Some(micros) => Ok(micros),
        None => any_timestamp(text, with_zone),
    }
}

/// [`parse_timestamp`] of every form it takes.
fn any_timestamp(text: &str, with_zone: bool) -> Result<i64, StoreError> {
    match text {
        "infinity" => return Ok(i64::MAX),
        "-infinity" => return Ok(i64::MIN),
        _ => {}
    }
    let what = if with_zone {
        "timestamptz (RFC 3339, with an offset)"
    } else {
        "timestamp (YYYY-MM-DDTHH:MM:SS)"
    };
    let (t, bc) = strip_bc(text.trim());
    let (date, rest) = match t.find(['T', 't', ' ']) {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => (t, ""),
    };
    let days = parse_days(date, text, what, bc)?;
    let (time, offset_secs) = if with_zone {
        if let Some(time) = rest.strip_suffix(['Z', 'z']) {
            (time, 0)
        } else if let Some(i) = rest.rfind(['+', '-']) {
            let (time, off) = rest.split_at(i);
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let digits: String = off[1..].chars().filter(|c| *c != ':').collect();
            let (h, m) = match digits.len() {
                2 => (number(&digits, what, text)?, 0),
                4 => (
                    number(&digits[..2], what, text)?,
                    number(&digits[2..], what, text)?,
                ),
                _ => return Err(bad(what, text)),
            };
            (time, sign * (h * 3600 + m * 60))
        } else {
            return Err(bad(what, text));
        }
    } else {
        (rest, 0)
    };
    let time = if time.is_empty() {
        0
    } else {
        parse_time_of_day(time.trim(), text, what)?
    };
    Ok(days * MICROS_PER_DAY + time - offset_secs * 1_000_000)
}

/// [`parse_timestamp`] of the form this crate writes, read at fixed places without a
/// search or an allocation: `YYYY-MM-DDTHH:MM:SS`, then `.` and one to six digits, then `Z`
/// for a timestamptz. `None` for anything else (the general path reads or refuses it).
fn canonical_timestamp(text: &[u8], with_zone: bool) -> Option<i64> {
    let body = if with_zone {
        text.strip_suffix(b"Z")?
    } else {
        text
    };
    let (whole, frac) = match body.get(19) {
        None => (body, &b""[..]),
        Some(b'.') if (21..=26).contains(&body.len()) => (&body[..19], &body[20..]),
        Some(_) => return None,
    };
    let [
        y0,
        y1,
        y2,
        y3,
        b'-',
        m0,
        m1,
        b'-',
        d0,
        d1,
        b'T',
        h0,
        h1,
        b':',
        i0,
        i1,
        b':',
        s0,
        s1,
    ] = *whole
    else {
        return None;
    };
    let digit = |c: u8| c.is_ascii_digit().then(|| i64::from(c - b'0'));
    let two = |a, b| Some(digit(a)? * 10 + digit(b)?);
    let (y, m, d) = (
        two(y0, y1)? * 100 + two(y2, y3)?,
        two(m0, m1)?,
        two(d0, d1)?,
    );
    let days = epoch_days(y, m, d)?;
    let mut micros = 0;
    for (i, &c) in frac.iter().enumerate() {
        micros += digit(c)? * 10_i64.pow(5 - i as u32);
    }
    let time = day_micros(two(h0, h1)?, two(i0, i1)?, two(s0, s1)?, micros)?;
    Some(days * MICROS_PER_DAY + time)
}

/// 16 bytes of a UUID from its text (hyphens and braces optional).
pub(crate) fn parse_uuid(text: &str) -> Result<[u8; 16], StoreError> {
    let hex: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'-' | b'{' | b'}'))
        .collect();
    if hex.len() != 32 {
        return Err(bad("UUID", text));
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).map_err(|_| bad("UUID", text))?;
        out[i] = u8::from_str_radix(s, 16).map_err(|_| bad("UUID", text))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for text in [
            "2000-01-01",
            "2024-02-29",
            "1969-12-31",
            "9999-12-31",
            "0001-01-01",
        ] {
            let days = parse_date(text).unwrap();
            assert_eq!(date_to_text(days), text);
        }
        assert_eq!(parse_date("2000-01-02").unwrap(), 1);
        assert!(parse_date("2023-02-29").is_err());
        assert!(parse_date("2023-13-01").is_err());
        assert_eq!(date_to_text(i32::MAX), "infinity");
    }

    #[test]
    fn dates_and_timestamps_before_1_ad_read_back_as_written() {
        for text in [
            "0044-03-15 BC",
            "0001-12-31 BC",
            "4713-01-01 BC",
            "0005-02-29 BC",
            "0001-02-29 BC",
        ] {
            let days = parse_date(text).unwrap();
            assert_eq!(date_to_text(days), text);
        }
        // 1 BC is the year before 1 AD: one day apart.
        let eve = parse_date("0001-12-31 BC").unwrap();
        assert_eq!(parse_date("0001-01-01").unwrap() - eve, 1);
        assert!(parse_date("0000-01-01 BC").is_err());
        assert!(
            parse_date("0003-02-29 BC").is_err(),
            "4 BC is the leap year, not 3 BC"
        );
        for (text, utc) in [
            ("0044-03-15T12:00:00 BC", false),
            ("4713-01-01T00:00:00 BC", false),
            ("0044-03-15T12:00:00.5Z BC", true),
        ] {
            let micros = parse_timestamp(text, utc).unwrap();
            assert_eq!(timestamp_to_text(micros, utc), text);
        }
    }

    #[test]
    fn the_canonical_reading_agrees_with_the_general_one() {
        let mut seeded = store_core::testkit::Seeded::new(0x2545_f491_4f6c_dd1d);
        let mut next = |bound| seeded.below(bound);
        let mut fast = 0;
        for _ in 0..50_000 {
            // Fields at and past their limits, fractions of 0 to 7 digits, with or without
            // the `Z`, now and then a character out of place.
            let mut text = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                [1, 1970, 2000, 2024, 2023, 9999][next(6) as usize],
                next(14),
                next(33),
                next(26),
                next(61),
                next(62)
            );
            match next(8) {
                0 => {}
                n => {
                    text.push('.');
                    text.extend((1..n).map(|_| char::from(b'0' + next(10) as u8)));
                }
            }
            if next(4) != 0 {
                text.push('Z');
            }
            if next(20) == 0 {
                let at = next(text.len() as u64) as usize;
                text.replace_range(at..=at, ["x", "-", " ", "9"][next(4) as usize]);
            }
            for with_zone in [true, false] {
                if let Some(micros) = canonical_timestamp(text.as_bytes(), with_zone) {
                    fast += 1;
                    assert_eq!(any_timestamp(&text, with_zone).ok(), Some(micros), "{text}");
                }
            }
        }
        assert!(
            fast > 10_000,
            "the canonical reading took only {fast} texts"
        );
    }

    #[test]
    fn seeded_timestamps_dates_and_times_read_back_as_written() {
        let mut seeded = store_core::testkit::Seeded::new(0x005e_ed0f_7157);
        // From 0001-01-01 to 9999-12-31, as microseconds from PostgreSQL's epoch.
        let (first, last) = (-63_082_281_600_000_000_i64, 252_455_615_999_999_999_i64);
        for i in 0..20_000 {
            let mut us = first + seeded.below((last - first) as u64) as i64;
            // Whole seconds and round fractions now and then, so trailing zeros are trimmed.
            us -= us.rem_euclid([1, 10, 1_000, 100_000, 1_000_000][i % 5]);
            for utc in [true, false] {
                let text = timestamp_to_text(us, utc);
                assert_eq!(parse_timestamp(&text, utc).unwrap(), us, "{text}");
            }
            let days = us.div_euclid(MICROS_PER_DAY) as i32;
            assert_eq!(parse_date(&date_to_text(days)).unwrap(), days);
            let time = us.rem_euclid(MICROS_PER_DAY);
            assert_eq!(parse_time(&time_to_text(time)).unwrap(), time);
        }
        assert_eq!(timestamp_to_text(0, true), "2000-01-01T00:00:00Z");
        assert_eq!(time_to_text(1_000_120), "00:00:01.00012");
    }

    #[test]
    fn timestamps_round_trip() {
        let us = parse_timestamp("2024-02-29T12:34:56.123456", false).unwrap();
        assert_eq!(timestamp_to_text(us, false), "2024-02-29T12:34:56.123456");
        let utc = parse_timestamp("2024-02-29T14:34:56.5+02:00", true).unwrap();
        assert_eq!(timestamp_to_text(utc, true), "2024-02-29T12:34:56.5Z");
        assert_eq!(
            parse_timestamp("2000-01-01 00:00:01Z", true).unwrap(),
            1_000_000
        );
        assert!(
            parse_timestamp("2024-02-29T12:00:00", true).is_err(),
            "no offset"
        );
        assert_eq!(timestamp_to_text(-1, false), "1999-12-31T23:59:59.999999");
    }

    #[test]
    fn uuids_round_trip() {
        let text = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert_eq!(uuid_to_text(&parse_uuid(text).unwrap()), text);
        assert!(parse_uuid("not-a-uuid").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(
            time_to_text(parse_time("23:59:59.25").unwrap()),
            "23:59:59.25"
        );
    }
}
