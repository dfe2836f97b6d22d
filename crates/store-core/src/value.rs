//! The value model shared by objects' metadata, documents, SQL rows and search hits.
//!
//! [`Value`] is one field's value and [`Document`] an ordered map of fields. Numbers are exact
//! decimals ([`Number`]), bytes stay bytes, and DynamoDB's string, number and binary sets have
//! variants of their own, so whatever DynamoDB, PostgreSQL or OpenSearch holds survives a trip
//! through the model unchanged. [`to_value`], [`to_document`] and [`from_value`] convert any
//! serde type.

mod de;
mod document;
mod float;
mod json;
mod number;
mod ser;
mod sets;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use bytes::Bytes;

pub use de::{from_document, from_value};
pub use document::Document;
pub use json::{from_json, to_json};
pub use number::{MAX_DIGITS, MAX_EXPONENT, Number};
pub use ser::{to_document, to_value};
pub use sets::{BytesSet, NumberSet, StringSet};

/// One value in a document, row or hit.
///
/// Dates, times and UUIDs are held as their standard text forms (RFC 3339, ISO 8601 dates,
/// hyphenated UUIDs); adapters convert them to the column or attribute type they meet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Value {
    /// No value (SQL NULL, DynamoDB NULL, JSON null).
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// An exact decimal number.
    Number(Number),
    /// UTF-8 text.
    String(String),
    /// Raw bytes.
    Bytes(Bytes),
    /// An ordered list of values.
    List(Vec<Value>),
    /// A nested document.
    Map(Document),
    /// A set of strings (DynamoDB `SS`).
    StringSet(BTreeSet<String>),
    /// A set of numbers (DynamoDB `NS`).
    NumberSet(BTreeSet<Number>),
    /// A set of byte strings (DynamoDB `BS`).
    BytesSet(BTreeSet<Bytes>),
}

impl Value {
    /// The name of this value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::StringSet(_) => "string set",
            Value::NumberSet(_) => "number set",
            Value::BytesSet(_) => "bytes set",
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The text, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The value as an `i64`, if it is an integral number in range.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::to_i64)
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The bytes, if this is a byte string.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The nested document, if this is a map.
    pub fn as_map(&self) -> Option<&Document> {
        match self {
            Value::Map(d) => Some(d),
            _ => None,
        }
    }

    /// The elements, if this is a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// A size estimate in bytes, close to how DynamoDB counts item size.
    pub fn approximate_size(&self) -> usize {
        match self {
            Value::Null | Value::Bool(_) => 1,
            Value::Number(n) => n.significant_digits().div_ceil(2) + 1,
            Value::String(s) => s.len(),
            Value::Bytes(b) => b.len(),
            Value::List(items) => {
                3 + items
                    .iter()
                    .map(|v| 1 + v.approximate_size())
                    .sum::<usize>()
            }
            Value::Map(doc) => 3 + doc.approximate_size(),
            Value::StringSet(set) => set.iter().map(String::len).sum(),
            Value::NumberSet(set) => set
                .iter()
                .map(|n| n.significant_digits().div_ceil(2) + 1)
                .sum(),
            Value::BytesSet(set) => set.iter().map(Bytes::len).sum(),
        }
    }
}

macro_rules! value_from_number {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::Number(Number::from(v))
            }
        }
    )*};
}
value_from_number!(
    i8, i16, i32, i64, i128, u8, u16, u32, u64, u128, usize, isize
);

impl From<Number> for Value {
    fn from(v: Number) -> Self {
        Value::Number(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

impl From<Bytes> for Value {
    fn from(v: Bytes) -> Self {
        Value::Bytes(v)
    }
}

impl From<Document> for Value {
    fn from(v: Document) -> Self {
        Value::Map(v)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl TryFrom<f64> for Value {
    type Error = crate::StoreError;

    /// Rejects NaN and the infinities.
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        Number::try_from(v).map(Value::Number)
    }
}
