//! A [`Value`] into any `T: DeserializeOwned`: [`from_value`] and [`from_document`].

use std::cell::RefCell;
use std::fmt;

use bytes::Bytes;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use super::number::NUMBER_TOKEN;
use super::{Document, Number, Value};
use crate::error::StoreError;

/// Newtype name under which [`Value`] asks this crate's deserializer for itself, unchanged.
const VALUE_TOKEN: &str = "$store_core::Value";

thread_local! {
    /// Hands a whole [`Value`] from [`ValueDeserializer`] to [`ValueVisitor`] without
    /// passing its numbers through `f64` (the visitor API has no exact-decimal callback).
    static EXACT_VALUE: RefCell<Option<Value>> = const { RefCell::new(None) };
}

/// Converts a [`Value`] into any deserializable type.
///
/// ```
/// use serde::Deserialize;
/// use store_core::{from_value, Document, Value};
/// #[derive(Deserialize, Debug, PartialEq)]
/// struct User { name: String, age: u8 }
/// let doc = Document::new().with("name", "Ada").with("age", 36);
/// assert_eq!(from_value::<User>(Value::Map(doc)).unwrap(), User { name: "Ada".into(), age: 36 });
/// ```
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, StoreError> {
    T::deserialize(ValueDeserializer(value))
}

/// Converts a [`Document`] into any deserializable type.
pub fn from_document<T: DeserializeOwned>(doc: Document) -> Result<T, StoreError> {
    from_value(Value::Map(doc))
}

impl<'de> de::Deserialize<'de> for Value {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_newtype_struct(VALUE_TOKEN, ValueVisitor)
    }
}

impl<'de> de::Deserialize<'de> for Document {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Document, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Map(doc) => Ok(doc),
            other => Err(de::Error::custom(format!(
                "expected a map for a document, got a {}",
                other.type_name()
            ))),
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::try_from(v).map(Value::Number).map_err(E::custom)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(Bytes::copy_from_slice(v)))
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(Bytes::from(v)))
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(EXACT_VALUE
            .with(|slot| slot.borrow_mut().take())
            .unwrap_or(Value::Null))
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        de::Deserialize::deserialize(d)
    }
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut doc = Document::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            doc.insert(k, v);
        }
        Ok(Value::Map(doc))
    }
}

/// The deserializer behind [`from_value`]: reads an owned [`Value`].
pub(crate) struct ValueDeserializer(pub(crate) Value);

fn visit_number<'de, V: Visitor<'de>>(n: Number, visitor: V) -> Result<V::Value, StoreError> {
    if n.is_integer() {
        if let Some(i) = n.to_i64() {
            return visitor.visit_i64(i);
        }
        if let Some(u) = n.to_u64() {
            return visitor.visit_u64(u);
        }
        if let Some(i) = n.to_i128() {
            return visitor.visit_i128(i);
        }
    }
    visitor.visit_f64(n.to_f64())
}

impl<'de> de::Deserializer<'de> for ValueDeserializer {
    type Error = StoreError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, StoreError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => visit_number(n, visitor),
            Value::String(s) => visitor.visit_string(s),
            Value::Bytes(b) => visitor.visit_byte_buf(b.to_vec()),
            Value::List(items) => visit_list(items, visitor),
            Value::Map(doc) => visitor.visit_map(MapDeserializer::new(doc)),
            Value::StringSet(set) => {
                visit_list(set.into_iter().map(Value::String).collect(), visitor)
            }
            Value::NumberSet(set) => {
                visit_list(set.into_iter().map(Value::Number).collect(), visitor)
            }
            Value::BytesSet(set) => {
                visit_list(set.into_iter().map(Value::Bytes).collect(), visitor)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, StoreError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(ValueDeserializer(other)),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, StoreError> {
        match self.0 {
            Value::Number(n) => visitor.visit_f64(n.to_f64()),
            other => ValueDeserializer(other).deserialize_any(visitor),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, StoreError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, StoreError> {
        match (name, self.0) {
            (VALUE_TOKEN, value) => {
                EXACT_VALUE.with(|slot| *slot.borrow_mut() = Some(value));
                let result = visitor.visit_unit();
                EXACT_VALUE.with(|slot| slot.borrow_mut().take());
                result
            }
            (NUMBER_TOKEN, Value::Number(n)) => visitor.visit_string(n.to_string()),
            (_, value) => visitor.visit_newtype_struct(ValueDeserializer(value)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, StoreError> {
        match self.0 {
            Value::String(variant) => visitor.visit_enum(variant.into_deserializer()),
            Value::Map(doc) if doc.len() == 1 => {
                let (variant, value) = doc.into_iter().next().unwrap_or_default();
                visitor.visit_enum(EnumDeserializer { variant, value })
            }
            other => Err(StoreError::invalid_input(format!(
                "an enum is a string or a map with one entry, not a {}",
                other.type_name()
            ))),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, StoreError> {
        match self.0 {
            Value::Bytes(b) => visitor.visit_byte_buf(b.to_vec()),
            other => ValueDeserializer(other).deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, StoreError> {
        self.deserialize_bytes(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 char str string
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

fn visit_list<'de, V: Visitor<'de>>(items: Vec<Value>, visitor: V) -> Result<V::Value, StoreError> {
    let len = items.len();
    let mut seq = SeqDeserializer(items.into_iter());
    let out = visitor.visit_seq(&mut seq)?;
    if seq.0.len() == 0 {
        Ok(out)
    } else {
        Err(de::Error::invalid_length(len, &"fewer elements"))
    }
}

struct SeqDeserializer(std::vec::IntoIter<Value>);

impl<'de> de::SeqAccess<'de> for SeqDeserializer {
    type Error = StoreError;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, StoreError> {
        self.0
            .next()
            .map(|v| seed.deserialize(ValueDeserializer(v)))
            .transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapDeserializer {
    entries: indexmap::map::IntoIter<String, Value>,
    pending: Option<Value>,
}

impl MapDeserializer {
    fn new(doc: Document) -> Self {
        Self {
            entries: doc.into_iter(),
            pending: None,
        }
    }
}

impl<'de> de::MapAccess<'de> for MapDeserializer {
    type Error = StoreError;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, StoreError> {
        match self.entries.next() {
            Some((k, v)) => {
                self.pending = Some(v);
                seed.deserialize(k.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, StoreError> {
        let value = self
            .pending
            .take()
            .ok_or_else(|| StoreError::internal("map value read before its key"))?;
        seed.deserialize(ValueDeserializer(value))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct EnumDeserializer {
    variant: String,
    value: Value,
}

impl<'de> de::EnumAccess<'de> for EnumDeserializer {
    type Error = StoreError;
    type Variant = VariantDeserializer;
    fn variant_seed<V: de::DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantDeserializer), StoreError> {
        let variant = seed.deserialize(self.variant.into_deserializer())?;
        Ok((variant, VariantDeserializer(self.value)))
    }
}

struct VariantDeserializer(Value);

impl<'de> de::VariantAccess<'de> for VariantDeserializer {
    type Error = StoreError;
    fn unit_variant(self) -> Result<(), StoreError> {
        match self.0 {
            Value::Null => Ok(()),
            other => Err(StoreError::invalid_input(format!(
                "a unit variant carries no value, got a {}",
                other.type_name()
            ))),
        }
    }
    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, StoreError> {
        seed.deserialize(ValueDeserializer(self.0))
    }
    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, StoreError> {
        de::Deserializer::deserialize_seq(ValueDeserializer(self.0), visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, StoreError> {
        de::Deserializer::deserialize_map(ValueDeserializer(self.0), visitor)
    }
}
