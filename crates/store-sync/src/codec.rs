//! The typed JSON encoding of values used by archives and checkpoints.
//!
//! It is DynamoDB's JSON shape, so every value keeps its type and every digit: a number is
//! `{"N": "12.50"}` (its exact decimal text), bytes are `{"B": "<base64>"}`, sets are `SS`, `NS`
//! and `BS`, lists `L`, maps `M`, booleans `BOOL`, null `{"NULL": true}`, text `S`. A line of an
//! archive holds documents in this encoding, so `jq` can read it and no number is rounded.
//!
//! ```
//! use store_core::{Document, Value};
//! use store_sync::codec::{decode_document, encode_document};
//! let doc = Document::new().with("price", "12345678901234567890123456789012345678".parse::<store_core::Number>().unwrap());
//! let json = encode_document(&doc);
//! assert_eq!(json["price"]["N"], "12345678901234567890123456789012345678");
//! assert_eq!(decode_document(&json).unwrap(), doc);
//! ```

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Map, Value as Json, json};
use store_core::{Document, Number, Result, StoreError, Value};

/// Encodes one value as typed JSON.
pub fn encode_value(value: &Value) -> Json {
    match value {
        Value::Null => json!({ "NULL": true }),
        Value::Bool(b) => json!({ "BOOL": b }),
        Value::Number(n) => json!({ "N": n.to_string() }),
        Value::String(s) => json!({ "S": s }),
        Value::Bytes(b) => json!({ "B": STANDARD.encode(b) }),
        Value::List(items) => json!({ "L": items.iter().map(encode_value).collect::<Vec<_>>() }),
        Value::Map(doc) => json!({ "M": encode_document(doc) }),
        Value::StringSet(set) => json!({ "SS": set }),
        Value::NumberSet(set) => {
            json!({ "NS": set.iter().map(ToString::to_string).collect::<Vec<_>>() })
        }
        Value::BytesSet(set) => {
            json!({ "BS": set.iter().map(|b| STANDARD.encode(b)).collect::<Vec<_>>() })
        }
    }
}

/// Encodes a document as a JSON object of typed values, in the document's attribute order.
pub fn encode_document(doc: &Document) -> Json {
    Json::Object(
        doc.iter()
            .map(|(name, value)| (name.to_owned(), encode_value(value)))
            .collect::<Map<String, Json>>(),
    )
}

/// Decodes a typed JSON value; anything else is a clear `InvalidInput` error.
pub fn decode_value(json: &Json) -> Result<Value> {
    let object = json
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| bad(json, "a typed value is an object with exactly one type tag"))?;
    let (tag, inner) = object.iter().next().expect("one entry");
    Ok(match tag.as_str() {
        "NULL" => match inner {
            Json::Bool(true) => Value::Null,
            _ => return Err(bad(json, "NULL must be true")),
        },
        "BOOL" => Value::Bool(
            inner
                .as_bool()
                .ok_or_else(|| bad(json, "BOOL needs a boolean"))?,
        ),
        "N" => Value::Number(number(inner)?),
        "S" => Value::String(text(inner)?.to_owned()),
        "B" => Value::Bytes(bytes(inner)?),
        "L" => Value::List(
            array(inner)?
                .iter()
                .map(decode_value)
                .collect::<Result<_>>()?,
        ),
        "M" => Value::Map(decode_document(inner)?),
        "SS" => Value::StringSet(
            array(inner)?
                .iter()
                .map(|s| text(s).map(str::to_owned))
                .collect::<Result<BTreeSet<_>>>()?,
        ),
        "NS" => Value::NumberSet(array(inner)?.iter().map(number).collect::<Result<_>>()?),
        "BS" => Value::BytesSet(array(inner)?.iter().map(bytes).collect::<Result<_>>()?),
        other => {
            return Err(StoreError::invalid_input(format!(
                "unknown type tag `{other}` in typed JSON"
            )));
        }
    })
}

/// Decodes a JSON object of typed values into a document.
pub fn decode_document(json: &Json) -> Result<Document> {
    let object = json
        .as_object()
        .ok_or_else(|| bad(json, "a document is a JSON object"))?;
    let mut doc = Document::with_capacity(object.len());
    for (name, value) in object {
        doc.insert(name.clone(), decode_value(value)?);
    }
    Ok(doc)
}

fn number(json: &Json) -> Result<Number> {
    text(json)?.parse()
}

fn text(json: &Json) -> Result<&str> {
    json.as_str()
        .ok_or_else(|| bad(json, "expected a JSON string"))
}

fn bytes(json: &Json) -> Result<Bytes> {
    STANDARD
        .decode(text(json)?)
        .map(Bytes::from)
        .map_err(|e| StoreError::invalid_input(format!("bad base64 in typed JSON: {e}")))
}

fn array(json: &Json) -> Result<&Vec<Json>> {
    json.as_array()
        .ok_or_else(|| bad(json, "expected a JSON array"))
}

fn bad(json: &Json, why: &str) -> StoreError {
    let mut shown = json.to_string();
    if shown.len() > 80 {
        let mut cut = 80;
        while !shown.is_char_boundary(cut) {
            cut -= 1;
        }
        shown.truncate(cut);
        shown.push('…');
    }
    StoreError::invalid_input(format!("bad typed JSON {shown}: {why}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A document holding every kind of value at its limits.
    pub(crate) fn every_kind() -> Document {
        Document::new()
            .with("null", Value::Null)
            .with("yes", true)
            .with(
                "big",
                "-12345678901234567890123456789012345678"
                    .parse::<Number>()
                    .unwrap(),
            )
            .with("tiny", "1E-130".parse::<Number>().unwrap())
            .with("scaled", "1.50".parse::<Number>().unwrap())
            .with("i64min", i64::MIN)
            .with("text", "naïve \u{0} \"quoted\"")
            .with("bytes", Value::Bytes(Bytes::from_static(&[0, 255, 1])))
            .with("list", Value::List(vec![Value::from(1), Value::from("a")]))
            .with("map", Value::Map(Document::new().with("inner", 2)))
            .with(
                "ss",
                Value::StringSet(["b".to_owned(), "a".to_owned()].into()),
            )
            .with(
                "ns",
                Value::NumberSet([Number::from(3), Number::from(-1)].into()),
            )
            .with("bs", Value::BytesSet([Bytes::from_static(b"x")].into()))
            .with("empty_ss", Value::StringSet(BTreeSet::new()))
    }

    #[test]
    fn every_kind_of_value_round_trips_exactly() {
        let doc = every_kind();
        let json = encode_document(&doc);
        let back = decode_document(&json).unwrap();
        assert_eq!(back, doc);
        // Scale survives too, not only numeric equality.
        assert_eq!(json["scaled"]["N"], "1.50");
        assert_eq!(
            back.get("scaled").unwrap().as_number().unwrap().to_string(),
            "1.50"
        );
        // And through text, as an archive line stores it.
        let text = serde_json::to_string(&json).unwrap();
        let reparsed: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(decode_document(&reparsed).unwrap(), doc);
    }

    #[test]
    fn malformed_values_are_refused_with_the_reason() {
        for (input, needle) in [
            (json!({"X": 1}), "unknown type tag `X`"),
            (json!({"N": 1}), "expected a JSON string"),
            (json!({"N": "1e999999"}), ""),
            (json!({"B": "***"}), "bad base64"),
            (json!({"S": "a", "N": "1"}), "exactly one type tag"),
            (json!({"NULL": false}), "NULL must be true"),
            (json!("plain"), "exactly one type tag"),
        ] {
            let err = decode_value(&input).unwrap_err();
            assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput, "{input}");
            assert!(err.message().contains(needle), "{input}: {}", err.message());
        }
    }
}
