//! Any `T: Serialize` into a [`Value`]: [`to_value`] and [`to_document`].

use std::collections::BTreeSet;

use bytes::Bytes;
use serde::ser::{self, Serialize};

use super::number::NUMBER_TOKEN;
use super::sets::{BYTES_SET_TOKEN, NUMBER_SET_TOKEN, STRING_SET_TOKEN};
use super::{Document, Number, Value};
use crate::error::StoreError;

/// Converts any serializable value into a [`Value`], keeping numbers exact.
///
/// Floats become the shortest decimal that reads back as the same float; NaN and the
/// infinities are rejected with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
///
/// ```
/// use serde::Serialize;
/// use store_core::{to_value, Value};
/// #[derive(Serialize)]
/// struct Reading { sensor: String, celsius: f64 }
/// let v = to_value(&Reading { sensor: "s1".into(), celsius: 21.5 }).unwrap();
/// assert_eq!(v.as_map().unwrap().get("celsius").unwrap().as_number().unwrap().to_string(), "21.5");
/// assert!(to_value(&f64::NAN).is_err());
/// ```
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, StoreError> {
    value.serialize(ValueSerializer)
}

/// Converts a serializable struct or map into a [`Document`]; anything else is `InvalidInput`.
pub fn to_document<T: Serialize + ?Sized>(value: &T) -> Result<Document, StoreError> {
    match to_value(value)? {
        Value::Map(doc) => Ok(doc),
        other => Err(StoreError::invalid_input(format!(
            "expected a struct or map to make a document, got a {}",
            other.type_name()
        ))),
    }
}

impl Serialize for Value {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => serialize_number(n, serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::Bytes(b) => serializer.serialize_bytes(b),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(doc) => {
                let mut map = serializer.serialize_map(Some(doc.len()))?;
                for (k, v) in doc.iter() {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Value::StringSet(set) => serializer.serialize_newtype_struct(STRING_SET_TOKEN, set),
            Value::NumberSet(set) => serializer.serialize_newtype_struct(NUMBER_SET_TOKEN, set),
            Value::BytesSet(set) => {
                let items: Vec<BytesRef<'_>> = set.iter().map(|b| BytesRef(b)).collect();
                serializer.serialize_newtype_struct(BYTES_SET_TOKEN, &items)
            }
        }
    }
}

/// A number as the most natural exact form a format has: an integer, else a float when the
/// number is the one decimal every printer gives for that float, else the exact digits (as a
/// string in formats other than ours).
fn serialize_number<S: ser::Serializer>(n: &Number, serializer: S) -> Result<S::Ok, S::Error> {
    if n.is_integer() {
        if let Some(i) = n.to_i64() {
            return serializer.serialize_i64(i);
        }
        if let Some(u) = n.to_u64() {
            return serializer.serialize_u64(u);
        }
    }
    if let Some(float) = super::float::unambiguous_f64(n) {
        return serializer.serialize_f64(float);
    }
    n.serialize(serializer)
}

impl Serialize for Document {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A borrowed byte string that serializes with `serialize_bytes`, not as a list of integers.
pub(crate) struct BytesRef<'a>(pub(crate) &'a [u8]);

impl Serialize for BytesRef<'_> {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// The serializer behind [`to_value`].
pub(crate) struct ValueSerializer;

fn number(n: impl Into<Number>) -> Result<Value, StoreError> {
    Ok(Value::Number(n.into()))
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = StoreError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = VariantBuilder<SeqBuilder>;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = VariantBuilder<MapBuilder>;

    fn serialize_bool(self, v: bool) -> Result<Value, StoreError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, StoreError> {
        number(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Value, StoreError> {
        number(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Value, StoreError> {
        number(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Value, StoreError> {
        number(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Value, StoreError> {
        number(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Value, StoreError> {
        number(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Value, StoreError> {
        number(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Value, StoreError> {
        number(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Value, StoreError> {
        number(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Value, StoreError> {
        number(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Value, StoreError> {
        Number::try_from(v).map(Value::Number)
    }
    fn serialize_f64(self, v: f64) -> Result<Value, StoreError> {
        Number::try_from(v).map(Value::Number)
    }
    fn serialize_char(self, v: char) -> Result<Value, StoreError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, StoreError> {
        Ok(Value::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, StoreError> {
        Ok(Value::Bytes(Bytes::copy_from_slice(v)))
    }
    fn serialize_none(self) -> Result<Value, StoreError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, StoreError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, StoreError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, StoreError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, StoreError> {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Value, StoreError> {
        let inner = value.serialize(ValueSerializer)?;
        match name {
            NUMBER_TOKEN => match inner {
                Value::String(text) => text.parse().map(Value::Number),
                Value::Number(n) => Ok(Value::Number(n)),
                other => Err(token_mismatch("number", &other)),
            },
            STRING_SET_TOKEN => collect_set(inner, "string set", |v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .map(Value::StringSet),
            NUMBER_SET_TOKEN => collect_set(inner, "number set", |v| match v {
                Value::Number(n) => Some(n),
                Value::String(s) => s.parse().ok(),
                _ => None,
            })
            .map(Value::NumberSet),
            BYTES_SET_TOKEN => collect_set(inner, "bytes set", |v| match v {
                Value::Bytes(b) => Some(b),
                _ => None,
            })
            .map(Value::BytesSet),
            _ => Ok(inner),
        }
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, StoreError> {
        let mut doc = Document::with_capacity(1);
        doc.insert(variant, value.serialize(ValueSerializer)?);
        Ok(Value::Map(doc))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, StoreError> {
        Ok(SeqBuilder(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, StoreError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, StoreError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantBuilder<SeqBuilder>, StoreError> {
        Ok(VariantBuilder {
            variant,
            inner: SeqBuilder(Vec::with_capacity(len)),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, StoreError> {
        Ok(MapBuilder {
            doc: Document::with_capacity(len.unwrap_or(0)),
            pending_key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<MapBuilder, StoreError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantBuilder<MapBuilder>, StoreError> {
        Ok(VariantBuilder {
            variant,
            inner: self.serialize_map(Some(len))?,
        })
    }
}

fn token_mismatch(expected: &str, got: &Value) -> StoreError {
    StoreError::invalid_input(format!(
        "a {expected} was serialized from a {}",
        got.type_name()
    ))
}

fn collect_set<T: Ord>(
    inner: Value,
    what: &str,
    element: impl Fn(Value) -> Option<T>,
) -> Result<BTreeSet<T>, StoreError> {
    let Value::List(items) = inner else {
        return Err(token_mismatch(what, &inner));
    };
    let count = items.len();
    let set: BTreeSet<T> = items
        .into_iter()
        .map(|v| {
            let name = v.type_name();
            element(v)
                .ok_or_else(|| StoreError::invalid_input(format!("a {what} cannot hold a {name}")))
        })
        .collect::<Result<_, _>>()?;
    if set.len() != count {
        return Err(StoreError::invalid_input(format!(
            "a {what} was given duplicate elements"
        )));
    }
    Ok(set)
}

/// Collects sequence elements.
pub(crate) struct SeqBuilder(Vec<Value>);

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = StoreError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), StoreError> {
        self.0.push(value.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, StoreError> {
        Ok(Value::List(self.0))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = StoreError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), StoreError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, StoreError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = StoreError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), StoreError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, StoreError> {
        ser::SerializeSeq::end(self)
    }
}

/// Collects map entries and struct fields.
pub(crate) struct MapBuilder {
    doc: Document,
    pending_key: Option<String>,
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = StoreError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), StoreError> {
        self.pending_key = Some(match key.serialize(ValueSerializer)? {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                return Err(StoreError::invalid_input(format!(
                    "map keys must be strings, numbers or booleans, not a {}",
                    other.type_name()
                )));
            }
        });
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), StoreError> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| StoreError::internal("map value serialized before its key"))?;
        self.doc.insert(key, value.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, StoreError> {
        Ok(Value::Map(self.doc))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = StoreError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), StoreError> {
        self.doc.insert(key, value.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, StoreError> {
        Ok(Value::Map(self.doc))
    }
}

/// Wraps a tuple or struct variant as `{ variant: inner }`.
pub(crate) struct VariantBuilder<B> {
    variant: &'static str,
    inner: B,
}

impl<B> VariantBuilder<B> {
    fn wrap(variant: &'static str, inner: Value) -> Value {
        let mut doc = Document::with_capacity(1);
        doc.insert(variant, inner);
        Value::Map(doc)
    }
}

impl ser::SerializeTupleVariant for VariantBuilder<SeqBuilder> {
    type Ok = Value;
    type Error = StoreError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), StoreError> {
        ser::SerializeSeq::serialize_element(&mut self.inner, value)
    }
    fn end(self) -> Result<Value, StoreError> {
        let inner = ser::SerializeSeq::end(self.inner)?;
        Ok(Self::wrap(self.variant, inner))
    }
}

impl ser::SerializeStructVariant for VariantBuilder<MapBuilder> {
    type Ok = Value;
    type Error = StoreError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), StoreError> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, value)
    }
    fn end(self) -> Result<Value, StoreError> {
        let inner = ser::SerializeStruct::end(self.inner)?;
        Ok(Self::wrap(self.variant, inner))
    }
}
