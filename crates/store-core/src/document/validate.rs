//! The checks DynamoDB makes before it writes or reads anything, shared by every backend.
//!
//! The in-memory reference backend applies them, and adapters call them before sending a
//! request, so that every backend refuses the same input with `InvalidInput` (some servers,
//! such as moto, are laxer than DynamoDB).

use crate::document::MAX_TRANSACTION_ACTIONS;
use crate::document::{Condition, Path, Query, SortCondition, TransactAction, Update, WriteOp};
use crate::error::{Result, StoreError};
use crate::keys::{DocKey, KeyAttribute, KeySchema, KeyValue};
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

/// Checks a projection: at least one attribute name, none empty.
pub fn check_projection(projection: Option<&Vec<String>>) -> Result<()> {
    match projection {
        Some(fields) if fields.is_empty() || fields.iter().any(String::is_empty) => {
            Err(StoreError::invalid_input(
                "a projection needs at least one attribute name, and no name may be empty",
            ))
        }
        _ => Ok(()),
    }
}

/// Checks a requested page size: at least 1 when given.
pub fn check_page_size(requested: Option<usize>) -> Result<()> {
    match requested {
        Some(0) => Err(StoreError::invalid_input(
            "the page size must be at least 1",
        )),
        _ => Ok(()),
    }
}

/// Checks a query against the key schema it reads (the table's or an index's): a partition
/// value of the right type, a valid sort condition, a filter that names no key attribute, a
/// valid projection and page size. Returns the partition value.
pub fn check_query<'q>(query: &'q Query, schema: &KeySchema) -> Result<&'q KeyValue> {
    let partition = query.partition.as_ref().ok_or_else(|| {
        StoreError::invalid_input(
            "a query needs a partition key value; use a scan to read every partition",
        )
    })?;
    check_key_value(&schema.partition, &partition.to_value())?;
    if let Some(sort) = &query.sort {
        check_sort_condition(sort, schema.sort.as_ref())?;
    }
    if let Some(filter) = &query.filter {
        check_condition(filter)?;
        if let Some(path) = condition_paths(filter)
            .into_iter()
            .find(|p| schema.is_key_attribute(p.top()))
        {
            return Err(StoreError::invalid_input(format!(
                "a query filter cannot use the key attribute `{}`; narrow on keys with the \
                 partition value and the sort condition",
                path.top()
            )));
        }
    }
    check_projection(query.projection.as_ref())?;
    check_page_size(query.page_size).map(|()| partition)
}

/// The writes of a batch, split into those to send (with their keys, each key once, in order)
/// and those refused with `InvalidInput`: invalid writes, and later writes to a key the batch
/// already writes (DynamoDB refuses a batch naming a key twice).
#[derive(Debug, Default)]
pub struct CheckedBatch {
    /// Writes to send, with their keys.
    pub valid: Vec<(DocKey, WriteOp)>,
    /// Writes refused, with the reason.
    pub refused: Vec<(WriteOp, StoreError)>,
}

/// Checks every write of a batch with `key_of` (which validates the write and returns its key)
/// and refuses later writes to a key already in the batch.
pub fn check_batch(
    ops: Vec<WriteOp>,
    mut key_of: impl FnMut(&WriteOp) -> Result<DocKey>,
) -> CheckedBatch {
    let mut seen = std::collections::HashSet::with_capacity(ops.len());
    let mut batch = CheckedBatch::default();
    for op in ops {
        let checked = key_of(&op).and_then(|key| {
            if seen.insert(key.clone()) {
                Ok(key)
            } else {
                Err(StoreError::invalid_input(
                    "the batch already writes this key; one batch may write a key once",
                )
                .with_target(key.to_string()))
            }
        });
        match checked {
            Ok(key) => batch.valid.push((key, op)),
            Err(e) => batch.refused.push((op, e)),
        }
    }
    batch
}

/// Checks a whole transaction before anything is sent: its length, every action's key,
/// update and condition, and that no two actions touch one item. `check_new_item` validates
/// a put's item and returns its key. Returns each action's key, in order.
pub fn check_transaction(
    actions: &[TransactAction],
    schema: &KeySchema,
    mut check_new_item: impl FnMut(&Document) -> Result<DocKey>,
) -> Result<Vec<DocKey>> {
    check_transaction_len(actions.len())?;
    let checked_key = |key: &DocKey| {
        check_key(schema, key)
            .map(|()| key.clone())
            .map_err(|e| e.with_target(key.to_string()))
    };
    let mut keys: Vec<DocKey> = Vec::with_capacity(actions.len());
    for (i, action) in actions.iter().enumerate() {
        let (key, condition) = match action {
            TransactAction::Put { item, condition } => (check_new_item(item)?, condition.as_ref()),
            TransactAction::Update {
                key,
                update,
                condition,
            } => {
                check_update(update, schema).map_err(|e| e.with_target(key.to_string()))?;
                (checked_key(key)?, condition.as_ref())
            }
            TransactAction::Delete { key, condition } => (checked_key(key)?, condition.as_ref()),
            TransactAction::ConditionCheck { key, condition } => {
                (checked_key(key)?, Some(condition))
            }
        };
        if let Some(c) = condition {
            check_condition(c).map_err(|e| e.with_target(key.to_string()))?;
        }
        if let Some(first) = keys.iter().position(|k| *k == key) {
            return Err(StoreError::invalid_input(format!(
                "actions {first} and {i} both touch the item `{key}`; a transaction may touch \
                 each item only once"
            )));
        }
        keys.push(key);
    }
    Ok(keys)
}
