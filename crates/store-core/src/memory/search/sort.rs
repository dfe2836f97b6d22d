//! Sort keys, sort values and `search_after` positions.

use std::cmp::Ordering;

use super::fields::coerce_for_query;
use super::mapping::{Mapping, Resolved};
use super::state::DocEntry;
use crate::error::{Result, StoreError};
use crate::search::{FieldType, SortField, SortOrder};
use crate::value::{Number, Value};

/// One resolved sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Key {
    /// By relevance.
    Score(SortOrder),
    /// By document id (`_id`), compared as text as OpenSearch does.
    Id(SortOrder),
    /// By a field's exact values (the smallest ascending, the largest descending).
    Field {
        name: String,
        ty: FieldType,
        order: SortOrder,
    },
}

/// Resolves the sort of a request; text fields and unmapped fields cannot be sorted on.
pub(super) fn compile_sort(sort: &[SortField], mapping: &Mapping) -> Result<Vec<Key>> {
    sort.iter()
        .map(|key| match key {
            SortField::Score(order) => Ok(Key::Score(*order)),
            SortField::Field(name, order) if name == "_score" => Ok(Key::Score(*order)),
            SortField::Field(name, order) if name == "_id" => Ok(Key::Id(*order)),
            SortField::Field(name, order) => match mapping.resolve(name) {
                Resolved::Leaf(FieldType::Text) => Err(StoreError::invalid_input(format!(
                    "field `{name}` is analyzed text and cannot be sorted on (OpenSearch disables \
                     fielddata on text fields); sort on a keyword field such as `{name}.keyword`"
                ))),
                Resolved::Leaf(ty) => Ok(Key::Field {
                    name: name.clone(),
                    ty,
                    order: *order,
                }),
                Resolved::Object => Err(StoreError::invalid_input(format!(
                    "field `{name}` is an object and cannot be sorted on"
                ))),
                Resolved::Unmapped => Err(StoreError::invalid_input(format!(
                    "no mapping found for `{name}` in order to sort on"
                ))),
            },
        })
        .collect()
}

/// The sort values of a hit; a missing field gives `Null`.
pub(super) fn sort_values(keys: &[Key], doc: &DocEntry, score: f64) -> Vec<Value> {
    keys.iter()
        .map(|key| match key {
            Key::Score(_) => Number::try_from(score).map_or(Value::Null, Value::Number),
            Key::Id(_) => Value::String(doc.id.clone()),
            Key::Field { name, order, .. } => {
                let values = doc.fields.get(name).map(|d| d.values.iter());
                let picked = match order {
                    SortOrder::Asc => values.and_then(Iterator::min),
                    SortOrder::Desc => values.and_then(Iterator::max),
                };
                picked.map_or(Value::Null, |v| v.to_value())
            }
        })
        .collect()
}

/// Checks and normalizes `search_after` values against the sort keys.
pub(super) fn coerce_after(keys: &[Key], after: &[Value]) -> Result<Vec<Value>> {
    keys.iter()
        .zip(after)
        .map(|(key, value)| {
            if value.is_null() {
                return Ok(Value::Null);
            }
            match key {
                Key::Score(_) => {
                    coerce_for_query(FieldType::Double, value, "_score").map(|e| e.to_value())
                }
                Key::Id(_) => match value {
                    Value::String(_) => Ok(value.clone()),
                    other => Err(StoreError::invalid_input(format!(
                        "search_after value for `_id` must be a string, not a {}",
                        other.type_name()
                    ))),
                },
                Key::Field { name, ty, .. } => coerce_for_query(*ty, value, name)
                    .map(|e| e.to_value())
                    .map_err(|e| {
                        StoreError::invalid_input(format!(
                            "search_after value for `{name}` (a {} field) is not usable: {}",
                            ty.as_str(),
                            e.message()
                        ))
                    }),
            }
        })
        .collect()
}

/// Compares two hits' sort values; missing values sort last in either direction.
pub(super) fn compare(keys: &[Key], a: &[Value], b: &[Value]) -> Ordering {
    for ((key, a), b) in keys.iter().zip(a).zip(b) {
        let order = match key {
            Key::Score(order) | Key::Id(order) | Key::Field { order, .. } => *order,
        };
        let ord = match (a, b) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Greater,
            (_, Value::Null) => Ordering::Less,
            _ => {
                let natural = natural(a, b);
                if order == SortOrder::Desc {
                    natural.reverse()
                } else {
                    natural
                }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

fn natural(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.cmp(b),
        (Value::String(a), Value::String(b)) => a.cmp(b),
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_values_sort_last_both_ways() {
        let asc = [Key::Field {
            name: "n".into(),
            ty: FieldType::Long,
            order: SortOrder::Asc,
        }];
        let desc = [Key::Field {
            name: "n".into(),
            ty: FieldType::Long,
            order: SortOrder::Desc,
        }];
        let one = [Value::from(1)];
        let two = [Value::from(2)];
        let none = [Value::Null];
        assert_eq!(compare(&asc, &one, &two), Ordering::Less);
        assert_eq!(compare(&desc, &one, &two), Ordering::Greater);
        assert_eq!(compare(&asc, &none, &two), Ordering::Greater);
        assert_eq!(compare(&desc, &none, &two), Ordering::Greater);
    }
}
