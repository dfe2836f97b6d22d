//! A page cursor: the key of the last row read and, in SQLite, the storage class each of its
//! values was stored in, so that the next page binds each value in that class.
//!
//! SQLite keeps any class in a column with no declared type, and compares across classes by
//! class first (numbers < TEXT < BLOB). A REAL key reads as a `Number` that binds as TEXT
//! (store-rusqlite writes fractions as their exact text), and TEXT that is not UTF-8 reads as
//! bytes that bind as a BLOB: bound as read, such a key sorts after every number, or after
//! every text, and a page starting past it skips rows. Asked for with `typeof()` beside the
//! row, and bound in that class (see [`bind_mark`]), the key finds its own row again.

use serde_json::Value as Json;
use store_core::sql::quote_ident;
use store_core::{Document, Result, StoreError, Value};

use crate::codec::{decode_value, encode_value};

/// The prefix of the columns a page's query names its key's storage classes by.
const CLASS_COLUMN: &str = "stores.key_class.";

/// A SQLite storage class of a key value (what `typeof()` says; NULL is no key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::kinds) enum KeyClass {
    Integer,
    Real,
    Text,
    Blob,
}

impl KeyClass {
    /// `typeof()`'s name of the class.
    fn name(self) -> &'static str {
        match self {
            KeyClass::Integer => "integer",
            KeyClass::Real => "real",
            KeyClass::Text => "text",
            KeyClass::Blob => "blob",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Self::Integer, Self::Real, Self::Text, Self::Blob]
            .into_iter()
            .find(|class| class.name() == name)
    }
}

/// Whether a table of `columns` can have its key's classes asked for beside its rows: none of
/// its own columns has the name the query gives them.
pub(super) fn classes_fit(columns: &[crate::schema::Column]) -> bool {
    !columns.iter().any(|c| c.name.starts_with(CLASS_COLUMN))
}

/// The select list of a page that also asks for the storage class of each of `keys` (quoted).
pub(super) fn select_with_classes(keys: &[String]) -> String {
    let classes: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            format!(
                "typeof({}) AS {}",
                quote_ident(key),
                quote_ident(&format!("{CLASS_COLUMN}{i}"))
            )
        })
        .collect();
    format!("*, {}", classes.join(", "))
}

/// Takes the class columns of `keys` key values off `row`: the classes, or `None` when one is
/// missing or NULL.
pub(super) fn take_classes(row: &mut Document, keys: usize) -> Option<Vec<KeyClass>> {
    let classes: Vec<Option<KeyClass>> = (0..keys)
        .map(|i| match row.remove(&format!("{CLASS_COLUMN}{i}")) {
            Some(Value::String(name)) => KeyClass::parse(&name),
            _ => None,
        })
        .collect();
    classes.into_iter().collect()
}

/// The placeholder `mark` for a key value of `class`, as an expression of that class with no
/// affinity: a `CAST` alone has its type's affinity, which would convert the column's values
/// before comparing (TEXT `'1'` would compare as the number 1 and fall out of a page), so the
/// cast is followed by an operator (`+ 0`, `|| ''`) whose result has none. A whole number
/// binds as INTEGER and bytes as a BLOB already; a bound parameter has no affinity.
pub(in crate::kinds) fn bind_mark(mark: &str, class: Option<KeyClass>) -> String {
    match class {
        Some(KeyClass::Real) => format!("(CAST({mark} AS REAL) + 0)"),
        Some(KeyClass::Text) => format!("(CAST({mark} AS TEXT) || '')"),
        Some(KeyClass::Integer | KeyClass::Blob) | None => mark.to_owned(),
    }
}

/// A resume token: the typed JSON array of the last key read, or, with its classes, an object
/// `{"key": [...], "classes": ["real", ...]}`.
pub(super) fn encode(key: &[Value], classes: Option<&[KeyClass]>) -> String {
    let key = Json::Array(key.iter().map(encode_value).collect());
    match classes {
        None => key.to_string(),
        Some(classes) => serde_json::json!({
            "key": key,
            "classes": classes.iter().map(|c| c.name()).collect::<Vec<_>>(),
        })
        .to_string(),
    }
}

/// The key (and classes, when it has them) a resume token holds.
pub(super) fn decode(token: &str) -> Result<(Vec<Value>, Option<Vec<KeyClass>>)> {
    let bad = || StoreError::invalid_input("the resume position is not one this table issued");
    let json: Json = serde_json::from_str(token).map_err(|_| bad())?;
    let (key, classes) = match &json {
        Json::Array(key) => (key, None),
        Json::Object(fields) => {
            let key = fields.get("key").and_then(Json::as_array).ok_or_else(bad)?;
            let classes = fields
                .get("classes")
                .and_then(Json::as_array)
                .ok_or_else(bad)?
                .iter()
                .map(|c| c.as_str().and_then(KeyClass::parse).ok_or_else(bad))
                .collect::<Result<Vec<_>>>()?;
            if classes.len() != key.len() {
                return Err(bad());
            }
            (key, Some(classes))
        }
        _ => return Err(bad()),
    };
    let key = key.iter().map(decode_value).collect::<Result<_>>()?;
    Ok((key, classes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_read_back_with_and_without_classes() {
        let key = vec![Value::Number("1.5".parse().unwrap()), Value::from("a")];
        let classes = [KeyClass::Real, KeyClass::Text];
        let (read, read_classes) = decode(&encode(&key, Some(&classes))).unwrap();
        assert_eq!(read, key);
        assert_eq!(read_classes.as_deref(), Some(&classes[..]));
        let (read, read_classes) = decode(&encode(&key, None)).unwrap();
        assert_eq!((read, read_classes), (key, None));
    }

    #[test]
    fn tokens_not_issued_here_are_refused() {
        for token in [
            "",
            "{}",
            "1",
            r#"{"key": [{"N": "1"}], "classes": []}"#,
            r#"{"key": [{"N": "1"}], "classes": ["float"]}"#,
        ] {
            assert!(decode(token).is_err(), "{token}");
        }
    }

    #[test]
    fn a_row_gives_up_its_class_columns() {
        let mut row = Document::new()
            .with("k", "x")
            .with("stores.key_class.0", "real");
        assert_eq!(take_classes(&mut row, 1), Some(vec![KeyClass::Real]));
        assert_eq!(row, Document::new().with("k", "x"));
        let mut null = Document::new().with("stores.key_class.0", "null");
        assert_eq!(take_classes(&mut null, 1), None);
        assert_eq!(
            bind_mark("$1", Some(KeyClass::Real)),
            "(CAST($1 AS REAL) + 0)"
        );
        assert_eq!(bind_mark("$1", None), "$1");
    }
}
