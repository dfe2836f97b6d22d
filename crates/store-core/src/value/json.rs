//! Conversions between [`Value`] and `serde_json::Value`, for JSON-speaking backends.

use base64::Engine as _;

use super::{Document, Number, Value};
use crate::error::StoreError;

/// Converts a [`Value`] to JSON.
///
/// Numbers become JSON numbers when an integer or `f64` holds them exactly (numerically: `1.50`
/// becomes `1.5`), and JSON strings of their exact digits otherwise, so no digit is lost. Bytes become base64 strings; sets become arrays.
pub fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => number_to_json(n),
        Value::String(s) => J::String(s.clone()),
        Value::Bytes(b) => J::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::List(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(doc) => J::Object(
            doc.iter()
                .map(|(k, v)| (k.to_owned(), to_json(v)))
                .collect(),
        ),
        Value::StringSet(set) => J::Array(set.iter().cloned().map(J::String).collect()),
        Value::NumberSet(set) => J::Array(set.iter().map(number_to_json).collect()),
        Value::BytesSet(set) => J::Array(
            set.iter()
                .map(|b| J::String(base64::engine::general_purpose::STANDARD.encode(b)))
                .collect(),
        ),
    }
}

fn number_to_json(n: &Number) -> serde_json::Value {
    if n.is_integer() {
        if let Some(i) = n.to_i64() {
            return i.into();
        }
        if let Some(u) = n.to_u64() {
            return u.into();
        }
    }
    // A JSON number only if reading it gives these digits back: serde_json prints the
    // shortest decimal of the double, which at a tie may differ from this number's digits.
    if let Some(json) = serde_json::Number::from_f64(n.to_f64())
        && json
            .to_string()
            .parse::<Number>()
            .is_ok_and(|back| &back == n)
    {
        return json.into();
    }
    serde_json::Value::String(n.to_string())
}

/// Converts JSON to a [`Value`], keeping every digit serde_json kept.
pub fn from_json(json: serde_json::Value) -> Result<Value, StoreError> {
    use serde_json::Value as J;
    Ok(match json {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => Value::Number(n.to_string().parse()?),
        J::String(s) => Value::String(s),
        J::Array(items) => Value::List(items.into_iter().map(from_json).collect::<Result<_, _>>()?),
        J::Object(map) => Value::Map(
            map.into_iter()
                .map(|(k, v)| Ok((k, from_json(v)?)))
                .collect::<Result<Document, StoreError>>()?,
        ),
    })
}
