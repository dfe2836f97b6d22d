//! Encoding an archive line straight to text, with no `serde_json::Value` tree between: the
//! same bytes `crate::codec` gives (attributes in name order, so a batch written twice is the
//! same part), at a fraction of the allocations.

use std::fmt::Display;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use store_core::{Document, Value};

use crate::record::Record;

/// One line: `{"k": {…}, "v": {…}}`.
pub(super) struct LineRef<'a>(pub(super) &'a Record);

impl Serialize for LineRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let key = self
            .0
            .key
            .parts()
            .iter()
            .map(|(name, value)| (name.as_str(), value));
        let mut line = s.serialize_map(Some(2))?;
        line.serialize_entry("k", &ByName::new(key))?;
        line.serialize_entry("v", &Doc(&self.0.doc))?;
        line.end()
    }
}

/// A document: typed values by attribute name, in name order.
struct Doc<'a>(&'a Document);

impl Serialize for Doc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ByName::new(self.0.iter()).serialize(s)
    }
}

/// Typed values by name, in name order (names are distinct: a key's, a document's).
struct ByName<'a>(Vec<(&'a str, &'a Value)>);

impl<'a> ByName<'a> {
    fn new(pairs: impl Iterator<Item = (&'a str, &'a Value)>) -> Self {
        let mut pairs: Vec<(&str, &Value)> = pairs.collect();
        pairs.sort_unstable_by_key(|(name, _)| *name);
        Self(pairs)
    }
}

impl Serialize for ByName<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, &Typed(value))?;
        }
        map.end()
    }
}

/// A JSON string of what `Display` writes, written straight into the output.
struct AsText<'a, T>(&'a T);

impl<T: Display> Serialize for AsText<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

/// A typed value: `{"TAG": inner}`.
struct Typed<'a>(&'a Value);

impl Serialize for Typed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        match self.0 {
            Value::Null => map.serialize_entry("NULL", &true)?,
            Value::Bool(b) => map.serialize_entry("BOOL", b)?,
            Value::Number(n) => map.serialize_entry("N", &AsText(n))?,
            Value::String(text) => map.serialize_entry("S", text)?,
            Value::Bytes(bytes) => map.serialize_entry("B", &STANDARD.encode(bytes))?,
            Value::List(items) => map.serialize_entry("L", &Seq(items.iter().map(Typed)))?,
            Value::Map(doc) => map.serialize_entry("M", &Doc(doc))?,
            Value::StringSet(set) => map.serialize_entry("SS", set)?,
            Value::NumberSet(set) => {
                let texts: Vec<String> = set.iter().map(ToString::to_string).collect();
                map.serialize_entry("NS", &texts)?;
            }
            Value::BytesSet(set) => {
                let texts: Vec<String> = set.iter().map(|b| STANDARD.encode(b)).collect();
                map.serialize_entry("BS", &texts)?;
            }
        }
        map.end()
    }
}

/// A JSON array of what an iterator yields (cloned, so it can be serialized through `&self`).
struct Seq<I>(I);

impl<I, T> Serialize for Seq<I>
where
    I: Iterator<Item = T> + Clone,
    T: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let items = self.0.clone();
        let mut seq = s.serialize_seq(items.size_hint().1)?;
        for item in items {
            seq.serialize_element(&item)?;
        }
        seq.end()
    }
}
