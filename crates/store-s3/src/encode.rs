//! Small encodings: copy sources, URL-encoded listing answers and listing cursors.

use store_core::{Cursor, Result, StoreError};

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
}
