//! Records of a SQL table named by key: the `(key) IN ((…), …)` lists that delete them and that
//! find the rows the table's own key comparison matches them with.

use store_core::sql::{SqliteAffinity, sqlite_affinity, sqlite_real_like};
use store_core::{Result, StoreError, Value};

use crate::record::RecordKey;
use crate::schema::Column;

/// How each key column's values are bound to find rows by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyBinding {
    /// As they are.
    Plain,
    /// A number a REAL reads back as is bound as a REAL with no affinity: SQLite, a column not
    /// of TEXT affinity, where store-rusqlite stores such a number as REAL (or the column's
    /// affinity converts it to one), and the TEXT of its digits would find nothing in a
    /// column of no declared type, or find a TEXT key of the same digits.
    RealLike,
}

/// The binding of each of `key_names` of a table of `backend` whose columns are `columns`.
pub(super) fn key_bindings(
    backend: &str,
    columns: &[Column],
    key_names: &[String],
) -> Vec<KeyBinding> {
    key_names
        .iter()
        .map(|name| {
            let declared = columns
                .iter()
                .find(|c| &c.name == name)
                .map(|c| c.sql_type.as_str());
            match (backend, declared) {
                ("sqlite", Some(declared)) if sqlite_affinity(declared) != SqliteAffinity::Text => {
                    KeyBinding::RealLike
                }
                _ => KeyBinding::Plain,
            }
        })
        .collect()
}

/// `(k1, k2) IN (($1, $2), …)` for `keys` of a table keyed by `key_names`, each bound as
/// `bindings` says, with its parameters.
pub(super) fn in_list(
    key_names: &[String],
    bindings: &[KeyBinding],
    keys: &[RecordKey],
) -> Result<(String, Vec<Value>)> {
    let mut params = Vec::with_capacity(keys.len() * key_names.len());
    let mut tuples = Vec::with_capacity(keys.len());
    for key in keys {
        let mut marks = Vec::with_capacity(key_names.len());
        for (i, name) in key_names.iter().enumerate() {
            let value = key
                .parts()
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| StoreError::invalid_input(format!("key {key} has no `{name}`")))?;
            let real = bindings.get(i) == Some(&KeyBinding::RealLike)
                && matches!(&value, Value::Number(n) if sqlite_real_like(n));
            params.push(value);
            let mark = format!("${}", params.len());
            marks.push(if real {
                format!("(CAST({mark} AS REAL) + 0)")
            } else {
                mark
            });
        }
        tuples.push(format!("({})", marks.join(", ")));
    }
    let condition = format!(
        "({}) IN ({})",
        super::catalog::key_list(key_names),
        tuples.join(", ")
    );
    Ok((condition, params))
}
