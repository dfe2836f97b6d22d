//! Records of a SQL table named by key: the `(key) IN ((…), …)` lists that delete them and that
//! find the rows the table's own key comparison matches them with.

use store_core::sql::{SqliteAffinity, sqlite_affinity, sqlite_keeps_class, sqlite_real_like};
use store_core::{Number, Result, StoreError, Value};

use super::table::cursor::{KeyClass, bind_mark};
use crate::record::RecordKey;
use crate::schema::Column;

/// What a SQLite key column is, as far as finding a value in it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SqliteKey {
    /// TEXT affinity: numbers are stored as their text.
    Text,
    /// BLOB affinity (no declared type), or `ANY` (which keeps classes in a STRICT table):
    /// a value stays in the class it was written in, and TEXT reads as text.
    KeepsClass,
    /// INTEGER, REAL or NUMERIC affinity: text that is a number is converted as it is stored,
    /// and a parameter with no affinity is converted alike when compared.
    Converts,
}

/// The kind of each of `key_names` of a SQLite table whose columns are `columns`.
pub(super) fn sqlite_keys(columns: &[Column], key_names: &[String]) -> Vec<SqliteKey> {
    key_names
        .iter()
        .map(|name| {
            let declared = columns.iter().find(|c| &c.name == name);
            // ANY keeps classes in a STRICT table (whether it is one is not known here).
            let any = declared.is_some_and(|c| sqlite_keeps_class(&c.sql_type, true));
            match declared.map(|c| sqlite_affinity(&c.sql_type)) {
                _ if any => SqliteKey::KeepsClass,
                Some(SqliteAffinity::Text) => SqliteKey::Text,
                Some(SqliteAffinity::Integer | SqliteAffinity::Real | SqliteAffinity::Numeric) => {
                    SqliteKey::Converts
                }
                Some(SqliteAffinity::Blob) | None => SqliteKey::KeepsClass,
            }
        })
        .collect()
}

/// `(k1, k2) IN (($1, $2), …)` for `keys` of a table keyed by `key_names`, with its
/// parameters. On SQLite (`sqlite` gives each key column's kind) a key value is sought in
/// each storage class a read maps to it (see [`forms`]), so the rows a read gave that key
/// are found however they are stored.
pub(super) fn in_list(
    key_names: &[String],
    sqlite: Option<&[SqliteKey]>,
    keys: &[RecordKey],
) -> Result<(String, Vec<Value>)> {
    let mut params = Vec::with_capacity(keys.len() * key_names.len());
    let mut tuples = Vec::with_capacity(keys.len());
    for key in keys {
        // Every combination of the parts' forms (one form a part but on SQLite).
        let mut combinations = vec![Vec::with_capacity(key_names.len())];
        for (i, name) in key_names.iter().enumerate() {
            let value = key
                .parts()
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| StoreError::invalid_input(format!("key {key} has no `{name}`")))?;
            let mark = format!("${}", params.len() + 1);
            let column = sqlite.map(|kinds| kinds.get(i).copied().unwrap_or(SqliteKey::KeepsClass));
            let part_forms = forms(&value, &mark, column);
            params.push(value);
            combinations = combinations
                .into_iter()
                .flat_map(|done: Vec<String>| {
                    part_forms.iter().map(move |form| {
                        let mut tuple = done.clone();
                        tuple.push(form.clone());
                        tuple
                    })
                })
                .collect();
        }
        tuples.extend(
            combinations
                .into_iter()
                .map(|tuple| format!("({})", tuple.join(", "))),
        );
    }
    let condition = format!(
        "({}) IN ({})",
        super::catalog::key_list(key_names),
        tuples.join(", ")
    );
    Ok((condition, params))
}

/// The expressions that find `value` (bound as `mark`) where it may be stored in a column of
/// kind `column` (`None`: not SQLite, the parameter as it binds). On SQLite each is an
/// expression with no affinity (the page cursor's [`bind_mark`]), of a storage class a read
/// of that column maps to `value`:
/// - a number a REAL reads back as (`1.5`): where a column keeps classes, only the REAL,
///   `(CAST(mark AS REAL) + 0)`, which store-rusqlite stores there (a TEXT `'1.5'` there
///   reads as text, another key, and is not sought); where it converts, the REAL and the text
///   (which stays text only where converting it would lose digits); in a TEXT column, the
///   text;
/// - a whole number beyond 2^53: the INTEGER, and the REAL it reads from (a timestamp in
///   nanoseconds stored as a double is not the INTEGER of its digits);
/// - bytes that are not UTF-8: the BLOB, and the TEXT of those bytes (which reads as them).
fn forms(value: &Value, mark: &str, column: Option<SqliteKey>) -> Vec<String> {
    let real = bind_mark(mark, Some(KeyClass::Real));
    match (column, value) {
        (Some(SqliteKey::KeepsClass), Value::Number(n)) if sqlite_real_like(n) => vec![real],
        (Some(SqliteKey::Converts), Value::Number(n)) if sqlite_real_like(n) => {
            vec![mark.to_owned(), real]
        }
        (Some(_), Value::Number(n)) if beyond_exact_doubles(n) => vec![mark.to_owned(), real],
        (Some(_), Value::Bytes(bytes)) if std::str::from_utf8(bytes).is_err() => {
            vec![mark.to_owned(), bind_mark(mark, Some(KeyClass::Text))]
        }
        _ => vec![mark.to_owned()],
    }
}

/// A whole number within `i64` beyond 2^53, where doubles no longer hold every integer.
fn beyond_exact_doubles(n: &Number) -> bool {
    n.exponent() >= 0 && n.to_i64().is_some_and(|i| i.unsigned_abs() > 1 << 53)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_keys_are_sought_in_every_class_that_reads_as_them() {
        let number = |text: &str| Value::Number(text.parse().unwrap());
        let real = "(CAST($1 AS REAL) + 0)";
        let other = Some(SqliteKey::KeepsClass);
        let text = Some(SqliteKey::Text);
        assert_eq!(forms(&number("1.5"), "$1", other), [real]);
        assert_eq!(
            forms(&number("1.5"), "$1", Some(SqliteKey::Converts)),
            ["$1", real]
        );
        assert_eq!(forms(&number("1.5"), "$1", text), ["$1"]);
        assert_eq!(forms(&number("1.5"), "$1", None), ["$1"]);
        assert_eq!(
            forms(&number("4611686018427388000"), "$1", other),
            ["$1", real]
        );
        assert_eq!(forms(&number("9007199254740992"), "$1", other), ["$1"]);
        assert_eq!(forms(&number("1.50"), "$1", other), ["$1"]);
        let bytes = |b: &[u8]| Value::Bytes(b.to_vec().into());
        assert_eq!(
            forms(&bytes(b"x\xff"), "$1", text),
            ["$1", "(CAST($1 AS TEXT) || '')"]
        );
        assert_eq!(forms(&bytes(b"x"), "$1", other), ["$1"]);
        let key = RecordKey::new(vec![
            ("a".to_owned(), number("4611686018427388000")),
            ("b".to_owned(), Value::from("t")),
            ("c".to_owned(), bytes(b"\xff")),
        ])
        .unwrap();
        let names = ["a", "b", "c"].map(str::to_owned);
        let kinds = [SqliteKey::KeepsClass; 3];
        let (condition, params) = in_list(&names, Some(&kinds), &[key]).unwrap();
        assert_eq!(params.len(), 3);
        assert_eq!(condition.matches("), (").count() + 1, 4, "{condition}");
    }
}
