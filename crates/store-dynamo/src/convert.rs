//! Lossless conversion between the core value model and DynamoDB's `AttributeValue`.
//!
//! | `Value` | `AttributeValue` |
//! |---|---|
//! | `Null` | `NULL` |
//! | `Bool` | `BOOL` |
//! | `Number` | `N`, the exact decimal text (never a float) |
//! | `String` | `S` |
//! | `Bytes` | `B` |
//! | `List` | `L` |
//! | `Map` | `M` |
//! | `StringSet` / `NumberSet` / `BytesSet` | `SS` / `NS` / `BS` |
//!
//! Numbers keep every digit DynamoDB keeps (38 significant digits, magnitudes 1E-130 to
//! 9.99…E+125); [`to_attribute`] does not check the range, the store does before it sends.
//!
//! ```
//! use store_core::{Document, Number, Value};
//! use store_dynamo::convert::{from_attribute, to_attribute};
//! let n: Number = "12345678901234567890123456789012345678".parse().unwrap();
//! let av = to_attribute(&Value::Number(n.clone()));
//! assert_eq!(av.as_n().unwrap(), "12345678901234567890123456789012345678");
//! assert_eq!(from_attribute(&av).unwrap(), Value::Number(n));
//! ```

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use store_core::{DocKey, Document, KeySchema, KeyValue, Number, Result, StoreError, Value};

/// A DynamoDB item: attribute name to value.
pub type Item = HashMap<String, AttributeValue>;

/// Converts a core value to a DynamoDB attribute value, losing nothing.
pub fn to_attribute(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Bytes(b) => AttributeValue::B(Blob::new(b.to_vec())),
        Value::List(items) => AttributeValue::L(items.iter().map(to_attribute).collect()),
        Value::Map(doc) => AttributeValue::M(to_item(doc)),
        Value::StringSet(set) => AttributeValue::Ss(set.iter().cloned().collect()),
        Value::NumberSet(set) => AttributeValue::Ns(set.iter().map(Number::to_string).collect()),
        Value::BytesSet(set) => {
            AttributeValue::Bs(set.iter().map(|b| Blob::new(b.to_vec())).collect())
        }
    }
}

/// Converts a DynamoDB attribute value to a core value; a malformed number or an attribute
/// type this library does not know is `Internal` (the server sent something unexpected).
pub fn from_attribute(value: &AttributeValue) -> Result<Value> {
    Ok(match value {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(n) => Value::Number(parse_number(n)?),
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::B(b) => Value::Bytes(Bytes::copy_from_slice(b.as_ref())),
        AttributeValue::L(items) => {
            Value::List(items.iter().map(from_attribute).collect::<Result<_>>()?)
        }
        AttributeValue::M(map) => Value::Map(from_item(map)?),
        AttributeValue::Ss(set) => Value::StringSet(set.iter().cloned().collect()),
        AttributeValue::Ns(set) => Value::NumberSet(
            set.iter()
                .map(|n| parse_number(n))
                .collect::<Result<BTreeSet<_>>>()?,
        ),
        AttributeValue::Bs(set) => Value::BytesSet(
            set.iter()
                .map(|b| Bytes::copy_from_slice(b.as_ref()))
                .collect(),
        ),
        other => {
            return Err(StoreError::internal(format!(
                "DynamoDB returned an attribute type this library does not know: {other:?}"
            )));
        }
    })
}

fn parse_number(text: &str) -> Result<Number> {
    text.parse().map_err(|e: StoreError| {
        StoreError::internal(format!(
            "DynamoDB returned a number that does not parse: {}",
            e.message()
        ))
    })
}

/// Converts a document to a DynamoDB item.
pub fn to_item(doc: &Document) -> Item {
    doc.iter()
        .map(|(name, value)| (name.to_owned(), to_attribute(value)))
        .collect()
}

/// Converts a DynamoDB item to a document. DynamoDB does not keep attribute order, so the
/// document's fields come sorted by name, for a stable order.
pub fn from_item(item: &Item) -> Result<Document> {
    let mut names: Vec<&String> = item.keys().collect();
    names.sort();
    let mut doc = Document::with_capacity(names.len());
    for name in names {
        doc.insert(name.clone(), from_attribute(&item[name])?);
    }
    Ok(doc)
}

/// The attribute value of a key value.
pub fn key_attribute(value: &KeyValue) -> AttributeValue {
    match value {
        KeyValue::String(s) => AttributeValue::S(s.clone()),
        KeyValue::Number(n) => AttributeValue::N(n.to_string()),
        KeyValue::Bytes(b) => AttributeValue::B(Blob::new(b.to_vec())),
    }
}

/// The DynamoDB `Key` map of a (validated) key.
pub fn key_item(schema: &KeySchema, key: &DocKey) -> Item {
    let mut item = Item::with_capacity(2);
    item.insert(schema.partition.name.clone(), key_attribute(&key.partition));
    if let (Some(attr), Some(sort)) = (&schema.sort, &key.sort) {
        item.insert(attr.name.clone(), key_attribute(sort));
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> Number {
        s.parse().unwrap()
    }

    fn round_trip(value: Value) {
        let av = to_attribute(&value);
        let back = from_attribute(&av).unwrap();
        assert_eq!(back, value, "through {av:?}");
        // Equality of numbers is numeric; the text must be exact too.
        if let (Value::Number(a), Value::Number(b)) = (&back, &value) {
            assert_eq!(a.to_string(), b.to_string());
        }
    }

    #[test]
    fn every_type_round_trips() {
        let doc = Document::new()
            .with("s", "text")
            .with("n", num("-12.50"))
            .with("b", Value::Bytes(Bytes::from_static(&[0, 159, 255])))
            .with("t", true)
            .with("z", Value::Null);
        for value in [
            Value::Null,
            Value::Bool(false),
            Value::String(String::new()),
            Value::String("héllo 🌍".into()),
            Value::Bytes(Bytes::new()),
            Value::Bytes(Bytes::from_static(b"\x00\x01binary\xff")),
            Value::List(vec![Value::from(1), Value::from("a"), Value::Null]),
            Value::Map(doc.clone()),
            Value::List(vec![Value::Map(doc.clone()), Value::List(vec![])]),
            Value::StringSet(BTreeSet::from(["a".into(), "b".into()])),
            Value::NumberSet(BTreeSet::from([num("1"), num("-2.5"), num("1E+125")])),
            Value::BytesSet(BTreeSet::from([Bytes::from_static(b"x"), Bytes::new()])),
        ] {
            round_trip(value);
        }
    }

    #[test]
    fn numbers_keep_every_digit_at_the_edges() {
        for text in [
            "0",
            "-0.5",
            "1.50",
            "12345678901234567890123456789012345678",
            "-12345678901234567890123456789012345678",
            "0.12345678901234567890123456789012345678",
            "1E-130",
            "-1E-130",
            "9.9999999999999999999999999999999999999E+125",
            "-9.9999999999999999999999999999999999999E+125",
            "1.2345678901234567890123456789012345678E-93",
        ] {
            let n = num(text);
            let av = to_attribute(&Value::Number(n.clone()));
            let sent = av.as_n().unwrap().clone();
            assert_eq!(sent.parse::<Number>().unwrap(), n, "{text} sent as {sent}");
            round_trip(Value::Number(n));
        }
        // What DynamoDB sends back in its own notation parses exactly.
        let back = from_attribute(&AttributeValue::N("1E+125".into())).unwrap();
        assert_eq!(
            back,
            Value::Number(num(
                "100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            ))
        );
        assert_eq!(
            from_attribute(&AttributeValue::N("0.1000".into())).unwrap(),
            Value::Number(num("0.1"))
        );
    }

    #[test]
    fn malformed_numbers_from_the_server_are_internal() {
        let err = from_attribute(&AttributeValue::N("NaN".into())).unwrap_err();
        assert_eq!(err.kind(), store_core::ErrorKind::Internal);
        let err = from_attribute(&AttributeValue::Ns(vec!["1".into(), "x".into()])).unwrap_err();
        assert_eq!(err.kind(), store_core::ErrorKind::Internal);
    }

    #[test]
    fn items_and_keys_convert() {
        let doc = Document::new()
            .with("pk", "a")
            .with("sk", 3)
            .with("m", Document::new().with("x.y", vec![1, 2]));
        let item = to_item(&doc);
        assert_eq!(item["pk"], AttributeValue::S("a".into()));
        assert_eq!(item["sk"], AttributeValue::N("3".into()));
        assert_eq!(from_item(&item).unwrap(), doc);

        let schema = KeySchema::partition("pk", store_core::KeyType::String)
            .with_sort("sk", store_core::KeyType::Number);
        let key = DocKey::partition("a").with_sort(3);
        let k = key_item(&schema, &key);
        assert_eq!(k.len(), 2);
        assert_eq!(k["sk"], AttributeValue::N("3".into()));
        let bytes_key = key_attribute(&KeyValue::Bytes(Bytes::from_static(b"\x01")));
        assert_eq!(bytes_key, AttributeValue::B(Blob::new(vec![1])));
    }
}
