//! The canonical archive line read straight into a row, without a JSON library in between.
//!
//! [`encode_line`](super::encode_line) writes one form only: compact JSON, `k` then `v`, each
//! value one type tag. This reader takes exactly that form when its values are text
//! without escapes, numbers, booleans, nulls or bytes, and declines everything else
//! (whitespace, an escape, a list, map or set, another member, a key the checks refuse),
//! leaving the rows as they were, so the general reader ([`Rows::push_line`]) reads the line
//! and gives every refusal. What it takes it reads as the general reader does: the same
//! number and base64 parsing, the same column places, a repeated attribute keeping its last
//! value.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use store_core::{Number, Value};

use super::line_rows::{RowBuilder, Rows, column_place};

/// Pushes `line` as a row when it is in the canonical form and its key passes the checks;
/// `false` (the rows untouched) when the general reader must read it.
pub(super) fn push_canonical(rows: &mut Rows, line: &str, key_names: &[String]) -> bool {
    let width = rows.columns.len();
    let pushed = read_line(rows, line, key_names).is_some();
    if !pushed {
        rows.columns.truncate(width);
    }
    pushed
}

fn read_line(rows: &mut Rows, line: &str, key_names: &[String]) -> Option<()> {
    let mut at = Cursor { line, at: 0 };
    at.literal("{\"k\":{")?;
    let mut key: Vec<(&str, Value)> = Vec::with_capacity(1);
    if !at.next_is(b'}') {
        loop {
            let name = at.name()?;
            let value = at.typed()?;
            // As a map would: a repeated attribute keeps its last value.
            match key.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => key.push((name, value)),
            }
            if !at.comma() {
                break;
            }
        }
    }
    at.literal("},\"v\":{")?;
    let mut row = RowBuilder::with_capacity(rows.columns.len());
    if !at.next_is(b'}') {
        let mut expected = 0;
        loop {
            let name = at.name()?;
            let value = at.typed()?;
            let place = column_place(&mut rows.columns, expected, name);
            row.put(place, value);
            expected = place + 1;
            if !at.comma() {
                break;
            }
        }
    }
    at.literal("}}")?;
    if at.at != line.len() {
        return None;
    }
    key_is_valid(&key, key_names).then_some(())?;
    rows.push(row);
    Some(())
}

/// Whether [`record_key`](super::lines::record_key) takes `key` for `key_names`, without
/// making the key: every name is there, with text, a number or bytes (text for `_id`).
fn key_is_valid(key: &[(&str, Value)], key_names: &[String]) -> bool {
    let text_only = key_names == ["_id"];
    !key_names.is_empty()
        && key_names.iter().all(|name| {
            key.iter().any(|(n, value)| {
                n == name
                    && match value {
                        Value::String(_) => true,
                        Value::Number(_) | Value::Bytes(_) => !text_only,
                        _ => false,
                    }
            })
        })
}

/// A position in a line being read.
struct Cursor<'a> {
    line: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        &self.line.as_bytes()[self.at..]
    }

    /// Steps over `text`, which must come next.
    fn literal(&mut self, text: &str) -> Option<()> {
        self.rest().starts_with(text.as_bytes()).then(|| {
            self.at += text.len();
        })
    }

    /// Whether `byte` comes next (not stepped over).
    fn next_is(&self, byte: u8) -> bool {
        self.rest().first() == Some(&byte)
    }

    /// Steps over a comma if one comes next.
    fn comma(&mut self) -> bool {
        self.literal(",").is_some()
    }

    /// A string with no escape and no control character in it.
    fn string(&mut self) -> Option<&'a str> {
        self.literal("\"")?;
        let start = self.at;
        let length = string_end(self.rest())?;
        self.at += length;
        self.literal("\"")?;
        // Both ends are quotes (ASCII), so the slice falls on character boundaries.
        self.line.get(start..start + length)
    }

    /// An attribute's name and the colon after it.
    fn name(&mut self) -> Option<&'a str> {
        let name = self.string()?;
        self.literal(":")?;
        Some(name)
    }

    /// A typed value of a scalar tag.
    fn typed(&mut self) -> Option<Value> {
        // The tag is matched with the text around it: `{"S":` and so on.
        let value = if self.literal("{\"S\":").is_some() {
            Value::String(self.string()?.to_owned())
        } else if self.literal("{\"N\":").is_some() {
            Value::Number(self.string()?.parse::<Number>().ok()?)
        } else if self.literal("{\"BOOL\":").is_some() {
            Value::Bool(self.boolean()?)
        } else if self.literal("{\"NULL\":").is_some() {
            self.boolean()?.then_some(Value::Null)?
        } else if self.literal("{\"B\":").is_some() {
            Value::Bytes(Bytes::from(STANDARD.decode(self.string()?).ok()?))
        } else {
            return None;
        };
        self.literal("}")?;
        Some(value)
    }

    fn boolean(&mut self) -> Option<bool> {
        if self.literal("true").is_some() {
            Some(true)
        } else {
            self.literal("false").map(|()| false)
        }
    }
}

/// Where the first quote, backslash or control character of `bytes` is, eight bytes at a
/// time: in each word, the lowest byte a test flags is a true match (a borrow only carries
/// upwards, past a byte that matched).
pub(super) fn string_end(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // The high bit of each byte of `word` below `n` (for n <= 0x80).
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let found = below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1)
            | below(word, 0x20);
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = bytes[at..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    Some(at + tail)
}

#[cfg(test)]
mod tests {
    use store_core::Document;

    use super::*;
    use crate::archive::encode_line;
    use crate::record::Record;

    /// The rows the general reader makes of `lines`.
    fn general(lines: &[&str], names: &[String]) -> Rows {
        let mut rows = Rows::default();
        for line in lines {
            rows.push_general(line, names).unwrap();
        }
        rows
    }

    #[test]
    fn a_string_ends_where_a_byte_by_byte_search_says() {
        let naive = |bytes: &[u8]| {
            bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        };
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let alphabet = [
            b'a', b'"', b'\\', 0x1f, 0x20, 0x21, 0x00, 0x7f, 0x80, 0xff, 0xa2, 0x5c,
        ];
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| {
                    let pick = (state >> (i % 60)) as usize;
                    // Mostly plain letters, so matches land anywhere in the words.
                    if pick.is_multiple_of(5) {
                        alphabet[pick % alphabet.len()]
                    } else {
                        b'a' + (pick % 26) as u8
                    }
                })
                .collect();
            assert_eq!(string_end(&bytes), naive(&bytes), "{bytes:?}");
        }
    }

    #[test]
    fn canonical_lines_are_read_as_the_general_reader_reads_them() {
        let names = vec!["id".to_owned()];
        let docs = [
            Document::new()
                .with("id", 1)
                .with("text", "plain ✓ ключ")
                .with("n", "-1.5E-130".parse::<Number>().unwrap())
                .with(
                    "big",
                    "12345678901234567890123456789012345678"
                        .parse::<Number>()
                        .unwrap(),
                )
                .with("yes", true)
                .with("no", false)
                .with("nothing", Value::Null)
                .with("bytes", Value::Bytes(vec![0, 255, 10].into()))
                .with("empty", ""),
            Document::new().with("id", 2).with("late", 7),
            Document::new().with("id", 3),
        ];
        let lines: Vec<String> = docs
            .iter()
            .map(|d| encode_line(&Record::from_document(d.clone(), &names).unwrap()))
            .collect();
        let mut fast = Rows::default();
        for line in &lines {
            assert!(push_canonical(&mut fast, line, &names), "{line}");
        }
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let general = general(&lines, &names);
        assert_eq!(fast.columns, general.columns);
        assert_eq!(fast.rows, general.rows);
    }

    #[test]
    fn a_run_of_lines_some_canonical_some_not_makes_the_rows_the_general_reader_makes() {
        let names = vec!["id".to_owned()];
        let lines: Vec<String> = (0..200_i64)
            .map(|i| {
                let mut doc = Document::new().with("id", i).with(
                    "text",
                    format!("line {i} {}", "é✓\"\n".repeat((i % 3) as usize)),
                );
                match i % 5 {
                    0 => doc = crate::codec::tests::every_kind().with("id", i),
                    1 => {
                        doc.insert("n", i64::MIN + i);
                    }
                    2 => {
                        doc.insert(format!("only-{}", i % 7), Value::Null);
                    }
                    _ => {}
                }
                encode_line(&Record::from_document(doc, &names).unwrap())
            })
            .collect();
        let mut canonical = Rows::default();
        let taken = lines
            .iter()
            .filter(|line| push_canonical(&mut canonical, line, &names))
            .count();
        let mut both = Rows::default();
        for line in &lines {
            both.push_line(line, &names).unwrap();
        }
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let general = general(&lines, &names);
        assert_eq!(both.columns, general.columns);
        assert_eq!(both.rows, general.rows);
        // Both kinds of line were met: the canonical ones without escapes, the others.
        assert!(taken > 50 && taken < 150, "{taken} taken");
    }

    #[test]
    fn a_repeated_attribute_keeps_its_last_value_as_in_the_general_reader() {
        let names = vec!["id".to_owned()];
        let line = r#"{"k":{"id":{"N":"1"},"id":{"N":"2"}},"v":{"id":{"N":"1"},"a":{"S":"x"},"id":{"N":"2"}}}"#;
        let mut fast = Rows::default();
        assert!(push_canonical(&mut fast, line, &names));
        let general = general(&[line], &names);
        assert_eq!(fast.columns, general.columns);
        assert_eq!(fast.rows, general.rows);
    }

    #[test]
    fn every_other_form_is_declined_and_leaves_the_rows_as_they_were() {
        let names = vec!["id".to_owned()];
        let mut rows = Rows::default();
        let first = r#"{"k":{"id":{"N":"0"}},"v":{"id":{"N":"0"}}}"#;
        assert!(push_canonical(&mut rows, first, &names));
        for line in [
            // Whitespace, an escape, a control character: valid JSON the general reader takes.
            r#"{"k": {"id":{"N":"1"}},"v":{"id":{"N":"1"},"new":{"S":"x"}}}"#,
            r#"{"k":{"id":{"N":"1"}},"v":{"new":{"S":"a\"b"},"id":{"N":"1"}}}"#,
            "{\"k\":{\"id\":{\"N\":\"1\"}},\"v\":{\"new\":{\"S\":\"a\tb\"}}}",
            // Lists, maps and sets, members in another order or besides k and v.
            r#"{"k":{"id":{"N":"1"}},"v":{"new":{"L":[]},"id":{"N":"1"}}}"#,
            r#"{"k":{"id":{"N":"1"}},"v":{"new":{"SS":["a"]}}}"#,
            r#"{"v":{"id":{"N":"1"}},"k":{"id":{"N":"1"}}}"#,
            r#"{"k":{"id":{"N":"1"}},"v":{"id":{"N":"1"}},"x":1}"#,
            // What the general reader refuses: bad values, a missing key, trailing text.
            r#"{"k":{"id":{"N":"1"}},"v":{"new":{"N":"abc"}}}"#,
            r#"{"k":{"id":{"N":"1"}},"v":{"new":{"B":"***"}}}"#,
            r#"{"k":{"id":{"N":"1"}},"v":{"new":{"NULL":false}}}"#,
            r#"{"k":{"id":{"N":"1"}},"v":{"new":{"S":"a","N":"1"}}}"#,
            r#"{"k":{},"v":{"new":{"S":"a"}}}"#,
            r#"{"k":{"other":{"S":"a"}},"v":{"new":{"S":"a"}}}"#,
            r#"{"k":{"id":{"BOOL":true}},"v":{"new":{"S":"a"}}}"#,
            r#"{"k":{"id":{"N":"1"}},"v":{"new":{"S":"a"}}} "#,
            r#"{"k":{"id":{"N":"1"}},"v":{"new":{"S":"a"}}}x"#,
            r#"{"k":{"id":{"N":"1"}},"v":{"new":{"S":"a"}"#,
        ] {
            assert!(!push_canonical(&mut rows, line, &names), "{line}");
            assert_eq!(rows.columns, ["id"], "{line}");
            assert_eq!(rows.len(), 1, "{line}");
        }
    }
}
