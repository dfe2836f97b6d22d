//! Sort keys, sort values and `search_after` positions.

use std::cmp::Ordering;

use super::fields::{Exact, coerce_for_query};
use super::mapping::{Mapping, Resolved};
use crate::error::{Result, StoreError};
use crate::search::{FieldType, SortField, SortOrder};
use crate::value::{Number, Value};

/// One sort key of a request, resolved against the mapping ([`compile_sort`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    /// By relevance.
    Score(SortOrder),
    /// By document id (`_id`), compared as text as OpenSearch does.
    Id(SortOrder),
    /// By a field's exact values (the smallest ascending, the largest descending).
    Field {
        /// The field's dotted path.
        name: String,
        /// The type it is mapped to.
        ty: FieldType,
        /// The direction.
        order: SortOrder,
    },
}

impl SortKey {
    fn order(&self) -> SortOrder {
        match self {
            SortKey::Score(order) | SortKey::Id(order) | SortKey::Field { order, .. } => *order,
        }
    }
}

/// Resolves the sort of a request: `_score` and `_id`, or keyword, number, date and boolean
/// fields; a text, object or unmapped field is `InvalidInput`.
pub fn compile_sort(sort: &[SortField], mapping: &Mapping) -> Result<Vec<SortKey>> {
    sort.iter()
        .map(|key| match key {
            SortField::Score(order) => Ok(SortKey::Score(*order)),
            SortField::Field(name, order) if name == "_score" => Ok(SortKey::Score(*order)),
            SortField::Field(name, order) if name == "_id" => Ok(SortKey::Id(*order)),
            SortField::Field(name, order) => match mapping.resolve(name) {
                Resolved::Leaf(FieldType::Text) => Err(StoreError::invalid_input(format!(
                    "field `{name}` is analyzed text and cannot be sorted on (OpenSearch disables \
                     fielddata on text fields); sort on a keyword field such as `{name}.keyword`"
                ))),
                Resolved::Leaf(ty) => Ok(SortKey::Field {
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

/// The sort values of a hit with this id and score; `field(name, order)` is the value a sort
/// on the field uses (its smallest value ascending, its largest descending), and a missing
/// value gives `Null`.
pub fn sort_values(
    keys: &[SortKey],
    id: &str,
    score: f64,
    mut field: impl FnMut(&str, SortOrder) -> Option<Exact>,
) -> Vec<Value> {
    keys.iter()
        .map(|key| match key {
            SortKey::Score(_) => Number::try_from(score).map_or(Value::Null, Value::Number),
            SortKey::Id(_) => Value::String(id.to_owned()),
            SortKey::Field { name, order, .. } => {
                field(name, *order).map_or(Value::Null, |v| v.to_value())
            }
        })
        .collect()
}

/// Checks and normalizes `search_after` values against the sort keys.
pub fn coerce_after(keys: &[SortKey], after: &[Value]) -> Result<Vec<Value>> {
    keys.iter()
        .zip(after)
        .map(|(key, value)| {
            if value.is_null() {
                return Ok(Value::Null);
            }
            match key {
                SortKey::Score(_) => {
                    coerce_for_query(FieldType::Double, value, "_score").map(|e| e.to_value())
                }
                SortKey::Id(_) => match value {
                    Value::String(_) => Ok(value.clone()),
                    other => Err(StoreError::invalid_input(format!(
                        "search_after value for `_id` must be a string, not a {}",
                        other.type_name()
                    ))),
                },
                SortKey::Field { name, ty, .. } => coerce_for_query(*ty, value, name)
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
pub fn compare(keys: &[SortKey], a: &[Value], b: &[Value]) -> Ordering {
    for ((key, a), b) in keys.iter().zip(a).zip(b) {
        let ord = match (a, b) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Greater,
            (_, Value::Null) => Ordering::Less,
            _ => {
                let natural = natural(a, b);
                if key.order() == SortOrder::Desc {
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
        let key = |order| SortKey::Field {
            name: "n".into(),
            ty: FieldType::Long,
            order,
        };
        let (one, two, none) = ([Value::from(1)], [Value::from(2)], [Value::Null]);
        let asc = [key(SortOrder::Asc)];
        let desc = [key(SortOrder::Desc)];
        assert_eq!(compare(&asc, &one, &two), Ordering::Less);
        assert_eq!(compare(&desc, &one, &two), Ordering::Greater);
        assert_eq!(compare(&asc, &none, &two), Ordering::Greater);
        assert_eq!(compare(&desc, &none, &two), Ordering::Greater);
    }
}
