//! Rules for keys: types, emptiness, storable numbers and DynamoDB's key length limits.

use super::values::{check_number, check_value};
use crate::error::{Result, StoreError};
use crate::keys::{DocKey, KeyAttribute, KeySchema, KeyType, KeyValue};
use crate::value::Value;

/// The longest partition key value, in bytes.
pub const MAX_PARTITION_KEY_BYTES: usize = 2_048;
/// The longest sort key value, in bytes.
pub const MAX_SORT_KEY_BYTES: usize = 1_024;

/// Checks a key against the schema: types, non-empty strings and bytes, storable numbers,
/// and values no longer than [`MAX_PARTITION_KEY_BYTES`] / [`MAX_SORT_KEY_BYTES`].
pub fn check_key(schema: &KeySchema, key: &DocKey) -> Result<()> {
    schema.validate(key)?;
    let parts = std::iter::once((&key.partition, &schema.partition, MAX_PARTITION_KEY_BYTES))
        .chain(
            schema
                .sort
                .as_ref()
                .zip(key.sort.as_ref())
                .map(|(attr, value)| (value, attr, MAX_SORT_KEY_BYTES)),
        );
    for (value, attr, limit) in parts {
        check_key_length(attr, value, limit)?;
        if let KeyValue::Number(n) = value {
            check_number(n)?;
        }
    }
    Ok(())
}

fn check_key_length(attr: &KeyAttribute, value: &KeyValue, limit: usize) -> Result<()> {
    let len = match value {
        KeyValue::String(s) => s.len(),
        KeyValue::Bytes(b) => b.len(),
        KeyValue::Number(_) => 0,
    };
    if len > limit {
        return Err(StoreError::invalid_input(format!(
            "key attribute `{}` is {len} bytes long; at most {limit} bytes are allowed",
            attr.name
        )));
    }
    Ok(())
}

/// Checks a value given for a key attribute (a query's partition, a sort condition's bound).
pub fn check_key_value(attr: &KeyAttribute, value: &Value) -> Result<()> {
    let type_matches = matches!(
        (attr.key_type, value),
        (KeyType::String, Value::String(_))
            | (KeyType::Number, Value::Number(_))
            | (KeyType::Bytes, Value::Bytes(_))
    );
    if !type_matches {
        return Err(StoreError::invalid_input(format!(
            "key attribute `{}` is a {}, but a {} was given",
            attr.name,
            type_label(attr.key_type),
            value.type_name()
        )));
    }
    let empty = match value {
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        _ => false,
    };
    if empty {
        return Err(StoreError::invalid_input(format!(
            "key attribute `{}` is empty",
            attr.name
        )));
    }
    check_value(value)
}

fn type_label(key_type: KeyType) -> &'static str {
    match key_type {
        KeyType::String => "string",
        KeyType::Number => "number",
        KeyType::Bytes => "bytes",
    }
}
