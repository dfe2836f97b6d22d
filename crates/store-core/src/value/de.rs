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
        while let Some(k) = map.next_key::<String>()? {
            if k == NUMBER_TOKEN && doc.is_empty() {
                let digits: String = map.next_value()?;
                let number: Number = digits.parse().map_err(de::Error::custom)?;
                return Ok(Value::Number(number));
            }
            let v: Value = map.next_value()?;
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
    }
    if let Some(float) = super::float::unambiguous_f64(&n) {
        return visitor.visit_f64(float);
    }
    // No float holds this number: hand over its digits as the one-entry map
    // `{NUMBER_TOKEN: "digits"}`, which `Number` and `Value` recognise and every other
    // type refuses with a typed error (never a silently rounded value). This is what keeps
    // digits exact where serde buffers content first (`flatten`, internally tagged and
    // untagged enums).
    visitor.visit_map(NumberTokenMap(Some(n.to_string())))
}

/// The one-entry map `{NUMBER_TOKEN: digits}` that carries an exact number through serde.
struct NumberTokenMap(Option<String>);

impl<'de> de::MapAccess<'de> for NumberTokenMap {
    type Error = StoreError;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, StoreError> {
        if self.0.is_none() {
            return Ok(None);
        }
        seed.deserialize(NUMBER_TOKEN.into_deserializer()).map(Some)
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, StoreError> {
        let digits = self
            .0
            .take()
            .ok_or_else(|| StoreError::internal("number token read twice"))?;
        seed.deserialize(digits.into_deserializer())
    }
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

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, StoreError> {
        match self.0 {
            Value::Number(n) if n.to_i128().is_some() => {
                visitor.visit_i128(n.to_i128().unwrap_or_default())
            }
            other => ValueDeserializer(other).deserialize_any(visitor),
        }
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, StoreError> {
        match self.0 {
            Value::Number(n) if n.to_u128().is_some() => {
                visitor.visit_u128(n.to_u128().unwrap_or_default())
            }
            other => ValueDeserializer(other).deserialize_any(visitor),
        }
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
        bool i8 i16 i32 i64 u8 u16 u32 u64 char str string
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
    /// The key just read and its value, read next.
    pending: Option<(String, Value)>,
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
                self.pending = Some((k.clone(), v));
                seed.deserialize(MapKeyDeserializer(k)).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, StoreError> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| StoreError::internal("map value read before its key"))?;
        seed.deserialize(ValueDeserializer(value))
            .map_err(|e| at_key(e, &key))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// `e` with `key` put in front of the path its message names, so a mismatch deep in a
/// document says where: ``at `address.zip`: invalid type: string "x", expected u32``.
fn at_key(e: StoreError, key: &str) -> StoreError {
    let message = e.message();
    let message = match message
        .strip_prefix("at `")
        .and_then(|rest| rest.split_once("`: "))
    {
        Some((path, rest)) => format!("at `{key}.{path}`: {rest}"),
        None => format!("at `{key}`: {message}"),
    };
    StoreError::new(e.kind(), message)
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

/// Reads a map key (always a string in a [`Document`]) as the key type asks: integer, float
/// and boolean keys are parsed back from their text, so `BTreeMap<u32, _>` round-trips.
struct MapKeyDeserializer(String);

macro_rules! parse_key {
    ($($method:ident => $visit:ident: $t:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, StoreError> {
            match self.0.parse::<$t>() {
                Ok(v) => visitor.$visit(v),
                Err(_) => Err(StoreError::invalid_input(format!(
                    "map key `{}` is not a valid {}",
                    self.0,
                    stringify!($t)
                ))),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for MapKeyDeserializer {
    type Error = StoreError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, StoreError> {
        visitor.visit_string(self.0)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, StoreError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, StoreError> {
        visitor.visit_enum(self.0.into_deserializer())
    }

    parse_key! {
        deserialize_bool => visit_bool: bool,
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_i128 => visit_i128: i128,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_u128 => visit_u128: u128,
        deserialize_f32 => visit_f32: f32,
        deserialize_f64 => visit_f64: f64,
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf option unit unit_struct seq tuple tuple_struct map
        struct identifier ignored_any
    }
}
