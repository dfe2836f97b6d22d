//! Small encodings between the trait's types and S3's headers and fields: copy sources,
//! URL-encoded listing answers, listing cursors, ranges, etags, metadata.

use std::collections::HashMap;
use std::time::SystemTime;

use aws_sdk_s3::primitives::DateTime;
use store_core::object::{ByteRange, ObjectMeta};
use store_core::{Cursor, ObjectKey, Result, StoreError};

use crate::meta_text::read_metadata;

/// Percent-encodes `text` for an `x-amz-copy-source` header, keeping `/` and the unreserved
/// characters.
pub(crate) fn encode_copy_source(bucket: &str, key: &str) -> String {
    let mut out = String::with_capacity(bucket.len() + key.len() + 8);
    out.push_str(bucket);
    out.push('/');
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a key or prefix S3 returned with `encoding-type=url` (`%XX`, and `+` for a space).
pub(crate) fn decode_url(text: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                percent_byte(&mut out, bytes, &mut i)?;
                continue;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| StoreError::internal("S3 listed a key that is not UTF-8"))
}

fn percent_byte(out: &mut Vec<u8>, bytes: &[u8], i: &mut usize) -> Result<()> {
    let hex = |b: u8| (b as char).to_digit(16);
    let (Some(hi), Some(lo)) = (
        bytes.get(*i + 1).copied().and_then(hex),
        bytes.get(*i + 2).copied().and_then(hex),
    ) else {
        return Err(StoreError::internal(
            "S3 listed a key with a malformed percent-encoding",
        ));
    };
    out.push((hi * 16 + lo) as u8);
    *i += 3;
    Ok(())
}

const CURSOR_TAG: &[u8] = b"s3v1:";

/// Wraps an S3 continuation token as a cursor.
pub(crate) fn cursor_from_token(token: &str) -> Cursor {
    let mut raw = CURSOR_TAG.to_vec();
    raw.extend_from_slice(token.as_bytes());
    Cursor::encode(&raw)
}

/// The continuation token inside a cursor this store issued; anything else is `InvalidInput`.
pub(crate) fn token_from_cursor(cursor: &Cursor) -> Result<String> {
    let foreign = || StoreError::invalid_input("the cursor is not one this S3 store issued");
    let raw = cursor.decode().map_err(|_| foreign())?;
    let token = raw.strip_prefix(CURSOR_TAG).ok_or_else(foreign)?;
    let token = String::from_utf8(token.to_vec()).map_err(|_| foreign())?;
    if token.is_empty() {
        return Err(foreign());
    }
    Ok(token)
}

/// An S3 `Range` header for a range.
pub(crate) fn range_header(range: ByteRange) -> String {
    match range {
        ByteRange::Bounded { start, end } => format!("bytes={start}-{}", end.saturating_sub(1)),
        ByteRange::From(start) => format!("bytes={start}-"),
        ByteRange::Suffix(n) => format!("bytes=-{n}"),
    }
}

/// Parses `bytes start-end/total` into (start, end exclusive, total).
pub(crate) fn parse_content_range(text: &str) -> Option<(u64, u64, u64)> {
    let rest = text.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = end.trim().parse().ok()?;
    let total: u64 = total.trim().parse().ok()?;
    (end >= start).then_some((start, end + 1, total))
}

/// Etags in conditions are quoted, as S3 returns them (`*` stays as it is).
pub(crate) fn quote_etag(etag: &str) -> String {
    let etag = etag.trim();
    if etag == "*" || etag.starts_with('"') || etag.starts_with("W/") {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    }
}

/// An object's metadata from the fields of an SDK answer.
pub(crate) fn object_meta(
    key: &ObjectKey,
    size: u64,
    etag: Option<&str>,
    last_modified: Option<&DateTime>,
    content_type: Option<&str>,
    metadata: Option<&HashMap<String, String>>,
) -> ObjectMeta {
    ObjectMeta {
        key: key.clone(),
        size,
        etag: etag.map(str::to_owned),
        last_modified: last_modified.and_then(|t| SystemTime::try_from(*t).ok()),
        content_type: content_type.map(str::to_owned),
        metadata: metadata.map(read_metadata).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_decoding_handles_plus_and_percent() {
        assert_eq!(decode_url("a+b%2Bc%20d%25").unwrap(), "a b+c d%");
        assert_eq!(decode_url("%E6%97%A5/x").unwrap(), "日/x");
        assert!(decode_url("bad%2").is_err());
        assert!(decode_url("bad%zz").is_err());
    }

    #[test]
    fn copy_source_is_encoded() {
        assert_eq!(
            encode_copy_source("b", "a b/c+d?e#f%"),
            "b/a%20b/c%2Bd%3Fe%23f%25"
        );
    }

    #[test]
    fn cursors_round_trip_and_reject_foreign_ones() {
        let c = cursor_from_token("tok/en==");
        let back = Cursor::from_token(c.as_token().to_owned());
        assert_eq!(token_from_cursor(&back).unwrap(), "tok/en==");
        assert!(token_from_cursor(&Cursor::from_token("not a cursor!")).is_err());
        assert!(token_from_cursor(&Cursor::encode(b"memory-key")).is_err());
    }

    #[test]
    fn content_ranges_parse() {
        assert_eq!(parse_content_range("bytes 5-9/10"), Some((5, 10, 10)));
        assert_eq!(parse_content_range("bytes */10"), None);
        assert_eq!(parse_content_range("junk"), None);
    }

    #[test]
    fn range_headers() {
        assert_eq!(
            range_header(ByteRange::Bounded { start: 10, end: 20 }),
            "bytes=10-19"
        );
        assert_eq!(range_header(ByteRange::From(7)), "bytes=7-");
        assert_eq!(range_header(ByteRange::Suffix(5)), "bytes=-5");
    }

    #[test]
    fn etags_compare_without_quotes() {
        assert_eq!(quote_etag("abc"), "\"abc\"");
        assert_eq!(quote_etag("\"abc\""), "\"abc\"");
    }
}
