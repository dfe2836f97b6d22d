//! Typed set wrappers that serialize to the set variants of [`Value`](super::Value).
//!
//! A plain `BTreeSet<String>` serializes as a list, since serde has no notion of a set. Wrap it
//! in [`StringSet`], [`NumberSet`] or [`BytesSet`] to store a DynamoDB set; other formats (JSON)
//! see an ordinary array.

use std::collections::BTreeSet;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::Number;
use super::ser::BytesRef;

pub(crate) const STRING_SET_TOKEN: &str = "$store_core::StringSet";
pub(crate) const NUMBER_SET_TOKEN: &str = "$store_core::NumberSet";
pub(crate) const BYTES_SET_TOKEN: &str = "$store_core::BytesSet";

/// A set of strings, stored as a DynamoDB string set (`SS`).
///
/// ```
/// use store_core::{to_value, StringSet, Value};
/// let tags = StringSet::from_iter(["red".to_string(), "blue".to_string()]);
/// assert!(matches!(to_value(&tags).unwrap(), Value::StringSet(s) if s.len() == 2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(transparent)]
pub struct StringSet(pub BTreeSet<String>);

/// A set of exact numbers, stored as a DynamoDB number set (`NS`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(transparent)]
pub struct NumberSet(pub BTreeSet<Number>);

/// A set of byte strings, stored as a DynamoDB binary set (`BS`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BytesSet(pub BTreeSet<Bytes>);

impl Serialize for StringSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(STRING_SET_TOKEN, &self.0)
    }
}

impl Serialize for NumberSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(NUMBER_SET_TOKEN, &self.0)
    }
}

impl Serialize for BytesSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let items: Vec<BytesRef<'_>> = self.0.iter().map(|b| BytesRef(b)).collect();
        serializer.serialize_newtype_struct(BYTES_SET_TOKEN, &items)
    }
}

impl<'de> Deserialize<'de> for BytesSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ByteBuf(Vec<u8>);
        impl<'de> Deserialize<'de> for ByteBuf {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = ByteBuf;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                        Ok(ByteBuf(v.to_vec()))
                    }
                    fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                        Ok(ByteBuf(v))
                    }
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> Result<ByteBuf, A::Error> {
                        let mut out = Vec::new();
                        while let Some(b) = seq.next_element::<u8>()? {
                            out.push(b);
                        }
                        Ok(ByteBuf(out))
                    }
                }
                d.deserialize_byte_buf(V)
            }
        }
        let items = Vec::<ByteBuf>::deserialize(deserializer)?;
        Ok(BytesSet(
            items.into_iter().map(|b| Bytes::from(b.0)).collect(),
        ))
    }
}

impl FromIterator<String> for StringSet {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl FromIterator<Number> for NumberSet {
    fn from_iter<I: IntoIterator<Item = Number>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl FromIterator<Bytes> for BytesSet {
    fn from_iter<I: IntoIterator<Item = Bytes>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}
