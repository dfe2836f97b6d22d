//! Rules for values and items: storable numbers, non-empty sets, nesting depth, attribute
//! names and the item size limit.

use crate::document::{MAX_ITEM_BYTES, Path, PathSegment};
use crate::error::{Result, StoreError};
use crate::keys::DocKey;
use crate::value::{Document, Number, Value};

/// The most significant digits DynamoDB keeps in a number.
pub const MAX_NUMBER_DIGITS: usize = 38;
/// The smallest and largest decimal exponents of a non-zero DynamoDB number's leading digit.
const EXPONENT_RANGE: std::ops::RangeInclusive<i64> = -130..=125;
/// The deepest level a value may reach: an item's attribute is level 1, and each map or list
/// puts its elements one level deeper. DynamoDB refuses items nested deeper.
pub const MAX_NESTING_DEPTH: usize = 32;
/// The longest attribute name, in bytes of UTF-8 (DynamoDB: "less than 64 KB").
pub const MAX_ATTRIBUTE_NAME_BYTES: usize = 65_535;
/// The most segments a document path may have (DynamoDB's maximum path depth).
pub const MAX_PATH_DEPTH: usize = 32;

/// Rejects a path with no segment, an empty or over-long attribute name, or more than
/// [`MAX_PATH_DEPTH`] segments.
pub fn check_path(path: &Path) -> Result<()> {
    let empty_name = path
        .segments()
        .iter()
        .any(|s| matches!(s, PathSegment::Field(name) if name.is_empty()));
    if path.segments().is_empty() || empty_name {
        return Err(StoreError::invalid_input(format!(
            "the path `{path}` has an empty attribute name"
        )));
    }
    if path.segments().len() > MAX_PATH_DEPTH {
        return Err(StoreError::invalid_input(format!(
            "a path has at most {MAX_PATH_DEPTH} segments, got {}",
            path.segments().len()
        )));
    }
    path.segments().iter().try_for_each(|s| match s {
        PathSegment::Field(name) => check_name_length(name),
        PathSegment::Index(_) => Ok(()),
    })
}

/// Rejects values DynamoDB cannot store, at any depth: empty sets, numbers beyond 38
/// significant digits or outside 1E-130..=9.9999999999999999999999999999999999999E+125 in
/// magnitude, map keys longer than [`MAX_ATTRIBUTE_NAME_BYTES`], and maps or lists nested past
/// [`MAX_NESTING_DEPTH`] (the value is taken as an attribute, at level 1).
pub fn check_value(value: &Value) -> Result<()> {
    check_value_at(value, 1)
}

fn check_value_at(value: &Value, level: usize) -> Result<()> {
    let nested = matches!(value, Value::List(_) | Value::Map(_));
    if nested && level >= MAX_NESTING_DEPTH {
        return Err(StoreError::invalid_input(format!(
            "a value is nested more than {MAX_NESTING_DEPTH} levels deep, which DynamoDB \
             refuses; flatten it or store it as a string"
        )));
    }
    match value {
        Value::Number(n) => check_number(n),
        Value::NumberSet(set) if set.is_empty() => Err(empty_set(value)),
        Value::NumberSet(set) => set.iter().try_for_each(check_number),
        Value::StringSet(set) if set.is_empty() => Err(empty_set(value)),
        Value::BytesSet(set) if set.is_empty() => Err(empty_set(value)),
        Value::List(items) => items.iter().try_for_each(|v| check_value_at(v, level + 1)),
        Value::Map(doc) => doc.iter().try_for_each(|(name, v)| {
            check_name_length(name)?;
            check_value_at(v, level + 1)
        }),
        _ => Ok(()),
    }
}

fn check_name_length(name: &str) -> Result<()> {
    if name.len() > MAX_ATTRIBUTE_NAME_BYTES {
        return Err(StoreError::invalid_input(format!(
            "an attribute name of {} bytes is longer than the {MAX_ATTRIBUTE_NAME_BYTES} bytes \
             allowed",
            name.len()
        )));
    }
    Ok(())
}

fn empty_set(value: &Value) -> StoreError {
    StoreError::invalid_input(format!(
        "an empty {} cannot be stored; remove the attribute instead",
        value.type_name()
    ))
}

/// Rejects numbers DynamoDB cannot store: more than 38 significant digits, or a magnitude
/// outside 1E-130..=9.9999999999999999999999999999999999999E+125.
pub fn check_number(n: &Number) -> Result<()> {
    if n.is_zero() {
        return Ok(());
    }
    if n.significant_digits() > MAX_NUMBER_DIGITS {
        return Err(StoreError::invalid_input(format!(
            "the number {n} has {} significant digits; at most {MAX_NUMBER_DIGITS} are kept",
            n.significant_digits()
        )));
    }
    if !EXPONENT_RANGE.contains(&n.adjusted_exponent()) {
        return Err(StoreError::invalid_input(format!(
            "the number {n} is out of range: magnitudes from 1E-130 to \
             9.9999999999999999999999999999999999999E+125 can be stored"
        )));
    }
    Ok(())
}

/// Checks a whole item before it is stored: attribute names, storable values (see
/// [`check_value`]) and the size limit ([`MAX_ITEM_BYTES`]); the error names `key`.
pub fn check_item(item: &Document, key: &DocKey) -> Result<()> {
    for (name, value) in item.iter() {
        if name.is_empty() {
            return Err(StoreError::invalid_input("an attribute name is empty"));
        }
        check_name_length(name)?;
        check_value(value)?;
    }
    let size = item.approximate_size();
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::invalid_input(format!(
            "the item `{key}` is about {size} bytes; at most {MAX_ITEM_BYTES} bytes are allowed"
        )));
    }
    Ok(())
}
