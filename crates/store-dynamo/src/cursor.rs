//! Opaque cursors carrying DynamoDB's `LastEvaluatedKey`, tagged with the table, the call
//! and the index so that a cursor from anywhere else is `InvalidInput`.

use base64::Engine as _;
use serde_json::{Map, Value as Json, json};
use store_core::{Cursor, Result, StoreError};

use crate::convert::Item;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

const TAG: &str = "store-dynamo/1";

/// Encodes a `LastEvaluatedKey` (key attributes only: S, N or B).
pub(crate) fn encode(table: &str, call: &str, index: Option<&str>, key: &Item) -> Result<Cursor> {
    let mut attrs = Map::new();
    for (name, value) in key {
        let typed = match value {
            AttributeValue::S(s) => json!({ "S": s }),
            AttributeValue::N(n) => json!({ "N": n }),
            AttributeValue::B(b) => {
                json!({ "B": base64::engine::general_purpose::STANDARD.encode(b.as_ref()) })
            }
            other => {
                return Err(StoreError::internal(format!(
                    "DynamoDB returned a LastEvaluatedKey with a non-key attribute: {other:?}"
                )));
            }
        };
        attrs.insert(name.clone(), typed);
    }
    let record = json!({
        "tag": TAG,
        "table": table,
        "call": call,
        "index": index,
        "key": attrs,
    });
    Ok(Cursor::encode(record.to_string().as_bytes()))
}

/// Decodes a cursor issued by [`encode`] for the same table, call and index.
pub(crate) fn decode(
    cursor: &Cursor,
    table: &str,
    call: &str,
    index: Option<&str>,
) -> Result<Item> {
    let foreign = || {
        StoreError::invalid_input(format!(
            "the cursor was not issued by a {call} of the DynamoDB table `{table}`{}",
            index
                .map(|i| format!(" on index `{i}`"))
                .unwrap_or_default()
        ))
    };
    let raw = cursor.decode().map_err(|_| foreign())?;
    let record: Json = serde_json::from_slice(&raw).map_err(|_| foreign())?;
    let same = record.get("tag").and_then(Json::as_str) == Some(TAG)
        && record.get("table").and_then(Json::as_str) == Some(table)
        && record.get("call").and_then(Json::as_str) == Some(call)
        && record.get("index").map(Json::as_str) == Some(index);
    if !same {
        return Err(foreign());
    }
    let attrs = record
        .get("key")
        .and_then(Json::as_object)
        .ok_or_else(foreign)?;
    let mut key = Item::with_capacity(attrs.len());
    for (name, typed) in attrs {
        let typed = typed
            .as_object()
            .filter(|t| t.len() == 1)
            .ok_or_else(foreign)?;
        let (ty, text) = typed.iter().next().ok_or_else(foreign)?;
        let text = text.as_str().ok_or_else(foreign)?;
        let value = match ty.as_str() {
            "S" => AttributeValue::S(text.to_owned()),
            "N" => AttributeValue::N(text.to_owned()),
            "B" => AttributeValue::B(Blob::new(
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|_| foreign())?,
            )),
            _ => return Err(foreign()),
        };
        key.insert(name.clone(), value);
    }
    if key.is_empty() {
        return Err(foreign());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_foreign_cursors() {
        let mut key = Item::new();
        key.insert("pk".into(), AttributeValue::S("a".into()));
        key.insert("sk".into(), AttributeValue::N("1.50".into()));
        key.insert("b".into(), AttributeValue::B(Blob::new(vec![0, 255])));
        let cursor = encode("t", "query", Some("ix"), &key).unwrap();
        let back = decode(
            &Cursor::from_token(cursor.as_token()),
            "t",
            "query",
            Some("ix"),
        )
        .unwrap();
        assert_eq!(back, key);
        for (table, call, index) in [
            ("u", "query", Some("ix")),
            ("t", "scan", Some("ix")),
            ("t", "query", None),
        ] {
            let err = decode(&cursor, table, call, index).unwrap_err();
            assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
        }
        for junk in [
            Cursor::from_token("not a cursor at all!"),
            Cursor::encode(br#"{"junk":true}"#),
            Cursor::encode(b"\x00\xff garbage"),
        ] {
            assert!(decode(&junk, "t", "query", None).is_err());
        }
    }
}
