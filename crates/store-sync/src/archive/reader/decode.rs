//! Decoding one archive part: its lines read where they lie in each decompressed buffer,
//! decoded as records or rows, and their count checked against the manifest's.

use std::io::Read as _;

use store_core::{Result, StoreError};

use super::super::line_rows::Rows;
use super::super::lines::decode_line;
use crate::record::Record;

/// Calls `each` with the number and text of every non-empty line of a compressed part;
/// its error is reported with the part and line. The part is decompressed a buffer at a
/// time and its lines are read where they lie in it, each buffer's text checked as UTF-8 at
/// once; the buffer grows only for a line longer than it.
pub(super) fn for_each_line(
    bytes: &[u8],
    path: &str,
    mut each: impl FnMut(usize, &str) -> Result<()>,
) -> Result<()> {
    let mut decoder = zstd::Decoder::new(bytes)
        .map_err(|e| StoreError::invalid_input(format!("archive part {path}: {e}")))?;
    let mut buffer = vec![0; LINE_READ_BUFFER];
    let mut filled = 0;
    let mut number = 0;
    loop {
        if filled == buffer.len() {
            buffer.resize(buffer.len() * 2, 0);
        }
        let read = decoder.read(&mut buffer[filled..]).map_err(|e| {
            StoreError::invalid_input(format!("archive part {path} does not decompress: {e}"))
        })?;
        filled += read;
        let at_end = read == 0;
        // The whole lines read so far: up to the last newline, or all at the end.
        let whole = if at_end {
            filled
        } else {
            match buffer[..filled].iter().rposition(|&b| b == b'\n') {
                Some(last) => last + 1,
                None => continue,
            }
        };
        let text = std::str::from_utf8(&buffer[..whole])
            .map_err(|e| not_utf8(&buffer[..e.valid_up_to()], number, path))?;
        if !text.is_empty() {
            for line in text.strip_suffix('\n').unwrap_or(text).split('\n') {
                let line = line.strip_suffix('\r').unwrap_or(line);
                if !line.is_empty() {
                    each(number, line).map_err(|e| {
                        StoreError::invalid_input(format!(
                            "archive part {path}, line {}: {}",
                            number + 1,
                            e.message()
                        ))
                    })?;
                }
                number += 1;
            }
        }
        if at_end {
            return Ok(());
        }
        buffer.copy_within(whole..filled, 0);
        filled -= whole;
    }
}

/// The error for text that stops being UTF-8 after `valid`, which starts at line `number`.
fn not_utf8(valid: &[u8], number: usize, path: &str) -> StoreError {
    let newlines = valid.iter().filter(|&&b| b == b'\n').count();
    let line_start = valid
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |at| at + 1);
    StoreError::invalid_input(format!(
        "archive part {path}, line {}: not UTF-8 from byte {} of the line",
        number + newlines + 1,
        valid.len() - line_start
    ))
}

/// The decompressed bytes read at a time from a part (more for a longer line).
const LINE_READ_BUFFER: usize = 256 * 1024;

/// `InvalidInput` unless a part held the `expected` number of records.
pub(super) fn count_matches(found: u64, expected: u64, path: &str) -> Result<()> {
    if found == expected {
        return Ok(());
    }
    Err(StoreError::invalid_input(format!(
        "archive part {path} holds {found} records where the manifest says {expected}"
    )))
}

/// `InvalidInput` once a part has given `decoded` records where the manifest says it holds
/// `expected`, before the next one is decoded: a part holding more (a zstd frame that
/// decompresses to far more than it claims) stops at once instead of filling memory.
/// ([`for_each_line`] names the part and line.)
pub(super) fn within_count(decoded: u64, expected: u64) -> Result<()> {
    if decoded < expected {
        return Ok(());
    }
    Err(StoreError::invalid_input(format!(
        "a record more than the {expected} the manifest says the part holds"
    )))
}

/// Room reserved for the `expected` records of a part, no more than [`RESERVED_AT_MOST`]: the
/// count comes from the manifest, and one claiming billions is refused by the count check
/// after decoding, not by an allocation failure before it (past the bound, the list grows).
fn room_for(expected: u64) -> usize {
    expected.min(RESERVED_AT_MOST) as usize
}

/// The most records of one part reserved for at once.
const RESERVED_AT_MOST: u64 = 1 << 16;

pub(super) fn decode_part(
    bytes: &[u8],
    key_names: &[String],
    path: &str,
    expected: u64,
) -> Result<Vec<Record>> {
    let mut records = Vec::with_capacity(room_for(expected));
    for_each_line(bytes, path, |_, line| {
        within_count(records.len() as u64, expected)?;
        records.push(decode_line(line, key_names)?);
        Ok(())
    })?;
    count_matches(records.len() as u64, expected, path)?;
    Ok(records)
}

/// A part's records as rows ([`Rows`]), as many as the manifest says it holds.
pub(super) fn decode_part_rows(
    bytes: &[u8],
    key_names: &[String],
    path: &str,
    expected: u64,
) -> Result<Rows> {
    let mut rows = Rows::default();
    rows.rows.reserve(room_for(expected));
    for_each_line(bytes, path, |_, line| {
        within_count(rows.len() as u64, expected)?;
        rows.push_line(line, key_names)
    })?;
    count_matches(rows.len() as u64, expected, path)?;
    rows.finish();
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compressed(text: &[u8]) -> Vec<u8> {
        zstd::encode_all(text, 3).unwrap()
    }

    fn lines_of(text: &[u8]) -> Result<Vec<(usize, String)>> {
        let mut seen = Vec::new();
        for_each_line(&compressed(text), "p.zst", |n, line| {
            seen.push((n, line.to_owned()));
            Ok(())
        })?;
        Ok(seen)
    }

    #[test]
    fn lines_come_one_by_one_with_their_numbers_whatever_their_ends() {
        let long = "x".repeat(3 * LINE_READ_BUFFER);
        let text = format!("a\n\nb\r\n{long}\nü\nlast");
        let seen = lines_of(text.as_bytes()).unwrap();
        let expected = [
            (0, "a"),
            (2, "b"),
            (3, long.as_str()),
            (4, "ü"),
            (5, "last"),
        ];
        let expected: Vec<(usize, String)> = expected
            .iter()
            .map(|(n, l)| (*n, (*l).to_owned()))
            .collect();
        assert_eq!(seen, expected);
        assert!(lines_of(b"").unwrap().is_empty());
    }

    #[test]
    fn a_line_that_is_not_utf8_or_a_failing_line_is_named_by_part_and_number() {
        let err = lines_of(b"a\nb\n\xff\xfe\n").unwrap_err();
        assert!(err.message().contains("p.zst, line 3"), "{}", err.message());
        let err = for_each_line(&compressed(b"a\nb\n"), "p.zst", |n, _| {
            if n == 1 {
                Err(StoreError::invalid_input("refused"))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!(err.message(), "archive part p.zst, line 2: refused");
        let err = for_each_line(b"not zstd", "p.zst", |_, _| Ok(())).unwrap_err();
        assert!(err.message().contains("p.zst"), "{}", err.message());
    }

    #[test]
    fn a_part_holding_more_lines_than_it_claims_stops_at_the_first_extra_one() {
        // A small frame that decompresses to 200,000 lines, claimed to hold three.
        let line = br#"{"k":{"id":{"S":"a"}},"v":{"id":{"S":"a"}}}"#;
        let mut text = Vec::new();
        for _ in 0..200_000 {
            text.extend_from_slice(line);
            text.push(b'\n');
        }
        let bomb = compressed(&text);
        assert!(bomb.len() < text.len() / 100);
        let keys = ["id".to_owned()];
        let err = decode_part(&bomb, &keys, "p.zst", 3).unwrap_err();
        assert_eq!(
            err.message(),
            "archive part p.zst, line 4: a record more than the 3 the manifest says the part holds"
        );
        assert!(decode_part_rows(&bomb, &keys, "p.zst", 3).is_err());
        assert_eq!(
            decode_part(&bomb, &keys, "p.zst", 200_000).unwrap().len(),
            200_000
        );
    }
}
