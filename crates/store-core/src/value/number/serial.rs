//! [`Number`] through serde: a newtype that keeps every digit, read back from a string or a
//! number.

use std::fmt;

use super::{NUMBER_TOKEN, Number};

impl serde::Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(NUMBER_TOKEN, &self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(NUMBER_TOKEN, NumberVisitor)
    }
}

struct NumberVisitor;

impl<'de> serde::de::Visitor<'de> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number or a string holding one")
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Number, E> {
        Number::try_from(v).map_err(E::custom)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Number, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_newtype_struct<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Number, D::Error> {
        deserializer.deserialize_any(self)
    }

    /// The one-entry map `{NUMBER_TOKEN: digits}` that carries numbers no float can hold
    /// through serde's buffered paths.
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Number, A::Error> {
        match map.next_key::<String>()? {
            Some(key) if key == NUMBER_TOKEN => {
                let digits: String = map.next_value()?;
                digits.parse().map_err(serde::de::Error::custom)
            }
            _ => Err(serde::de::Error::custom("expected a number, found a map")),
        }
    }
}
