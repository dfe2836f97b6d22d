//! Sort keys, the sort values kept in the `_sort` fast field, and `search_after` positions.
//!
//! A document's `_sort` value is one columnar (fast) bytes value holding, for each keyword,
//! number, date or boolean path it indexed, the smallest and the largest exact value (the one an
//! ascending or descending sort uses for a list). Sorting reads that column, never the stored
//! documents, and compares values exactly (numbers as decimals, not as `f64`).

use std::cmp::Ordering;

use store_core::search::{FieldType, SortField, SortOrder};
use store_core::{Number, Result, StoreError, Value};

use crate::fields::{Exact, coerce_for_query};
use crate::mapping::{Mapping, Resolved};

/// One resolved sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
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

impl Key {
    fn order(&self) -> SortOrder {
        match self {
            Key::Score(order) | Key::Id(order) | Key::Field { order, .. } => *order,
        }
    }
}

/// Resolves the sort of a request; text fields and unmapped fields cannot be sorted on.
pub(crate) fn compile_sort(sort: &[SortField], mapping: &Mapping) -> Result<Vec<Key>> {
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

/// The sort values of a hit from its id, score and `_sort` bytes; a missing field gives `Null`.
pub(crate) fn sort_values(keys: &[Key], id: &str, score: f32, sort_bytes: &[u8]) -> Vec<Value> {
    keys.iter()
        .map(|key| match key {
            Key::Score(_) => Number::try_from(f64::from(score)).map_or(Value::Null, Value::Number),
            Key::Id(_) => Value::String(id.to_owned()),
            Key::Field { name, order, .. } => {
                find_sort_value(sort_bytes, name, *order).map_or(Value::Null, |e| e.to_value())
            }
        })
        .collect()
}

/// Checks and normalizes `search_after` values against the sort keys.
pub(crate) fn coerce_after(keys: &[Key], after: &[Value]) -> Result<Vec<Value>> {
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
pub(crate) fn compare(keys: &[Key], a: &[Value], b: &[Value]) -> Ordering {
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

/// Encodes the `_sort` value of a document: for each path, its smallest and largest value.
///
/// Layout: repeated `path`, `min`, `max`; a path is a length-prefixed string, a value a tag
/// byte (`0` false, `1` true, `2` number as exact decimal text, `3` string) and, for numbers
/// and strings, a length-prefixed string. Lengths are little-endian `u32`.
pub(crate) fn encode_sort_values(values: &[(&str, &Exact, &Exact)]) -> Vec<u8> {
    let mut out = Vec::new();
    let put = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    let put_exact = |out: &mut Vec<u8>, e: &Exact| match e {
        Exact::Bool(b) => out.push(u8::from(*b)),
        Exact::Num(n) => {
            out.push(2);
            put(out, &n.to_string());
        }
        Exact::Str(s) => {
            out.push(3);
            put(out, s);
        }
    };
    for (path, min, max) in values {
        put(&mut out, path);
        put_exact(&mut out, min);
        put_exact(&mut out, max);
    }
    out
}

/// The value a sort on `path` in `order` uses, from a document's `_sort` bytes.
fn find_sort_value(bytes: &[u8], path: &str, order: SortOrder) -> Option<Exact> {
    let mut r = Reader(bytes);
    while !r.0.is_empty() {
        let p = r.str()?;
        let min = r.exact()?;
        let max = r.exact()?;
        if p == path {
            return Some(match order {
                SortOrder::Asc => min,
                SortOrder::Desc => max,
            });
        }
    }
    None
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn str(&mut self) -> Option<&'a str> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        std::str::from_utf8(self.take(len)?).ok()
    }

    fn exact(&mut self) -> Option<Exact> {
        Some(match self.take(1)?[0] {
            0 => Exact::Bool(false),
            1 => Exact::Bool(true),
            2 => Exact::Num(self.str()?.parse().ok()?),
            3 => Exact::Str(self.str()?.to_owned()),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_values_round_trip_and_pick_by_order() {
        let lo = Exact::Num("-1.50".parse().unwrap());
        let hi = Exact::Num(7.into());
        let k = Exact::Str("k".into());
        let t = Exact::Bool(true);
        let bytes = encode_sort_values(&[("n", &lo, &hi), ("key", &k, &k), ("b", &t, &t)]);
        assert_eq!(find_sort_value(&bytes, "n", SortOrder::Asc), Some(lo));
        assert_eq!(find_sort_value(&bytes, "n", SortOrder::Desc), Some(hi));
        assert_eq!(find_sort_value(&bytes, "key", SortOrder::Asc), Some(k));
        assert_eq!(find_sort_value(&bytes, "b", SortOrder::Asc), Some(t));
        assert_eq!(find_sort_value(&bytes, "missing", SortOrder::Asc), None);
    }

    #[test]
    fn missing_values_sort_last_both_ways() {
        let key = |order| Key::Field {
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
