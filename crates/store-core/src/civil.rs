//! Proleptic Gregorian calendar arithmetic shared by every backend that reads or writes
//! dates: day counts since 1970-01-01 and back (Howard Hinnant's `days_from_civil` and
//! `civil_from_days`), exact for every year an `i64` day count can reach.

/// Days since 1970-01-01 of the date `year-month-day` (month 1–12, day 1–31; out-of-range
/// days roll over, so check a parsed date by converting it back).
///
/// ```
/// use store_core::civil::{civil_from_days, days_from_civil};
/// assert_eq!(days_from_civil(1970, 1, 1), 0);
/// assert_eq!(days_from_civil(2000, 1, 1), 10_957);
/// assert_eq!(civil_from_days(days_from_civil(-4713, 11, 24)), (-4713, 11, 24));
/// ```
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `(year, month, day)` of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_day_of_four_centuries_round_trips_in_order() {
        let start = days_from_civil(1600, 1, 1);
        let mut previous = civil_from_days(start - 1);
        for days in start..start + 146_097 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!((y, m, d) > previous, "{y}-{m}-{d} follows {previous:?}");
            previous = (y, m, d);
        }
    }
}
