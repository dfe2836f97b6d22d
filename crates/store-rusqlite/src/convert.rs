//! [`Value`]s bound as SQLite parameters, and SQLite values read back by their column's
//! declared type. The mapping is documented in the crate docs.

use rusqlite::types::{ToSql, ToSqlOutput, Value as Sql, ValueRef};
use rusqlite::{Row, Statement};
use store_core::sql::json;
use store_core::{Document, Number, Result, StoreError, Value};

/// A [`Value`] as a SQLite parameter.
pub(crate) struct Param<'a>(pub(crate) &'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Bool(b) => ToSqlOutput::Owned(Sql::Integer(i64::from(*b))),
            Value::Number(n) => number(n),
            Value::String(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            other => {
                let mut text = String::new();
                json::write(other, &mut text);
                ToSqlOutput::Owned(Sql::Text(text))
            }
        })
    }
}

/// An integer written without a fractional part that fits 64 bits is an INTEGER; any other
/// number is its exact decimal text (`1.10`, `1E+50`, 30-digit integers), so no digit and no
/// trailing zero is lost on the way in.
fn number(n: &Number) -> ToSqlOutput<'static> {
    match integer_of(n) {
        Some(i) => ToSqlOutput::Owned(Sql::Integer(i)),
        None => ToSqlOutput::Owned(Sql::Text(n.to_string())),
    }
}

/// The INTEGER a number binds as, if it binds as one: an integer written without fraction
/// digits that fits `i64`.
pub(crate) fn integer_of(n: &Number) -> Option<i64> {
    small_integer(n).or_else(|| if n.exponent() >= 0 { n.to_i64() } else { None })
}

/// The common case read straight from the digits: an integer of at most 18 digits, which
/// always fits `i64`.
fn small_integer(n: &Number) -> Option<i64> {
    let digits = n.digits().as_bytes();
    if n.exponent() != 0 || digits.len() > 18 {
        return None;
    }
    let magnitude = digits
        .iter()
        .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
    Some(if n.is_negative() {
        -magnitude
    } else {
        magnitude
    })
}

/// How a column's declared type asks its values to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Declared {
    /// No special reading: each value by its storage class.
    Plain,
    /// `BOOLEAN`/`BOOL`: INTEGER 0 and 1 read as booleans.
    Boolean,
    /// A type naming `DECIMAL` or `NUMERIC` (`DECIMAL_TEXT`, `NUMERIC(38,10)`): decimal TEXT
    /// reads as an exact number.
    Decimal,
    /// A type naming `JSON` (`JSON`, `JSONB`): a JSON object or array in TEXT reads as a map
    /// or list.
    Json,
}

impl Declared {
    /// The reading a declared type (as `sqlite3_column_decltype` gives it) asks for.
    pub(crate) fn of(decltype: Option<&str>) -> Self {
        let Some(t) = decltype else {
            return Self::Plain;
        };
        let t = t.to_ascii_uppercase();
        if t.starts_with("BOOL") {
            Self::Boolean
        } else if t.contains("JSON") {
            Self::Json
        } else if t.contains("DECIMAL") || t.contains("NUMERIC") {
            Self::Decimal
        } else {
            Self::Plain
        }
    }
}

/// The number a REAL reads as: the shortest decimal that reads back as the same `f64`, but
/// for a whole REAL beyond 2^53 within `i64`, its exact value: the shortest decimal of 2^62
/// is `4611686018427388000`, an integer that would be written back as another value (96 more),
/// and would be the same key as that INTEGER.
fn real(f: f64) -> Result<Number> {
    const EXACT_DOUBLES: f64 = 9_007_199_254_740_992.0; // 2^53
    const PAST_I64: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if f.fract() == 0.0 && f.abs() > EXACT_DOUBLES && f.abs() < PAST_I64 {
        // Whole and below 2^63 in magnitude: the cast is exact.
        return Ok(Number::from(f as i64));
    }
    Number::try_from(f).map_err(|_| {
        StoreError::unsupported(format!(
            "the REAL value {f} has no exact number; filter it out or cast it to text"
        ))
    })
}

/// Reads one SQLite value for a column declared as `declared`.
pub(crate) fn read(value: ValueRef<'_>, declared: Declared) -> Result<Value> {
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) if declared == Declared::Boolean && (i == 0 || i == 1) => {
            Value::Bool(i == 1)
        }
        ValueRef::Integer(i) => Value::Number(i.into()),
        ValueRef::Real(f) => Value::Number(real(f)?),
        ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
            // Text another program wrote that is not UTF-8: the bytes, unchanged.
            Err(_) => Value::Bytes(bytes::Bytes::copy_from_slice(bytes)),
            Ok(text) => match declared {
                // Only the text a number writes reads as that number: `01`, `+5`, `1e2` or
                // `-0` (another program's) stay text, so two rows never read as one value and
                // the text is written back as it was.
                Declared::Decimal => match text.parse::<Number>() {
                    Ok(n) if n.to_string() == text => Value::Number(n),
                    _ => Value::String(text.to_owned()),
                },
                Declared::Json if text.trim_start().starts_with(['{', '[']) => {
                    json::parse(bytes).unwrap_or_else(|_| Value::String(text.to_owned()))
                }
                _ => Value::String(text.to_owned()),
            },
        },
        ValueRef::Blob(bytes) => Value::Bytes(bytes::Bytes::copy_from_slice(bytes)),
    })
}

/// The result columns of a statement: names and how to read each.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    names: Vec<String>,
    declared: Vec<Declared>,
    /// Every column once, as NULL: cloning it copies the names without hashing them again.
    /// `None` when two columns share a name (the later one's value wins, in the earlier one's
    /// place, as inserting them one by one does).
    template: Option<Document>,
}

impl Shape {
    /// The shape of a prepared statement's result.
    pub(crate) fn of(stmt: &Statement<'_>) -> Self {
        let (names, declared): (Vec<String>, Vec<Declared>) = stmt
            .columns()
            .map(|c| (c.name().to_owned(), Declared::of(c.decl_type())))
            .unzip();
        let mut template = Document::with_capacity(names.len());
        for name in &names {
            template.insert(name.as_str(), Value::Null);
        }
        let template = (template.len() == names.len()).then_some(template);
        Self {
            names,
            declared,
            template,
        }
    }

    /// A row as a document, columns in order.
    pub(crate) fn document(&self, row: &Row<'_>) -> Result<Document> {
        self.document_from(|i| {
            row.get_ref(i).map_err(|e| {
                StoreError::internal(format!("reading column `{}`", self.names[i])).with_source(e)
            })
        })
    }

    /// A row as a document, from the raw value of each column in turn.
    pub(crate) fn document_from<'v>(
        &self,
        mut raw: impl FnMut(usize) -> Result<ValueRef<'v>>,
    ) -> Result<Document> {
        let mut value = |i: usize| {
            let name = &self.names[i];
            read(raw(i)?, self.declared[i])
                .map_err(|e| StoreError::new(e.kind(), format!("column `{name}`: {}", e.message())))
        };
        if let Some(template) = &self.template {
            let mut doc = template.clone();
            for (i, (_, slot)) in doc.iter_mut().enumerate() {
                *slot = value(i)?;
            }
            return Ok(doc);
        }
        let mut doc = Document::with_capacity(self.names.len());
        for (i, name) in self.names.iter().enumerate() {
            doc.insert(name.as_str(), value(i)?);
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(value: &Value) -> Sql {
        match Param(value).to_sql().unwrap() {
            ToSqlOutput::Borrowed(v) => Sql::try_from(v).unwrap(),
            ToSqlOutput::Owned(v) => v,
            other => panic!("unexpected output {other:?}"),
        }
    }

    fn num(text: &str) -> Value {
        Value::Number(text.parse().unwrap())
    }

    #[test]
    fn a_whole_real_beyond_2_pow_53_reads_as_its_exact_integer() {
        let exact = |f: f64| real(f).unwrap().to_string();
        assert_eq!(exact(2f64.powi(62)), "4611686018427387904");
        assert_eq!(exact(-(2f64.powi(62))), "-4611686018427387904");
        assert_eq!(exact(1_700_000_000_123_456_789.0), "1700000000123456768");
        // Within 2^53 every whole number is its shortest decimal; past i64, the shortest
        // decimal is kept (it is written back as REAL).
        assert_eq!(exact(2f64.powi(53)), "9007199254740992");
        assert_eq!(exact(1.5), "1.5");
        assert_eq!(exact(1e20), "100000000000000000000");
        assert_eq!(exact(-(2f64.powi(63))), "-9223372036854776000");
    }

    #[test]
    fn parameters_bind_by_kind() {
        assert_eq!(bound(&Value::Null), Sql::Null);
        assert_eq!(bound(&true.into()), Sql::Integer(1));
        assert_eq!(bound(&i64::MIN.into()), Sql::Integer(i64::MIN));
        assert_eq!(bound(&i64::MAX.into()), Sql::Integer(i64::MAX));
        assert_eq!(
            bound(&(-123_456_789_012_345_678i64).into()),
            Sql::Integer(-123_456_789_012_345_678)
        );
        assert_eq!(bound(&0.into()), Sql::Integer(0));
        assert_eq!(bound(&num("-0")), Sql::Integer(0));
        assert_eq!(bound(&num("1E+3")), Sql::Integer(1000));
        assert_eq!(bound(&num("1.10")), Sql::Text("1.10".into()));
        assert_eq!(bound(&num("42.0")), Sql::Text("42.0".into()), "scale kept");
        assert_eq!(
            bound(&num("9223372036854775808")),
            Sql::Text("9223372036854775808".into())
        );
        assert_eq!(bound(&num("1E+50")), Sql::Text("1E+50".into()));
        assert_eq!(bound(&"x".into()), Sql::Text("x".into()));
        let map = Value::Map(Document::new().with("a", num("12.50")));
        assert_eq!(bound(&map), Sql::Text(r#"{"a":12.50}"#.into()));
        assert_eq!(
            bound(&Value::List(vec![1.into(), "b".into()])),
            Sql::Text(r#"[1,"b"]"#.into())
        );
    }

    #[test]
    fn declared_types_choose_the_reading() {
        for (decl, declared) in [
            (Some("BOOLEAN"), Declared::Boolean),
            (Some("bool"), Declared::Boolean),
            (Some("DECIMAL_TEXT"), Declared::Decimal),
            (Some("numeric(38,10)"), Declared::Decimal),
            (Some("jsonb"), Declared::Json),
            (Some("JSON"), Declared::Json),
            (Some("TEXT"), Declared::Plain),
            (Some("INTEGER"), Declared::Plain),
            (None, Declared::Plain),
        ] {
            assert_eq!(Declared::of(decl), declared, "{decl:?}");
        }
    }

    #[test]
    fn values_read_by_declared_type() {
        let text = |t: &'static str| ValueRef::Text(t.as_bytes());
        assert_eq!(
            read(ValueRef::Integer(1), Declared::Boolean).unwrap(),
            true.into()
        );
        assert_eq!(
            read(ValueRef::Integer(2), Declared::Boolean).unwrap(),
            2.into()
        );
        assert_eq!(
            read(ValueRef::Integer(1), Declared::Plain).unwrap(),
            1.into()
        );
        assert_eq!(
            read(ValueRef::Real(0.1), Declared::Plain).unwrap(),
            num("0.1")
        );
        assert_eq!(
            read(ValueRef::Real(f64::INFINITY), Declared::Plain)
                .unwrap_err()
                .kind(),
            store_core::ErrorKind::Unsupported
        );
        let exact = read(text("1.10"), Declared::Decimal).unwrap();
        assert_eq!(exact.as_number().unwrap().to_string(), "1.10");
        assert_eq!(read(text("n/a"), Declared::Decimal).unwrap(), "n/a".into());
        assert_eq!(read(text("1.10"), Declared::Plain).unwrap(), "1.10".into());
        assert_eq!(
            read(text(r#"{"a":[1,2]}"#), Declared::Json).unwrap(),
            Value::Map(Document::new().with("a", vec![1, 2]))
        );
        assert_eq!(read(text("{oops"), Declared::Json).unwrap(), "{oops".into());
        assert_eq!(read(text("\"s\""), Declared::Json).unwrap(), "\"s\"".into());
        assert_eq!(
            read(ValueRef::Text(b"\xff\xfe"), Declared::Plain).unwrap(),
            Value::Bytes(bytes::Bytes::from_static(b"\xff\xfe"))
        );
        assert_eq!(
            read(ValueRef::Blob(b"\0"), Declared::Plain).unwrap(),
            Value::Bytes(bytes::Bytes::from_static(b"\0"))
        );
    }
}
