//! The checks DynamoDB makes before it writes or reads anything, shared by every backend.
//!
//! The in-memory reference backend applies them, and adapters call them before sending a
//! request, so that every backend refuses the same input with `InvalidInput` (some servers,
//! such as moto, are laxer than DynamoDB). Evaluation of conditions and updates on items lives
//! beside them in [`eval`](crate::document::eval).
//!
//! The limits checked, as DynamoDB documents them: items of at most 400 KB; values nested at
//! most [`MAX_NESTING_DEPTH`] levels; attribute names of 1 to [`MAX_ATTRIBUTE_NAME_BYTES`]
//! bytes; no empty set; numbers of at most [`MAX_NUMBER_DIGITS`] significant digits within
//! 1E-130..1E+126; keys of at most [`MAX_PARTITION_KEY_BYTES`] / [`MAX_SORT_KEY_BYTES`] bytes;
//! paths of at most [`MAX_PATH_DEPTH`] segments; at most [`MAX_IN_VALUES`] values in an `IN`
//! and [`MAX_EXPRESSION_OPERATORS`] operators in one condition; transactions of 1 to 100
//! actions touching each item once; batches writing each key once.

mod conditions;
mod keys;
mod update;
mod values;

pub use conditions::{
    MAX_EXPRESSION_OPERATORS, MAX_IN_VALUES, check_condition, check_sort_condition, condition_paths,
};
pub use keys::{MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES, check_key, check_key_value};
pub use update::check_update;
pub use values::{
    MAX_ATTRIBUTE_NAME_BYTES, MAX_NESTING_DEPTH, MAX_NUMBER_DIGITS, MAX_PATH_DEPTH, check_item,
    check_number, check_path, check_value,
};

use crate::document::MAX_TRANSACTION_ACTIONS;
use crate::document::{Query, TransactAction, WriteOp};
use crate::error::{Result, StoreError};
use crate::keys::{DocKey, KeySchema, KeyValue};
use crate::value::Document;

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

/// Checks an item about to be stored in a table with key `schema` and secondary indexes
/// keyed by `indexes`, and returns its key: the key itself, the item's values and size, and
/// the index key attributes it carries (as in DynamoDB, an index key attribute may be absent
/// but not of the wrong type).
pub fn check_new_item<'s>(
    item: &Document,
    schema: &KeySchema,
    indexes: impl IntoIterator<Item = &'s KeySchema>,
) -> Result<DocKey> {
    let key = schema.key_of(item)?;
    check_key(schema, &key)?;
    check_item(item, &key).map_err(|e| e.with_target(key.to_string()))?;
    for index in indexes {
        for attr in std::iter::once(&index.partition).chain(&index.sort) {
            if let Some(value) = item.get(&attr.name) {
                check_key_value(attr, value).map_err(|e| e.with_target(key.to_string()))?;
            }
        }
    }
    Ok(key)
}

/// Checks every write of a batch against the table's key `schema` and its `indexes` (puts as
/// [`check_new_item`] does, deletes by their key) and refuses later writes to a key already in
/// the batch.
pub fn check_batch<'s, I>(ops: Vec<WriteOp>, schema: &KeySchema, indexes: I) -> CheckedBatch
where
    I: IntoIterator<Item = &'s KeySchema> + Clone,
{
    // Every write's key first, then the duplicates found by reference: no key is cloned
    // twice (this runs once per item of every batch, so its allocations show).
    let keys: Vec<Result<DocKey>> = ops
        .iter()
        .map(|op| match op {
            WriteOp::Put(item) => check_new_item(item, schema, indexes.clone()),
            WriteOp::Delete(key) => check_key(schema, key)
                .map(|()| key.clone())
                .map_err(|e| e.with_target(key.to_string())),
        })
        .collect();
    let repeated: Vec<bool> = {
        let mut seen = std::collections::HashSet::with_capacity(keys.len());
        keys.iter()
            .map(|key| key.as_ref().is_ok_and(|key| !seen.insert(key)))
            .collect()
    };
    let mut batch = CheckedBatch {
        valid: Vec::with_capacity(ops.len()),
        refused: Vec::new(),
    };
    for ((op, key), repeated) in ops.into_iter().zip(keys).zip(repeated) {
        match key {
            Ok(key) if repeated => {
                let err = StoreError::invalid_input(
                    "the batch already writes this key; one batch may write a key once",
                )
                .with_target(key.to_string());
                batch.refused.push((op, err));
            }
            Ok(key) => batch.valid.push((key, op)),
            Err(e) => batch.refused.push((op, e)),
        }
    }
    batch
}

/// Checks a whole transaction before anything is sent: its length, every action's key,
/// update and condition, every put's item (as [`check_new_item`] does, against the table's
/// key `schema` and its `indexes`), and that no two actions touch one item. Returns each
/// action's key, in order.
pub fn check_transaction<'s, I>(
    actions: &[TransactAction],
    schema: &KeySchema,
    indexes: I,
) -> Result<Vec<DocKey>>
where
    I: IntoIterator<Item = &'s KeySchema> + Clone,
{
    check_transaction_len(actions.len())?;
    let checked_key = |key: &DocKey| {
        check_key(schema, key)
            .map(|()| key.clone())
            .map_err(|e| e.with_target(key.to_string()))
    };
    let mut keys: Vec<DocKey> = Vec::with_capacity(actions.len());
    for (i, action) in actions.iter().enumerate() {
        let (key, condition) = match action {
            TransactAction::Put { item, condition } => (
                check_new_item(item, schema, indexes.clone())?,
                condition.as_ref(),
            ),
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
