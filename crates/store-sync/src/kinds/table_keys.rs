//! Records of a SQL table named by key: the `(key) IN ((…), …)` lists that delete them and that
//! find the rows the table's own key comparison matches them with.

use store_core::{Result, StoreError, Value};

use crate::record::RecordKey;

/// `(k1, k2) IN (($1, $2), …)` for `keys` of a table keyed by `key_names`, with its
/// parameters.
pub(super) fn in_list(key_names: &[String], keys: &[RecordKey]) -> Result<(String, Vec<Value>)> {
    let mut params = Vec::with_capacity(keys.len() * key_names.len());
    let mut tuples = Vec::with_capacity(keys.len());
    for key in keys {
        let start = params.len();
        for name in key_names {
            let value = key
                .parts()
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| StoreError::invalid_input(format!("key {key} has no `{name}`")))?;
            params.push(value);
        }
        let marks: Vec<String> = (start..params.len())
            .map(|i| format!("${}", i + 1))
            .collect();
        tuples.push(format!("({})", marks.join(", ")));
    }
    let condition = format!(
        "({}) IN ({})",
        super::catalog::key_list(key_names),
        tuples.join(", ")
    );
    Ok((condition, params))
}
