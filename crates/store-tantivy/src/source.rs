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

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value as Json, json};
use store_core::{Document, Number, Result, StoreError, Value};

/// The typed JSON text of a document.
pub(crate) fn encode(doc: &Document) -> String {
    encode_map(doc).to_string()
}

/// The document of a typed JSON text written by [`encode`].
pub(crate) fn decode(text: &[u8]) -> Result<Document> {
    let json: Json = serde_json::from_slice(text).map_err(|e| corrupt(&e.to_string()))?;
    decode_map(&json)
}

fn encode_map(doc: &Document) -> Json {
    let fields: Vec<Json> = doc
        .iter()
        .map(|(k, v)| Json::Array(vec![Json::String(k.to_owned()), encode_value(v)]))
        .collect();
    json!({ "m": fields })
}

fn encode_value(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::String(s) => Json::String(s.clone()),
        Value::Number(n) => json!({ "n": n.to_string() }),
        Value::Bytes(b) => json!({ "b": STANDARD.encode(b) }),
        Value::List(items) => Json::Array(items.iter().map(encode_value).collect()),
        Value::Map(doc) => encode_map(doc),
        Value::StringSet(set) => json!({ "ss": set.iter().collect::<Vec<_>>() }),
        Value::NumberSet(set) => {
            json!({ "ns": set.iter().map(Number::to_string).collect::<Vec<_>>() })
        }
        Value::BytesSet(set) => {
            json!({ "bs": set.iter().map(|b| STANDARD.encode(b)).collect::<Vec<_>>() })
        }
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
        let back = decode(text.as_bytes()).unwrap();
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
