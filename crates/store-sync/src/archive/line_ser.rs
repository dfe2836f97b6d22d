//! Writing an archive line straight to bytes, with no JSON library between: the same bytes
//! `crate::codec` gives through `serde_json` (attributes in name order, so a batch written
//! twice is the same part, and strings escaped as `serde_json` escapes them), at a fraction
//! of the work: a string's run of plain characters is found eight bytes at a time and copied
//! whole.

use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use store_core::{Document, Value};

use super::line_fast::string_end;
use crate::record::Record;

/// The order a line's attributes are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Order {
    /// By name: an archive's lines, so a batch written twice is the same part.
    ByName,
    /// As the documents hold them: a spill file's, so a record read back is the one written.
    AsGiven,
}

/// Appends `{"k":{…},"v":{…}}`, the line of `record` without its newline; returns how many
/// lists and maps the document's deepest value nests (0 when all are scalars or sets), found
/// on the way rather than by a pass of its own.
pub(super) fn write_record(out: &mut Vec<u8>, record: &Record, order: Order) -> usize {
    out.extend_from_slice(b"{\"k\":");
    let key = record.key.parts().iter();
    write_by_name(out, key.map(|(name, value)| (name.as_str(), value)), order);
    out.extend_from_slice(b",\"v\":");
    let deepest = write_document(out, &record.doc, order);
    out.push(b'}');
    deepest
}

/// A document: typed values by attribute name; returns its deepest value's nesting.
fn write_document(out: &mut Vec<u8>, doc: &Document, order: Order) -> usize {
    write_by_name(out, doc.iter(), order)
}

/// Typed values by name, in `order` (names are distinct: a key's, a document's).
fn write_by_name<'a>(
    out: &mut Vec<u8>,
    pairs: impl Iterator<Item = (&'a str, &'a Value)>,
    order: Order,
) -> usize {
    let mut pairs: Vec<(&str, &Value)> = pairs.collect();
    if order == Order::ByName {
        pairs.sort_unstable_by_key(|(name, _)| *name);
    }
    out.push(b'{');
    let mut deepest = 0;
    for (i, (name, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, name);
        out.push(b':');
        deepest = deepest.max(write_typed(out, value, order));
    }
    out.push(b'}');
    deepest
}

/// A typed value: `{"TAG":inner}`; returns how many lists and maps it nests.
fn write_typed(out: &mut Vec<u8>, value: &Value, order: Order) -> usize {
    match value {
        Value::Null => out.extend_from_slice(b"{\"NULL\":true}"),
        Value::Bool(true) => out.extend_from_slice(b"{\"BOOL\":true}"),
        Value::Bool(false) => out.extend_from_slice(b"{\"BOOL\":false}"),
        Value::Number(n) => {
            out.extend_from_slice(b"{\"N\":\"");
            // A number's text is digits, a sign, a point and an exponent: nothing to escape.
            write!(out, "{n}").expect("writing to memory");
            out.extend_from_slice(b"\"}");
        }
        Value::String(text) => {
            out.extend_from_slice(b"{\"S\":");
            write_string(out, text);
            out.push(b'}');
        }
        Value::Bytes(bytes) => {
            out.extend_from_slice(b"{\"B\":\"");
            write_base64(out, bytes);
            out.extend_from_slice(b"\"}");
        }
        Value::List(items) => {
            out.extend_from_slice(b"{\"L\":[");
            let mut deepest = 0;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                deepest = deepest.max(write_typed(out, item, order));
            }
            out.extend_from_slice(b"]}");
            return 1 + deepest;
        }
        Value::Map(doc) => {
            out.extend_from_slice(b"{\"M\":");
            let deepest = write_document(out, doc, order);
            out.push(b'}');
            return 1 + deepest;
        }
        Value::StringSet(set) => {
            out.extend_from_slice(b"{\"SS\":");
            write_array(out, set, |out, text| write_string(out, text));
            out.push(b'}');
        }
        Value::NumberSet(set) => {
            out.extend_from_slice(b"{\"NS\":");
            write_array(out, set, |out, n| {
                write!(out, "\"{n}\"").expect("writing to memory");
            });
            out.push(b'}');
        }
        Value::BytesSet(set) => {
            out.extend_from_slice(b"{\"BS\":");
            write_array(out, set, |out, bytes| {
                out.push(b'"');
                write_base64(out, bytes);
                out.push(b'"');
            });
            out.push(b'}');
        }
    }
    0
}

/// A JSON array of `items`, each written by `write`.
fn write_array<'a, T: 'a>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = &'a T>,
    write: impl Fn(&mut Vec<u8>, &'a T),
) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// Standard base64 (with padding), which needs no escaping.
fn write_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    let at = out.len();
    out.resize(at + bytes.len().div_ceil(3) * 4, 0);
    let written = STANDARD
        .encode_slice(bytes, &mut out[at..])
        .expect("room for the padded encoding");
    out.truncate(at + written);
}

/// A JSON string, escaped as `serde_json` escapes it: `"` and `\` with a backslash, the
/// control characters as `\b \t \n \f \r` or `\u00XX`, everything else as it is.
pub(super) fn write_string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(text.len() + 2);
    out.push(b'"');
    let mut rest = text.as_bytes();
    while let Some(at) = string_end(rest) {
        out.extend_from_slice(&rest[..at]);
        let byte = rest[at];
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]),
        }
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut seeded = store_core::testkit::Seeded::new(0x1e55_cafe);
        // Every ASCII byte, a few wider characters, and runs long enough for the word scan.
        let alphabet: Vec<char> = (0u8..0x80)
            .map(char::from)
            .chain(['é', '€', '𝄞', '\u{2028}'])
            .collect();
        for _ in 0..5_000 {
            let len = seeded.below(40) as usize;
            let text: String = (0..len)
                .map(|_| {
                    if seeded.below(3) == 0 {
                        alphabet[seeded.below(alphabet.len() as u64) as usize]
                    } else {
                        'a'
                    }
                })
                .collect();
            let mut ours = Vec::new();
            write_string(&mut ours, &text);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&text).unwrap(),
                "{text:?}"
            );
        }
    }
}
