//! The checks DynamoDB makes before it writes or reads anything, shared by every backend.
//!
//! The in-memory reference backend applies them, and adapters call them before sending a
//! request, so that every backend refuses the same input with `InvalidInput` (some servers,
//! such as moto, are laxer than DynamoDB).

use crate::document::MAX_TRANSACTION_ACTIONS;
use crate::document::{Condition, Path, SortCondition, Update};
use crate::error::{Result, StoreError};
use crate::keys::{DocKey, KeyAttribute, KeySchema};
use crate::memory::eval;
use crate::value::{Document, Number, Value};

/// Checks the number of actions of a transaction: at least one, at most
/// [`MAX_TRANSACTION_ACTIONS`].
pub fn check_transaction_len(actions: usize) -> Result<()> {
    if actions == 0 {
        return Err(StoreError::invalid_input(
            "a transaction needs at least one action",
        ));
    }
    if actions > MAX_TRANSACTION_ACTIONS {
        return Err(StoreError::invalid_input(format!(
            "a transaction holds at most {MAX_TRANSACTION_ACTIONS} actions, got {actions}"
        )));
    }
    Ok(())
}

/// Rejects conditions DynamoDB refuses: ordering operators on values without an order,
/// `BETWEEN` bounds of different types or in the wrong order, an empty `IN`, `AND` or `OR`,
/// and values that could not be stored.
pub fn check_condition(condition: &Condition) -> Result<()> {
    eval::check_condition(condition)
}

/// Rejects updates DynamoDB refuses: key attributes changed, overlapping paths, `add` or
/// `delete_from_set` of the wrong type, unstorable values.
pub fn check_update(update: &Update, schema: &KeySchema) -> Result<()> {
    eval::check_update(update, schema)
}

/// Checks a whole item before it is stored: attribute names, storable values and the
/// 400 KB size limit (the error names `key`).
pub fn check_item(item: &Document, key: &DocKey) -> Result<()> {
    eval::check_item(item, key)
}

/// Checks a key against the schema: types, non-empty strings and bytes, storable numbers.
pub fn check_key(schema: &KeySchema, key: &DocKey) -> Result<()> {
    eval::check_key(schema, key)
}

/// Checks a value given for a key attribute (a query's partition, an index key of an item).
pub fn check_key_value(attr: &KeyAttribute, value: &Value) -> Result<()> {
    eval::check_key_value(attr, value)
}

/// Checks a sort condition against the sort key it narrows (`None`: there is no sort key).
pub fn check_sort_condition(condition: &SortCondition, attr: Option<&KeyAttribute>) -> Result<()> {
    eval::check_sort_condition(condition, attr)
}

/// Rejects numbers DynamoDB cannot store: more than 38 significant digits, or a magnitude
/// outside 1E-130..=9.9999999999999999999999999999999999999E+125.
pub fn check_number(n: &Number) -> Result<()> {
    eval::check_number(n)
}

/// Rejects values DynamoDB cannot store: empty sets and unstorable numbers, at any depth.
pub fn check_value(value: &Value) -> Result<()> {
    eval::check_value(value)
}

/// Rejects a path with no segment or an empty attribute name.
pub fn check_path(path: &Path) -> Result<()> {
    eval::check_path(path)
}

/// Every path a condition reads (for checks such as "a query filter may not name a key").
pub fn condition_paths(condition: &Condition) -> Vec<&Path> {
    eval::condition_paths(condition)
}
