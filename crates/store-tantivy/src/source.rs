//! `_source`: a document as typed JSON text that keeps every value exactly.
//!
//! Plain JSON loses what [`Value`] keeps (exact decimals, bytes, sets, field order), so the
//! stored source tags what JSON cannot say:
//!
//! | value | JSON |
//! |---|---|
//! | null, bool, string | itself |
//! | number | `{"n": "1.50"}` (digits and scale as written) |
//! | bytes | `{"b": "<base64>"}` |
//! | list | `[...]` |
//! | map | `{"m": [["field", value], ...]}` (field order kept) |
//! | string / number / bytes set | `{"ss": [...]}` / `{"ns": ["1", ...]}` / `{"bs": ["<base64>", ...]}` |
//!
//! ```text
//! {"m":[["title",{"n":"1.50"}],["tags",["a","b"]]]}
//! ```

use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value as Json;
use store_core::{Document, Result, StoreError, Value};

/// The typed JSON text of a document, written straight into a buffer (no JSON tree in
/// between: this runs for every document indexed).
pub(crate) fn encode(doc: &Document) -> Vec<u8> {
    // The JSON is a little longer than the values: room for the tags, in one allocation.
    let mut out = Vec::with_capacity(doc.approximate_size() + 16 * doc.len() + 16);
    write_map(&mut out, doc);
    out
}

/// The document of a typed JSON text written by [`encode`].
pub(crate) fn decode(text: &[u8]) -> Result<Document> {
    let json: Json = serde_json::from_slice(text).map_err(|e| corrupt(&e.to_string()))?;
    decode_map(&json)
}

/// A JSON string, escaped as serde_json escapes it.
fn write_str(out: &mut Vec<u8>, text: &str) {
    // Writing into a Vec cannot fail, and a &str always serializes.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// `{"<tag>": "<text>"}`.
fn write_tagged(out: &mut Vec<u8>, tag: &str, text: &str) {
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(b"\":");
    write_str(out, text);
    out.push(b'}');
}

/// `{"<tag>": ["<text>", ...]}`.
fn write_tagged_list<'a>(
    out: &mut Vec<u8>,
    tag: &str,
    texts: impl Iterator<Item = std::borrow::Cow<'a, str>>,
) {
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(b"\":[");
    for (i, text) in texts.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, &text);
    }
    out.extend_from_slice(b"]}");
}

fn write_map(out: &mut Vec<u8>, doc: &Document) {
    out.extend_from_slice(b"{\"m\":[");
    for (i, (name, value)) in doc.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        write_str(out, name);
        out.push(b',');
        write_value(out, value);
        out.push(b']');
    }
    out.extend_from_slice(b"]}");
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    use std::borrow::Cow;
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::String(s) => write_str(out, s),
        Value::Number(n) => {
            // A number's text (digits, `-`, `.`, `E`) needs no escaping.
            out.extend_from_slice(b"{\"n\":\"");
            let _ = write!(out, "{n}");
            out.extend_from_slice(b"\"}");
        }
        Value::Bytes(b) => write_tagged(out, "b", &STANDARD.encode(b)),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Map(doc) => write_map(out, doc),
        Value::StringSet(set) => {
            write_tagged_list(out, "ss", set.iter().map(|s| Cow::Borrowed(s.as_str())))
        }
        Value::NumberSet(set) => {
            write_tagged_list(out, "ns", set.iter().map(|n| Cow::Owned(n.to_string())))
        }
        Value::BytesSet(set) => write_tagged_list(
            out,
            "bs",
            set.iter().map(|b| Cow::Owned(STANDARD.encode(b))),
        ),
    }
}

fn corrupt(why: &str) -> StoreError {
    StoreError::internal(format!(
        "a stored _source is not store-tantivy's typed JSON: {why}"
    ))
}

fn decode_map(json: &Json) -> Result<Document> {
    let fields = json
        .get("m")
        .and_then(Json::as_array)
        .ok_or_else(|| corrupt("a map is not {\"m\": [...]}"))?;
    let mut doc = Document::with_capacity(fields.len());
    for field in fields {
        match field.as_array().map(Vec::as_slice) {
            Some([Json::String(k), v]) => {
                doc.insert(k.clone(), decode_value(v)?);
            }
            _ => return Err(corrupt("a map entry is not [name, value]")),
        }
    }
    Ok(doc)
}

fn decode_value(json: &Json) -> Result<Value> {
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::List(items.iter().map(decode_value).collect::<Result<_>>()?),
        Json::Number(_) => return Err(corrupt("a bare JSON number")),
        Json::Object(obj) => {
            let (tag, inner) = obj
                .iter()
                .next()
                .filter(|_| obj.len() == 1)
                .ok_or_else(|| corrupt("an object with other than one tag"))?;
            let strings = || -> Result<Vec<&str>> {
                inner
                    .as_array()
                    .ok_or_else(|| corrupt("a set is not an array"))?
                    .iter()
                    .map(|s| {
                        s.as_str()
                            .ok_or_else(|| corrupt("a set member is not text"))
                    })
                    .collect()
            };
            let text = || {
                inner
                    .as_str()
                    .ok_or_else(|| corrupt("a tagged value is not text"))
            };
            match tag.as_str() {
                "n" => Value::Number(text()?.parse()?),
                "b" => Value::Bytes(bytes(text()?)?.into()),
                "m" => Value::Map(decode_map(json)?),
                "ss" => Value::StringSet(strings()?.into_iter().map(str::to_owned).collect()),
                "ns" => Value::NumberSet(
                    strings()?
                        .into_iter()
                        .map(str::parse)
                        .collect::<Result<_>>()?,
                ),
                "bs" => Value::BytesSet(
                    strings()?
                        .into_iter()
                        .map(|s| bytes(s).map(Into::into))
                        .collect::<Result<_>>()?,
                ),
                other => return Err(corrupt(&format!("unknown tag `{other}`"))),
            }
        }
    })
}

fn bytes(text: &str) -> Result<Vec<u8>> {
    STANDARD
        .decode(text)
        .map_err(|e| corrupt(&format!("bad base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_the_documented_format_byte_for_byte() {
        let doc = Document::new()
            .with("title", "1.50".parse::<store_core::Number>().unwrap())
            .with("tags", Value::List(vec!["a".into(), "b\"\n".into()]));
        let text = String::from_utf8(encode(&doc)).unwrap();
        assert_eq!(
            text,
            r#"{"m":[["title",{"n":"1.50"}],["tags",["a","b\"\n"]]]}"#
        );
    }

    #[test]
    fn every_value_round_trips_exactly() {
        let doc = Document::new()
            .with("z", Value::Null)
            .with("price", Value::Number("1.50".parse().unwrap()))
            .with(
                "big",
                Value::Number("12345678901234567890123456789012345678".parse().unwrap()),
            )
            .with("ok", true)
            .with("bin", Value::Bytes(vec![0u8, 255, 7].into()))
            .with("tags", Value::List(vec!["a".into(), 2.into()]))
            .with(
                "nested",
                Value::Map(Document::new().with("b", 1).with("a", 2)),
            )
            .with(
                "ss",
                Value::StringSet(["x".to_owned(), "y".to_owned()].into()),
            )
            .with(
                "ns",
                Value::NumberSet([1.into(), "2.5".parse().unwrap()].into()),
            )
            .with("bs", Value::BytesSet([vec![1u8].into()].into()));
        let text = encode(&doc);
        let back = decode(&text).unwrap();
        assert_eq!(back, doc);
        assert_eq!(
            back.keys().collect::<Vec<_>>(),
            doc.keys().collect::<Vec<_>>()
        );
        let Some(Value::Number(n)) = back.get("price") else {
            panic!("price")
        };
        assert_eq!(n.to_string(), "1.50", "scale kept");
        assert!(decode(b"{\"m\":[[\"a\",1]]}").is_err());
    }
}
