//! Rules for updates: no key attribute changed, no overlapping paths, operands of the right
//! type for `add` and `delete_from_set`, storable values.

use super::values::{check_path, check_value};
use crate::document::{Path, SetValue, Update, UpdateAction};
use crate::error::{Result, StoreError};
use crate::keys::KeySchema;
use crate::value::Value;

/// The path an update action writes.
fn action_path(action: &UpdateAction) -> &Path {
    match action {
        UpdateAction::Set(p, _)
        | UpdateAction::Remove(p)
        | UpdateAction::Add(p, _)
        | UpdateAction::DeleteFromSet(p, _)
        | UpdateAction::Append(p, _) => p,
    }
}

/// Rejects updates DynamoDB refuses: key attributes changed, overlapping paths, `add` or
/// `delete_from_set` of the wrong type, unstorable values.
pub fn check_update(update: &Update, schema: &KeySchema) -> Result<()> {
    for action in update.actions() {
        let path = action_path(action);
        check_path(path)?;
        if schema.is_key_attribute(path.top()) {
            return Err(StoreError::invalid_input(format!(
                "an update cannot change `{}`: it is part of the table's key",
                path.top()
            )));
        }
        match action {
            UpdateAction::Set(_, SetValue::Value(v) | SetValue::IfNotExists(v)) => check_value(v)?,
            UpdateAction::Remove(_) => {}
            UpdateAction::Add(_, v) => {
                check_value(v)?;
                if !matches!(
                    v,
                    Value::Number(_)
                        | Value::StringSet(_)
                        | Value::NumberSet(_)
                        | Value::BytesSet(_)
                ) {
                    return Err(StoreError::invalid_input(format!(
                        "`add` takes a number or a set, got a {} for `{path}`",
                        v.type_name()
                    )));
                }
            }
            UpdateAction::DeleteFromSet(_, v) => {
                check_value(v)?;
                if !matches!(
                    v,
                    Value::StringSet(_) | Value::NumberSet(_) | Value::BytesSet(_)
                ) {
                    return Err(StoreError::invalid_input(format!(
                        "`delete_from_set` takes a set, got a {} for `{path}`",
                        v.type_name()
                    )));
                }
            }
            UpdateAction::Append(_, values) => values.iter().try_for_each(check_value)?,
        }
    }
    let paths: Vec<&Path> = update.actions().iter().map(action_path).collect();
    for (i, a) in paths.iter().enumerate() {
        for b in &paths[i + 1..] {
            let n = a.segments().len().min(b.segments().len());
            if a.segments()[..n] == b.segments()[..n] {
                return Err(StoreError::invalid_input(format!(
                    "two actions of one update touch overlapping paths `{a}` and `{b}`"
                )));
            }
        }
    }
    Ok(())
}
