//! The conditions of a get and a put, evaluated as S3 does, for backends that have no server
//! to evaluate them (the in-memory store, store-fs, a user's own).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Result, StoreError};
use crate::object::GetOptions;

/// An etag without `W/` and quotes.
fn unquote(etag: &str) -> &str {
    let etag = etag.trim();
    let etag = etag.strip_prefix("W/").unwrap_or(etag);
    etag.strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or(etag)
}

/// Whether a condition's etag matches the stored one: `*` matches any object, quotes and a
/// weak `W/` mark are ignored (`abc` matches `"abc"`), and nothing matches a missing object.
///
/// ```
/// use store_core::object::etag_matches;
/// assert!(etag_matches("abc", Some("\"abc\"")));
/// assert!(etag_matches("*", Some("\"abc\"")));
/// assert!(!etag_matches("*", None));
/// ```
pub fn etag_matches(given: &str, actual: Option<&str>) -> bool {
    match actual {
        None => false,
        Some(_) if given.trim() == "*" => true,
        Some(actual) => unquote(given) == unquote(actual),
    }
}

/// Whole seconds since the epoch: HTTP dates, and so S3's comparisons, have no finer grain.
fn seconds(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::from(after.as_secs()),
        Err(before) => -i128::from(before.duration().as_secs()) - 1,
    }
}

/// Checks a get's conditions against an object's etag and last-modified time, in the order
/// and with the precedence of RFC 9110 (which S3 follows):
///
/// - `if_match` fails → `PreconditionFailed`; when it is given, `if_unmodified_since` is not
///   looked at, otherwise a change after that time → `PreconditionFailed`;
/// - `if_none_match` matches → `PreconditionFailed` ("not modified"); when it is given,
///   `if_modified_since` is not looked at, otherwise no change after that time → the same.
///
/// Times compare in whole seconds, as the HTTP dates S3 receives do. An object without a
/// last-modified time passes both time conditions.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use store_core::ErrorKind;
/// use store_core::object::{GetOptions, check_get_conditions};
/// let written = SystemTime::now();
/// let hour = Duration::from_secs(3600);
/// let fresh = GetOptions::new().if_modified_since(written - hour);
/// assert!(check_get_conditions(&fresh, Some("\"e\""), Some(written)).is_ok());
/// let stale = GetOptions::new().if_modified_since(written);
/// let e = check_get_conditions(&stale, Some("\"e\""), Some(written)).unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
/// ```
pub fn check_get_conditions(
    options: &GetOptions,
    etag: Option<&str>,
    last_modified: Option<SystemTime>,
) -> Result<()> {
    let modified = last_modified.map(seconds);
    match (&options.if_match, options.if_unmodified_since) {
        (Some(expected), _) if !etag_matches(expected, etag) => {
            return Err(StoreError::precondition_failed(format!(
                "if-match etag {expected} does not match the current etag {}",
                etag.unwrap_or("(none)")
            )));
        }
        (None, Some(since)) if modified.is_some_and(|m| m > seconds(since)) => {
            return Err(StoreError::precondition_failed(
                "if-unmodified-since: the object changed after that time",
            ));
        }
        _ => {}
    }
    match (&options.if_none_match, options.if_modified_since) {
        (Some(unwanted), _) if etag_matches(unwanted, etag) => {
            Err(StoreError::precondition_failed(format!(
                "not modified: the object still has etag {unwanted}"
            )))
        }
        (None, Some(since)) if modified.is_some_and(|m| m <= seconds(since)) => Err(
            StoreError::precondition_failed("not modified since that time"),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::error::ErrorKind;

    const ETAG: Option<&str> = Some("\"e1\"");

    fn at(secs: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    fn fails(options: GetOptions, modified: SystemTime) -> bool {
        match check_get_conditions(&options, ETAG, Some(modified)) {
            Ok(()) => false,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{e}");
                true
            }
        }
    }

    #[test]
    fn times_compare_in_whole_seconds() {
        let modified = at(1_000, 700);
        assert!(fails(
            GetOptions::new().if_modified_since(at(1_000, 0)),
            modified
        ));
        assert!(!fails(
            GetOptions::new().if_modified_since(at(999, 999)),
            modified
        ));
        assert!(!fails(
            GetOptions::new().if_unmodified_since(at(1_000, 0)),
            modified
        ));
        assert!(fails(
            GetOptions::new().if_unmodified_since(at(999, 999)),
            modified
        ));
    }

    #[test]
    fn etag_conditions_take_precedence_over_times() {
        let modified = at(1_000, 0);
        // A matching if-match makes a failing if-unmodified-since irrelevant.
        let options = GetOptions::new()
            .if_match("e1")
            .if_unmodified_since(at(10, 0));
        assert!(!fails(options, modified));
        // A non-matching if-none-match makes a failing if-modified-since irrelevant.
        let options = GetOptions::new()
            .if_none_match("other")
            .if_modified_since(at(5_000, 0));
        assert!(!fails(options, modified));
        assert!(fails(GetOptions::new().if_match("other"), modified));
        assert!(fails(GetOptions::new().if_none_match("*"), modified));
    }

    #[test]
    fn times_before_the_epoch_order_correctly() {
        let before = UNIX_EPOCH - Duration::from_millis(1_500);
        assert!(seconds(before) < seconds(UNIX_EPOCH));
        assert!(fails(
            GetOptions::new().if_modified_since(UNIX_EPOCH),
            before
        ));
    }

    #[test]
    fn a_missing_object_matches_no_etag() {
        assert!(!etag_matches("*", None));
        assert!(etag_matches("W/\"ab\"", Some("\"ab\"")));
        assert!(!etag_matches("ab", Some("\"abc\"")));
    }
}
