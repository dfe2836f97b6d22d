//! Positions in a SQL table's key order: resume tokens, and the table's [`PartitionPlan`] (the
//! last key of each partition but the last, cut from one snapshot) with the key range each
//! partition reads by it.
//!
//! The splits are `{"key": [column, …], "last_keys": [null | [value, …], …]}`, values in the
//! archive's typed JSON ([`crate::codec`]). Partition I holds the keys after `last_keys[I-1]`
//! (from the first row for I = 0) up to and including `last_keys[I]` (to the last row for the
//! last partition); `null` is a split before every row, so the partition ending there is empty.

use serde_json::{Value as Json, json};
use store_core::{Result, StoreError, Value};

use crate::codec::{decode_value, encode_value};
use crate::plan::PartitionPlan;
use crate::source::Partition;

/// A key a range starts after or ends at; what `None` means depends on the end.
type Bound = Option<Vec<Value>>;

/// The splits of a table keyed by `key`, given each partition's last key (`None`: it ends
/// before the first row).
pub(super) fn splits(key: &[String], last_keys: &[Bound]) -> Json {
    let last_keys: Vec<Json> = last_keys
        .iter()
        .map(|k| match k {
            Some(values) => Json::Array(values.iter().map(encode_value).collect()),
            None => Json::Null,
        })
        .collect();
    json!({ "key": key, "last_keys": last_keys })
}

/// The key range `partition` of a table keyed by `key` reads by `plan`: the key it starts
/// after (`None`: from the first row) and the last key it holds (`None`: to the last row;
/// `Some(empty)`: it holds nothing).
pub(super) fn range(
    plan: &PartitionPlan,
    partition: Partition,
    table: &str,
    key: &[String],
) -> Result<(Bound, Bound)> {
    let bad = || {
        StoreError::invalid_input(format!(
            "the partition plan of {} does not split table `{table}` into {} key ranges",
            plan.source(),
            plan.total()
        ))
    };
    if plan.total() != partition.total() {
        return Err(StoreError::invalid_input(format!(
            "partition {partition} cannot be read by a plan cutting {} into {} partitions",
            plan.source(),
            plan.total()
        )));
    }
    let planned_key: Vec<&str> = plan.splits()["key"]
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|c| c.as_str().ok_or_else(bad))
        .collect::<Result<_>>()?;
    if planned_key != key {
        return Err(StoreError::invalid_input(format!(
            "the partition plan of {} splits by ({}), but table `{table}` is keyed by ({})",
            plan.source(),
            planned_key.join(", "),
            key.join(", ")
        )));
    }
    let last_keys = plan.splits()["last_keys"].as_array().ok_or_else(bad)?;
    if last_keys.len() + 1 != partition.total() as usize {
        return Err(bad());
    }
    let decode = |i: usize| -> Result<Bound> {
        match &last_keys[i] {
            Json::Null => Ok(None),
            Json::Array(values) if values.len() == key.len() => values
                .iter()
                .map(decode_value)
                .collect::<Result<_>>()
                .map(Some),
            _ => Err(bad()),
        }
    };
    let index = partition.index() as usize;
    let after = if index == 0 { None } else { decode(index - 1)? };
    let before = if index == last_keys.len() {
        None
    } else {
        // A split before every row: this partition holds nothing.
        Some(decode(index)?.unwrap_or_default())
    };
    Ok((after, before))
}
