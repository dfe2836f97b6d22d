//! [`Value`]s to PostgreSQL's wire formats and back, driven by the server's column and
//! parameter types.
//!
//! Parameters are encoded by the type the server inferred for them when the statement was
//! prepared (`$1` compared with a `bigint` column is `int8`): numbers become exact integers or
//! `numeric`, maps and lists become JSON for `json`/`jsonb`, lists become arrays. Dates, times,
//! timestamps, UUIDs and every type without a binary encoder here travel in PostgreSQL's text
//! format, so the server parses them exactly as it would a literal. Columns always arrive in
//! binary and are decoded to the same [`Value`] kinds.

pub(crate) mod array;
pub(crate) mod numeric;
pub(crate) mod time;

use bytes::{BufMut, BytesMut};
use store_core::{Document, Number, StoreError, Value};
use tokio_postgres::Row;
use tokio_postgres::types::{Format, FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};

use array::{decode_array, encode_array};

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// The largest field value PostgreSQL accepts (1 GiB - 1, `MaxAllocSize`).
pub(crate) const MAX_FIELD_BYTES: usize = 0x3FFF_FFFF;

/// The `int32` length word of a field of `len` bytes, as the wire formats write it; a field
/// PostgreSQL could not store is invalid input rather than a wrapped length.
pub(crate) fn field_len(len: usize) -> Result<i32, StoreError> {
    if len > MAX_FIELD_BYTES {
        return Err(StoreError::invalid_input(format!(
            "a value of {len} bytes is larger than PostgreSQL's limit of {MAX_FIELD_BYTES} bytes \
             per field"
        )));
    }
    Ok(len as i32)
}

/// JSON text from the server, exact: text that does not parse is the server's fault, not the
/// caller's, so it is `Internal`.
fn server_json(text: &[u8]) -> Result<Value, StoreError> {
    store_core::sql::json::parse(text).map_err(|e| {
        StoreError::internal(format!("malformed JSON from the server: {}", e.message()))
    })
}

/// `ty` with domains resolved to their base type.
pub(crate) fn base(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(inner) => base(inner),
        _ => ty,
    }
}

/// Types whose binary form is their text (UTF-8).
fn is_textual(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::XML
    ) || matches!(ty.kind(), Kind::Enum(_))
        || ty.name() == "citext"
}

/// Whether a parameter of this type is sent in binary (else in text format).
fn binary_parameter(ty: &Type) -> bool {
    let ty = base(ty);
    match ty.kind() {
        Kind::Array(elem) => binary_parameter(elem),
        _ => {
            is_textual(ty)
                || matches!(
                    *ty,
                    Type::BOOL
                        | Type::INT2
                        | Type::INT4
                        | Type::INT8
                        | Type::OID
                        | Type::FLOAT4
                        | Type::FLOAT8
                        | Type::NUMERIC
                        | Type::BYTEA
                        | Type::JSON
                        | Type::JSONB
                )
        }
    }
}

fn mismatch(value: &Value, ty: &Type) -> StoreError {
    StoreError::invalid_input(format!(
        "a {} value does not fit the type {}",
        value.type_name(),
        ty.name()
    ))
}

fn integer(n: &Number, ty: &Type, min: i64, max: i64) -> Result<i64, StoreError> {
    n.to_i64()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| {
            StoreError::invalid_input(format!("{n} does not fit the integer type {}", ty.name()))
        })
}

fn finite(n: &Number, ty: &Type) -> Result<f64, StoreError> {
    let f = n.to_f64();
    let f = if ty == &Type::FLOAT4 {
        f64::from(f as f32)
    } else {
        f
    };
    if f.is_finite() {
        Ok(f)
    } else {
        Err(StoreError::invalid_input(format!(
            "{n} is out of range for {}",
            ty.name()
        )))
    }
}

fn json_text(value: &Value) -> String {
    let mut text = String::new();
    store_core::sql::json::write(value, &mut text);
    text
}

/// Writes `value` in the binary format of `ty`. Used for binary parameters and binary COPY.
pub(crate) fn encode_binary(
    value: &Value,
    ty: &Type,
    out: &mut BytesMut,
) -> Result<IsNull, StoreError> {
    if value.is_null() {
        return Ok(IsNull::Yes);
    }
    let ty = base(ty);
    if let Kind::Array(elem) = ty.kind() {
        let Value::List(items) = value else {
            return Err(mismatch(value, ty));
        };
        encode_array(items, elem, out)?;
        return Ok(IsNull::No);
    }
    match (value, ty) {
        (_, &Type::JSON) => out.put_slice(json_text(value).as_bytes()),
        (_, &Type::JSONB) => {
            out.put_u8(1);
            out.put_slice(json_text(value).as_bytes());
        }
        (Value::Bool(b), &Type::BOOL) => out.put_u8(u8::from(*b)),
        (Value::Number(n), &Type::INT2) => {
            out.put_i16(integer(n, ty, i16::MIN.into(), i16::MAX.into())? as i16)
        }
        (Value::Number(n), &Type::INT4) => {
            out.put_i32(integer(n, ty, i32::MIN.into(), i32::MAX.into())? as i32)
        }
        (Value::Number(n), &Type::INT8) => out.put_i64(integer(n, ty, i64::MIN, i64::MAX)?),
        (Value::Number(n), &Type::OID) => out.put_u32(integer(n, ty, 0, u32::MAX.into())? as u32),
        (Value::Number(n), &Type::FLOAT4) => out.put_f32(finite(n, ty)? as f32),
        (Value::Number(n), &Type::FLOAT8) => out.put_f64(finite(n, ty)?),
        (Value::Number(n), &Type::NUMERIC) => numeric::encode(n, out)?,
        (Value::String(s), t) if is_textual(t) => out.put_slice(s.as_bytes()),
        (Value::String(s), &Type::DATE) => out.put_i32(time::parse_date(s)?),
        (Value::String(s), &Type::TIME) => out.put_i64(time::parse_time(s)?),
        (Value::String(s), &Type::TIMESTAMP) => out.put_i64(time::parse_timestamp(s, false)?),
        (Value::String(s), &Type::TIMESTAMPTZ) => out.put_i64(time::parse_timestamp(s, true)?),
        (Value::String(s), &Type::UUID) => out.put_slice(&time::parse_uuid(s)?),
        (Value::Bytes(b), &Type::BYTEA) => out.put_slice(b),
        (Value::String(_), t)
            if !binary_parameter(t)
                && !matches!(
                    *t,
                    Type::DATE | Type::TIME | Type::TIMESTAMP | Type::TIMESTAMPTZ | Type::UUID
                ) =>
        {
            return Err(StoreError::unsupported(format!(
                "no binary encoder for the type {}; use a parameter (sent as text) or a \
                 text column",
                ty.name()
            )));
        }
        _ => return Err(mismatch(value, ty)),
    }
    Ok(IsNull::No)
}

/// Renders `value` in PostgreSQL's text format for `ty` (types sent as text).
fn encode_text(value: &Value, ty: &Type) -> Result<String, StoreError> {
    let ty = base(ty);
    if let Kind::Array(elem) = ty.kind() {
        let Value::List(items) = value else {
            return Err(mismatch(value, ty));
        };
        let mut out = String::from("{");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match item {
                Value::Null => out.push_str("NULL"),
                Value::List(_) => out.push_str(&encode_text(item, ty)?),
                other => {
                    out.push('"');
                    for c in encode_text(other, elem)?.chars() {
                        if c == '"' || c == '\\' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push('"');
                }
            }
        }
        out.push('}');
        return Ok(out);
    }
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if *b { "true" } else { "false" }.to_owned()),
        other => Err(mismatch(other, ty)),
    }
}

/// A [`Value`] bound as the parameter `$index`, encoded by the type the server gives it.
#[derive(Debug)]
pub(crate) struct Param<'a> {
    pub(crate) value: &'a Value,
    pub(crate) index: usize,
}

impl Param<'_> {
    fn context(&self, e: StoreError) -> BoxError {
        Box::new(StoreError::new(
            e.kind(),
            format!("parameter ${}: {}", self.index, e.message()),
        ))
    }
}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        if self.value.is_null() {
            return Ok(IsNull::Yes);
        }
        if binary_parameter(ty) {
            encode_binary(self.value, ty, out).map_err(|e| self.context(e))
        } else {
            let text = encode_text(self.value, ty).map_err(|e| self.context(e))?;
            out.put_slice(text.as_bytes());
            Ok(IsNull::No)
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, ty: &Type) -> Format {
        if binary_parameter(ty) {
            Format::Binary
        } else {
            Format::Text
        }
    }

    to_sql_checked!();
}

/// Binds a slice of values as `$1..$n`.
pub(crate) fn params(values: &[Value]) -> impl ExactSizeIterator<Item = Param<'_>> {
    values.iter().enumerate().map(|(i, value)| Param {
        value,
        index: i + 1,
    })
}

/// A column's raw bytes, `None` for NULL.
pub(crate) struct Raw<'a>(pub(crate) Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn fixed<const N: usize>(raw: &[u8], ty: &Type) -> Result<[u8; N], StoreError> {
    raw.try_into().map_err(|_| {
        StoreError::internal(format!(
            "the server sent {} bytes for a {}, expected {N}",
            raw.len(),
            ty.name()
        ))
    })
}

fn float(v: f64, ty: &Type) -> Result<Value, StoreError> {
    Number::try_from(v).map(Value::Number).map_err(|_| {
        StoreError::unsupported(format!(
            "{v} in a {} column has no exact number; filter it out or cast it to text",
            ty.name()
        ))
    })
}

fn utf8(raw: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(raw.to_vec())
        .map_err(|_| StoreError::internal("the server sent text that is not UTF-8"))
}

/// Decodes a binary column value of type `ty`.
pub(crate) fn decode(ty: &Type, raw: Option<&[u8]>) -> Result<Value, StoreError> {
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    let ty = base(ty);
    if let Kind::Array(elem) = ty.kind() {
        return decode_array(elem, raw);
    }
    Ok(match *ty {
        Type::VOID => Value::Null,
        Type::BOOL => Value::Bool(raw.first().is_some_and(|b| *b != 0)),
        Type::INT2 => Value::from(i16::from_be_bytes(fixed(raw, ty)?)),
        Type::INT4 => Value::from(i32::from_be_bytes(fixed(raw, ty)?)),
        Type::INT8 => Value::from(i64::from_be_bytes(fixed(raw, ty)?)),
        Type::OID => Value::from(u32::from_be_bytes(fixed(raw, ty)?)),
        Type::FLOAT4 => float(f64::from(f32::from_be_bytes(fixed(raw, ty)?)), ty)?,
        Type::FLOAT8 => float(f64::from_be_bytes(fixed(raw, ty)?), ty)?,
        Type::NUMERIC => Value::Number(numeric::decode(raw)?),
        Type::BYTEA => Value::Bytes(bytes::Bytes::copy_from_slice(raw)),
        Type::CHAR => Value::String(char::from(raw.first().copied().unwrap_or(0)).to_string()),
        Type::JSON => server_json(raw)?,
        Type::JSONB => match raw.split_first() {
            Some((1, text)) => server_json(text)?,
            _ => return Err(StoreError::internal("unknown jsonb format version")),
        },
        Type::UUID => Value::String(time::uuid_to_text(raw)),
        Type::DATE => Value::String(time::date_to_text(i32::from_be_bytes(fixed(raw, ty)?))),
        Type::TIME => Value::String(time::time_to_text(i64::from_be_bytes(fixed(raw, ty)?))),
        Type::TIMESTAMP => Value::String(time::timestamp_to_text(
            i64::from_be_bytes(fixed(raw, ty)?),
            false,
        )),
        Type::TIMESTAMPTZ => Value::String(time::timestamp_to_text(
            i64::from_be_bytes(fixed(raw, ty)?),
            true,
        )),
        ref t if is_textual(t) => Value::String(utf8(raw)?),
        _ => {
            return Err(StoreError::unsupported(format!(
                "columns of type {} are not decoded; cast the column to text in the query \
                 (`column::text`)",
                ty.name()
            )));
        }
    })
}

/// A row as a document of its columns, in order.
pub(crate) fn row_to_document(row: &Row) -> Result<Document, StoreError> {
    let columns = row.columns();
    let mut doc = Document::with_capacity(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let raw: Raw<'_> = row.try_get(i).map_err(|e| {
            StoreError::internal(format!("reading column `{}`", column.name())).with_source(e)
        })?;
        let value = decode(column.type_(), raw.0).map_err(|e| {
            StoreError::new(
                e.kind(),
                format!("column `{}`: {}", column.name(), e.message()),
            )
        })?;
        doc.insert(column.name(), value);
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::array::MAX_ARRAY_DIMS;
    use super::*;

    fn round_trip(value: Value, ty: &Type) -> Value {
        let mut buf = BytesMut::new();
        match encode_binary(&value, ty, &mut buf).unwrap() {
            IsNull::Yes => Value::Null,
            IsNull::No => decode(ty, Some(&buf)).unwrap(),
        }
    }

    #[test]
    fn scalars_round_trip_through_binary() {
        let cases: Vec<(Value, Type)> = vec![
            (true.into(), Type::BOOL),
            (i16::MIN.into(), Type::INT2),
            (i32::MAX.into(), Type::INT4),
            (i64::MIN.into(), Type::INT8),
            ("héllo".into(), Type::TEXT),
            (
                Value::Bytes(bytes::Bytes::from_static(b"\0\xff")),
                Type::BYTEA,
            ),
            ("2024-02-29".into(), Type::DATE),
            ("2024-02-29T01:02:03.5Z".into(), Type::TIMESTAMPTZ),
            ("67e55044-10b1-426f-9247-bb680e5fe0c8".into(), Type::UUID),
            (Value::Number("12.50".parse().unwrap()), Type::NUMERIC),
            (
                Value::Map(Document::new().with("a", vec![1, 2])),
                Type::JSONB,
            ),
        ];
        for (value, ty) in cases {
            assert_eq!(round_trip(value.clone(), &ty), value, "{ty}");
        }
    }

    #[test]
    fn arrays_round_trip_including_two_dimensions_and_nulls() {
        let one = Value::List(vec![1.into(), Value::Null, 3.into()]);
        assert_eq!(round_trip(one.clone(), &Type::INT4_ARRAY), one);
        let two = Value::List(vec![vec![1, 2].into(), vec![3, 4].into()]);
        assert_eq!(round_trip(two.clone(), &Type::INT8_ARRAY), two);
        let empty = Value::List(vec![]);
        assert_eq!(round_trip(empty.clone(), &Type::TEXT_ARRAY), empty);
        let ragged = Value::List(vec![vec![1].into(), vec![3, 4].into()]);
        assert!(encode_binary(&ragged, &Type::INT8_ARRAY, &mut BytesMut::new()).is_err());
    }

    #[test]
    fn mismatches_and_ranges_are_invalid_input() {
        let mut buf = BytesMut::new();
        for (value, ty) in [
            (Value::from(40_000), Type::INT2),
            (Value::from("x"), Type::INT4),
            (Value::Bytes(bytes::Bytes::new()), Type::BOOL),
            (Value::Number("1.5".parse().unwrap()), Type::INT8),
        ] {
            let Err(err) = encode_binary(&value, &ty, &mut buf) else {
                panic!("{value:?} into {ty} should fail");
            };
            assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput, "{err}");
        }
    }

    #[test]
    fn text_arrays_quote_their_elements() {
        let v = Value::List(vec!["a\"b".into(), Value::Null, "c\\d".into()]);
        assert_eq!(
            encode_text(&v, &Type::DATE_ARRAY).unwrap(),
            r#"{"a\"b",NULL,"c\\d"}"#
        );
    }

    fn nested(depth: usize) -> Value {
        (0..depth).fold(Value::from(7), |inner, _| {
            Value::List(vec![inner.clone(), inner])
        })
    }

    #[test]
    fn arrays_at_postgres_dimension_limit_round_trip_and_one_more_is_refused() {
        let ty = Type::INT4_ARRAY;
        let six = nested(MAX_ARRAY_DIMS);
        assert_eq!(round_trip(six.clone(), &ty), six);
        let Err(err) = encode_binary(&nested(MAX_ARRAY_DIMS + 1), &ty, &mut BytesMut::new()) else {
            panic!("seven dimensions must be refused");
        };
        assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
        assert!(err.message().contains("dimensions"), "{}", err.message());
    }

    #[test]
    fn field_lengths_past_postgres_limit_are_refused_not_wrapped() {
        assert_eq!(field_len(MAX_FIELD_BYTES).unwrap(), 0x3FFF_FFFF);
        assert!(field_len(MAX_FIELD_BYTES + 1).is_err());
        assert!(field_len(u32::MAX as usize + 5).is_err());
    }

    #[test]
    fn array_headers_with_overflowing_dimensions_are_malformed() {
        // 2 dimensions of 2^31-1 elements each: the product overflows any real array.
        let mut raw = BytesMut::new();
        raw.put_i32(2);
        raw.put_i32(0);
        raw.put_u32(Type::INT4.oid());
        for _ in 0..2 {
            raw.put_i32(i32::MAX);
            raw.put_i32(1);
        }
        assert!(decode(&Type::INT4_ARRAY, Some(&raw)).is_err());
    }
}
