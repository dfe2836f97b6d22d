//! Evaluation of [`Condition`]s and [`SortCondition`]s on documents with DynamoDB's semantics,
//! application of [`Update`](crate::document::Update)s (in [`update`]), and the checks
//! DynamoDB makes before it writes anything.
//!
//! Semantics, as DynamoDB has them:
//! - a missing item has no attributes; a missing attribute fails every test but `<>` and
//!   `attribute_not_exists`;
//! - `=` and `<>` compare any two values (different types are simply unequal); `<`, `<=`, `>`,
//!   `>=` and `BETWEEN` compare only numbers with numbers (numerically), strings with strings
//!   and bytes with bytes (byte-wise); across types they are false;
//! - `begins_with` works on strings and bytes, `contains` on strings (substring), sets and
//!   lists (element), `size` on strings (bytes), bytes, lists, maps and sets.

mod update;

use std::cmp::Ordering;

pub(crate) use update::{apply_update, check_update};

use crate::document::{CompareOp, Condition, MAX_ITEM_BYTES, Path, PathSegment, SortCondition};
use crate::error::{Result, StoreError};
use crate::keys::{DocKey, KeyAttribute, KeySchema, KeyType, KeyValue};
use crate::value::{Document, Number, Value};

/// The most significant digits DynamoDB keeps in a number.
const MAX_NUMBER_DIGITS: usize = 38;
/// The smallest and largest decimal exponents of a non-zero DynamoDB number's leading digit.
const EXPONENT_RANGE: std::ops::RangeInclusive<i64> = -130..=125;
/// The most values one `IN` may list.
const MAX_IN_VALUES: usize = 100;

/// The value at `path` in `item`, if every step of the path exists.
pub(crate) fn resolve<'a>(item: &'a Document, path: &Path) -> Option<&'a Value> {
    let (first, rest) = path.segments().split_first()?;
    let PathSegment::Field(name) = first else {
        return None;
    };
    let mut current = item.get(name)?;
    for segment in rest {
        current = match (segment, current) {
            (PathSegment::Field(name), Value::Map(doc)) => doc.get(name)?,
            (PathSegment::Index(i), Value::List(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Orders two values when DynamoDB can: numbers numerically, strings and bytes byte-wise.
/// Any other pair, including values of different types, has no order.
pub(crate) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bytes(x), Value::Bytes(y)) => Some(x[..].cmp(&y[..])),
        _ => None,
    }
}

fn op_holds(op: CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
    }
}

fn between(value: &Value, low: &Value, high: &Value) -> bool {
    compare(value, low).is_some_and(|o| o != Ordering::Less)
        && compare(value, high).is_some_and(|o| o != Ordering::Greater)
}

fn begins_with(value: &Value, prefix: &Value) -> bool {
    match (value, prefix) {
        (Value::String(s), Value::String(p)) => s.starts_with(p.as_str()),
        (Value::Bytes(b), Value::Bytes(p)) => b.starts_with(p),
        _ => false,
    }
}

fn contains(value: &Value, needle: &Value) -> bool {
    match (value, needle) {
        (Value::String(s), Value::String(n)) => s.contains(n.as_str()),
        (Value::StringSet(set), Value::String(n)) => set.contains(n),
        (Value::NumberSet(set), Value::Number(n)) => set.contains(n),
        (Value::BytesSet(set), Value::Bytes(n)) => set.contains(n),
        (Value::List(items), n) => items.contains(n),
        _ => false,
    }
}

/// DynamoDB's `size()`: bytes of a string or binary, elements of a list, map or set.
fn size_of(value: &Value) -> Option<u64> {
    let n = match value {
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::List(items) => items.len(),
        Value::Map(doc) => doc.len(),
        Value::StringSet(set) => set.len(),
        Value::NumberSet(set) => set.len(),
        Value::BytesSet(set) => set.len(),
        Value::Null | Value::Bool(_) | Value::Number(_) => return None,
    };
    u64::try_from(n).ok()
}

/// Whether `condition` holds on `item` (`None`: the item does not exist).
pub(crate) fn eval_condition(condition: &Condition, item: Option<&Document>) -> bool {
    let get = |path: &Path| item.and_then(|doc| resolve(doc, path));
    match condition {
        Condition::Exists(path) => get(path).is_some(),
        Condition::NotExists(path) => get(path).is_none(),
        Condition::Compare { path, op, value } => match (op, get(path)) {
            (CompareOp::Eq, found) => found == Some(value),
            (CompareOp::Ne, found) => found != Some(value),
            (op, Some(found)) => compare(found, value).is_some_and(|o| op_holds(*op, o)),
            (_, None) => false,
        },
        Condition::Size { path, op, value } => get(path)
            .and_then(size_of)
            .is_some_and(|size| op_holds(*op, size.cmp(value))),
        Condition::BeginsWith(path, prefix) => get(path).is_some_and(|v| begins_with(v, prefix)),
        Condition::Between(path, low, high) => get(path).is_some_and(|v| between(v, low, high)),
        Condition::Contains(path, needle) => get(path).is_some_and(|v| contains(v, needle)),
        Condition::In(path, values) => get(path).is_some_and(|v| values.contains(v)),
        Condition::And(parts) => parts.iter().all(|c| eval_condition(c, item)),
        Condition::Or(parts) => parts.iter().any(|c| eval_condition(c, item)),
        Condition::Not(inner) => !eval_condition(inner, item),
    }
}

/// Rejects conditions DynamoDB would refuse before evaluating anything: ordering operators on
/// values that have no order, `BETWEEN` with bounds of different types or in the wrong order,
/// an empty `IN`, `AND` or `OR`, and values that could not be stored.
pub(crate) fn check_condition(condition: &Condition) -> Result<()> {
    match condition {
        Condition::Exists(path) | Condition::NotExists(path) | Condition::Size { path, .. } => {
            check_path(path)
        }
        Condition::Compare { path, op, value } => {
            check_path(path)?;
            check_value(value)?;
            if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                require_ordered(op.symbol(), value)?;
            }
            Ok(())
        }
        Condition::BeginsWith(path, prefix) => {
            check_path(path)?;
            if !matches!(prefix, Value::String(_) | Value::Bytes(_)) {
                return Err(StoreError::invalid_input(format!(
                    "begins_with takes a string or bytes prefix, got a {}",
                    prefix.type_name()
                )));
            }
            Ok(())
        }
        Condition::Between(path, low, high) => {
            check_path(path)?;
            check_bounds(low, high)
        }
        Condition::Contains(path, needle) => {
            check_path(path)?;
            check_value(needle)
        }
        Condition::In(path, values) => {
            check_path(path)?;
            if values.is_empty() || values.len() > MAX_IN_VALUES {
                return Err(StoreError::invalid_input(format!(
                    "IN takes 1 to {MAX_IN_VALUES} values, got {}",
                    values.len()
                )));
            }
            values.iter().try_for_each(check_value)
        }
        Condition::And(parts) | Condition::Or(parts) => {
            if parts.is_empty() {
                return Err(StoreError::invalid_input(
                    "an AND or OR condition needs at least one part",
                ));
            }
            parts.iter().try_for_each(check_condition)
        }
        Condition::Not(inner) => check_condition(inner),
    }
}

fn require_ordered(operator: &str, value: &Value) -> Result<()> {
    match value {
        Value::Number(_) | Value::String(_) | Value::Bytes(_) => check_value(value),
        other => Err(StoreError::invalid_input(format!(
            "`{operator}` compares numbers, strings or bytes, got a {}",
            other.type_name()
        ))),
    }
}

fn check_bounds(low: &Value, high: &Value) -> Result<()> {
    require_ordered("BETWEEN", low)?;
    require_ordered("BETWEEN", high)?;
    match compare(low, high) {
        None => Err(StoreError::invalid_input(format!(
            "BETWEEN bounds must have one type, got a {} and a {}",
            low.type_name(),
            high.type_name()
        ))),
        Some(Ordering::Greater) => Err(StoreError::invalid_input(
            "BETWEEN needs its lower bound first: the lower bound is greater than the upper",
        )),
        Some(_) => Ok(()),
    }
}

/// Rejects paths with an empty attribute name.
pub(crate) fn check_path(path: &Path) -> Result<()> {
    let empty_name = path
        .segments()
        .iter()
        .any(|s| matches!(s, PathSegment::Field(name) if name.is_empty()));
    if path.segments().is_empty() || empty_name {
        return Err(StoreError::invalid_input(format!(
            "the path `{path}` has an empty attribute name"
        )));
    }
    Ok(())
}

/// Rejects values DynamoDB cannot store: empty sets and numbers beyond 38 significant digits
/// or outside 1E-130..=9.9999999999999999999999999999999999999E+125 in magnitude.
pub(crate) fn check_value(value: &Value) -> Result<()> {
    match value {
        Value::Number(n) => check_number(n),
        Value::NumberSet(set) if set.is_empty() => Err(empty_set(value)),
        Value::NumberSet(set) => set.iter().try_for_each(check_number),
        Value::StringSet(set) if set.is_empty() => Err(empty_set(value)),
        Value::BytesSet(set) if set.is_empty() => Err(empty_set(value)),
        Value::List(items) => items.iter().try_for_each(check_value),
        Value::Map(doc) => doc.iter().try_for_each(|(_, v)| check_value(v)),
        _ => Ok(()),
    }
}

fn empty_set(value: &Value) -> StoreError {
    StoreError::invalid_input(format!(
        "an empty {} cannot be stored; remove the attribute instead",
        value.type_name()
    ))
}

/// Rejects numbers DynamoDB cannot store (see [`check_value`]).
pub(crate) fn check_number(n: &Number) -> Result<()> {
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

/// Checks a key against the schema: types, non-empty strings and bytes, storable numbers.
pub(crate) fn check_key(schema: &KeySchema, key: &DocKey) -> Result<()> {
    schema.validate(key)?;
    for value in std::iter::once(&key.partition).chain(&key.sort) {
        if let KeyValue::Number(n) = value {
            check_number(n)?;
        }
    }
    Ok(())
}

/// Checks a value given for a key attribute (a query's partition, a sort condition's bound).
pub(crate) fn check_key_value(attr: &KeyAttribute, value: &Value) -> Result<()> {
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

/// Checks a whole item before it is stored: attribute names, storable values, and the size
/// limit ([`MAX_ITEM_BYTES`]).
pub(crate) fn check_item(item: &Document, key: &DocKey) -> Result<()> {
    for (name, value) in item.iter() {
        if name.is_empty() {
            return Err(StoreError::invalid_input("an attribute name is empty"));
        }
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

/// Checks a sort condition against the sort key it narrows (`None`: there is no sort key).
pub(crate) fn check_sort_condition(
    condition: &SortCondition,
    attr: Option<&KeyAttribute>,
) -> Result<()> {
    let Some(attr) = attr else {
        return Err(StoreError::invalid_input(
            "a sort condition was given, but the table or index has no sort key",
        ));
    };
    match condition {
        SortCondition::Eq(v)
        | SortCondition::Lt(v)
        | SortCondition::Le(v)
        | SortCondition::Gt(v)
        | SortCondition::Ge(v) => check_key_value(attr, v),
        SortCondition::Between(low, high) => {
            check_key_value(attr, low)?;
            check_key_value(attr, high)?;
            check_bounds(low, high)
        }
        SortCondition::BeginsWith(prefix) => {
            if attr.key_type == KeyType::Number {
                return Err(StoreError::invalid_input(format!(
                    "begins_with needs a string or bytes sort key, but `{}` is a number",
                    attr.name
                )));
            }
            check_key_value(attr, prefix)
        }
    }
}

/// Whether a sort key value satisfies a (checked) sort condition.
pub(crate) fn sort_matches(condition: &SortCondition, value: &KeyValue) -> bool {
    let value = value.to_value();
    let ordered =
        |bound: &Value, op: CompareOp| compare(&value, bound).is_some_and(|o| op_holds(op, o));
    match condition {
        SortCondition::Eq(v) => ordered(v, CompareOp::Eq),
        SortCondition::Lt(v) => ordered(v, CompareOp::Lt),
        SortCondition::Le(v) => ordered(v, CompareOp::Le),
        SortCondition::Gt(v) => ordered(v, CompareOp::Gt),
        SortCondition::Ge(v) => ordered(v, CompareOp::Ge),
        SortCondition::Between(low, high) => between(&value, low, high),
        SortCondition::BeginsWith(prefix) => begins_with(&value, prefix),
    }
}

/// Every path a condition reads, for checks such as "a query filter may not name a key".
pub(crate) fn condition_paths(condition: &Condition) -> Vec<&Path> {
    let mut out = Vec::new();
    collect_paths(condition, &mut out);
    out
}

fn collect_paths<'a>(condition: &'a Condition, out: &mut Vec<&'a Path>) {
    match condition {
        Condition::Exists(p)
        | Condition::NotExists(p)
        | Condition::Compare { path: p, .. }
        | Condition::Size { path: p, .. }
        | Condition::BeginsWith(p, _)
        | Condition::Between(p, _, _)
        | Condition::Contains(p, _)
        | Condition::In(p, _) => out.push(p),
        Condition::And(parts) | Condition::Or(parts) => {
            parts.iter().for_each(|c| collect_paths(c, out));
        }
        Condition::Not(inner) => collect_paths(inner, out),
    }
}

#[cfg(test)]
mod tests;
