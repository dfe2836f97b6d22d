//! Indexed field values and the coercion of document and query values to a field's type.

use base64::Engine as _;
use bytes::Bytes;

use super::date::parse_date_or_millis;
use crate::error::{Result, StoreError};
use crate::search::FieldType;
use crate::value::{Number, Value};

/// One indexed value: a token or keyword, a number (dates are epoch milliseconds) or a boolean.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Exact {
    /// A boolean.
    Bool(bool),
    /// A number (long, double, or a date in epoch milliseconds).
    Num(Number),
    /// A keyword or a token of a text field.
    Str(String),
}

impl Exact {
    /// The value as returned in a hit's sort values.
    pub fn to_value(&self) -> Value {
        match self {
            Exact::Bool(b) => Value::Bool(*b),
            Exact::Num(n) => Value::Number(n.clone()),
            Exact::Str(s) => Value::String(s.clone()),
        }
    }

    /// The text, if this is a keyword or token.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Exact::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// How text fields appear in [`FieldData`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextForm {
    /// Analyzed: one value per token, with positions.
    #[default]
    Tokens,
    /// Each value whole, unanalyzed and without positions, for a backend that analyzes on
    /// its own indexing threads (with [`super::word_spans`]).
    Whole,
}

/// What one field of one document indexed.
///
/// Text fields hold their tokens with positions; other fields hold their exact values. A field
/// is present (for `exists`) when it has an entry, even a text field whose value had no token.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldData {
    /// The type the field is mapped to.
    pub ty: FieldType,
    /// Tokens or whole values (text, as [`TextForm`] says) or exact values, in document
    /// order.
    pub values: Vec<Exact>,
    /// The position of each token (text fields only).
    pub positions: Option<Vec<u32>>,
}

/// One scalar found in a document, before coercion to a field type.
#[derive(Debug, Clone, Copy)]
pub(super) enum Scalar<'a> {
    /// A boolean.
    Bool(bool),
    /// A number.
    Num(&'a Number),
    /// A string.
    Str(&'a str),
    /// Bytes (sent to OpenSearch as base64 text).
    Bytes(&'a Bytes),
}

impl Scalar<'_> {
    /// The scalar of a query value; lists, maps, sets and null are not scalars.
    pub(super) fn of(value: &Value) -> Option<Scalar<'_>> {
        Some(match value {
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Number(n) => Scalar::Num(n),
            Value::String(s) => Scalar::Str(s),
            Value::Bytes(b) => Scalar::Bytes(b),
            _ => return None,
        })
    }

    /// The scalar as text, the way a text or keyword field reads it.
    pub(super) fn to_text(self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Num(n) => n.to_string(),
            Scalar::Str(s) => s.to_owned(),
            Scalar::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b),
        }
    }

    fn describe(self) -> String {
        match self {
            Scalar::Str(s) => format!("{:?}", s.chars().take(64).collect::<String>()),
            Scalar::Bytes(_) => "bytes".to_owned(),
            other => other.to_text(),
        }
    }
}

/// Coerces a document value as OpenSearch indexes it into a field of type `ty` (numbers from
/// numeric strings, longs truncated toward zero, booleans from `"true"`/`"false"`, dates from
/// text or epoch milliseconds); the error says why the value does not fit.
pub(super) fn coerce_for_index(ty: FieldType, scalar: Scalar<'_>, field: &str) -> Result<Exact> {
    let exact = coerce(ty, scalar).ok_or_else(|| mismatch(ty, scalar, field, "index"))?;
    match (ty, exact) {
        (FieldType::Long, Exact::Num(n)) => {
            let truncated = truncate(&n);
            if truncated.to_i64().is_none() {
                return Err(StoreError::invalid_input(format!(
                    "value {n} of field `{field}` is out of range for a long"
                )));
            }
            Ok(Exact::Num(truncated))
        }
        (FieldType::Double, Exact::Num(n)) if !n.to_f64().is_finite() => {
            Err(StoreError::invalid_input(format!(
                "value {n} of field `{field}` is out of range for a double"
            )))
        }
        (_, exact) => Ok(exact),
    }
}

/// Coerces a query value (term, range bound, `search_after`) to the type of the field it is
/// compared with. Text fields compare the value unanalyzed with their tokens.
pub fn coerce_for_query(ty: FieldType, value: &Value, field: &str) -> Result<Exact> {
    let scalar = Scalar::of(value).ok_or_else(|| {
        StoreError::invalid_input(format!(
            "a {} cannot be compared with field `{field}`; give a string, number or boolean",
            value.type_name()
        ))
    })?;
    coerce(ty, scalar).ok_or_else(|| mismatch(ty, scalar, field, "query"))
}

fn coerce(ty: FieldType, scalar: Scalar<'_>) -> Option<Exact> {
    match ty {
        FieldType::Text | FieldType::Keyword => Some(Exact::Str(scalar.to_text())),
        FieldType::Long | FieldType::Double => match scalar {
            Scalar::Num(n) => Some(Exact::Num(n.clone())),
            Scalar::Str(s) => s.trim().parse().ok().map(Exact::Num),
            _ => None,
        },
        FieldType::Boolean => match scalar {
            Scalar::Bool(b) => Some(Exact::Bool(b)),
            Scalar::Str("true") => Some(Exact::Bool(true)),
            Scalar::Str("false") => Some(Exact::Bool(false)),
            _ => None,
        },
        FieldType::Date => match scalar {
            Scalar::Num(n) => n.to_i64().map(|millis| Exact::Num(millis.into())),
            Scalar::Str(s) => parse_date_or_millis(s).map(|millis| Exact::Num(millis.into())),
            _ => None,
        },
    }
}

fn mismatch(ty: FieldType, scalar: Scalar<'_>, field: &str, context: &str) -> StoreError {
    let hint = match ty {
        FieldType::Date => {
            " (expected yyyy-MM-dd['T'HH:mm[:ss[.SSS]]][zone] or epoch milliseconds)"
        }
        FieldType::Boolean => " (expected true or false)",
        _ => "",
    };
    StoreError::invalid_input(format!(
        "failed to {context} field `{field}` of type {}: cannot read {} as a {}{hint}",
        ty.as_str(),
        scalar.describe(),
        ty.as_str(),
    ))
}

/// The integer part of a number (toward zero).
fn truncate(n: &Number) -> Number {
    if n.is_integer() {
        return n.clone();
    }
    // Keep the digits before the point without printing the (possibly long) fraction.
    let keep = n.digits().len() as i64 + i64::from(n.exponent());
    if keep <= 0 {
        return Number::zero();
    }
    let sign = if n.is_negative() { "-" } else { "" };
    format!("{sign}{}", &n.digits()[..keep as usize])
        .parse()
        .unwrap_or_else(|_| Number::zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn num(s: &str) -> Number {
        s.parse().unwrap()
    }

    #[test]
    fn index_coercion_follows_opensearch() {
        let n = num("7.9");
        assert_eq!(
            coerce_for_index(FieldType::Long, Scalar::Num(&n), "f").unwrap(),
            Exact::Num(num("7"))
        );
        let n = num("-7.9");
        assert_eq!(
            coerce_for_index(FieldType::Long, Scalar::Num(&n), "f").unwrap(),
            Exact::Num(num("-7"))
        );
        assert_eq!(
            coerce_for_index(FieldType::Double, Scalar::Str(" 2.5 "), "f").unwrap(),
            Exact::Num(num("2.5"))
        );
        assert_eq!(
            coerce_for_index(FieldType::Keyword, Scalar::Bool(true), "f").unwrap(),
            Exact::Str("true".into())
        );
        assert_eq!(
            coerce_for_index(FieldType::Date, Scalar::Str("1970-01-02"), "f").unwrap(),
            Exact::Num(86_400_000.into())
        );
        let err = coerce_for_index(FieldType::Long, Scalar::Str("abc"), "n").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("`n`"), "{err}");
        let big = num("1e30");
        let err = coerce_for_index(FieldType::Long, Scalar::Num(&big), "n").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(coerce_for_index(FieldType::Boolean, Scalar::Str("yes"), "b").is_err());
    }

    #[test]
    fn query_coercion_keeps_fractions_and_rejects_structures() {
        assert_eq!(
            coerce_for_query(FieldType::Long, &Value::from(1.5f64.to_string()), "n").unwrap(),
            Exact::Num(num("1.5"))
        );
        let err = coerce_for_query(FieldType::Keyword, &Value::List(vec![]), "k").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
