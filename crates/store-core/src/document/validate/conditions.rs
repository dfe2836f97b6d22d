//! Rules for conditions: operand types, `BETWEEN` bounds, `IN` lists, and the size of one
//! expression.

use std::cmp::Ordering;

use super::keys::check_key_value;
use super::values::{check_path, check_value};
use crate::document::eval::compare;
use crate::document::{CompareOp, Condition, Path, SortCondition};
use crate::error::{Result, StoreError};
use crate::keys::{KeyAttribute, KeyType};
use crate::value::Value;

/// The most values one `IN` may list.
pub const MAX_IN_VALUES: usize = 100;
/// The most operators and functions one expression may hold (DynamoDB's limit of 300).
pub const MAX_EXPRESSION_OPERATORS: usize = 300;

/// Rejects conditions DynamoDB refuses: ordering operators on values without an order,
/// `BETWEEN` bounds of different types or in the wrong order, an empty `IN`, `AND` or `OR`, an
/// `IN` of more than [`MAX_IN_VALUES`] values, more than [`MAX_EXPRESSION_OPERATORS`]
/// operators and functions, and values that could not be stored.
pub fn check_condition(condition: &Condition) -> Result<()> {
    let operators = count_operators(condition);
    if operators > MAX_EXPRESSION_OPERATORS {
        return Err(StoreError::invalid_input(format!(
            "a condition holds {operators} operators and functions; DynamoDB allows at most \
             {MAX_EXPRESSION_OPERATORS} in one expression"
        )));
    }
    check_parts(condition)
}

/// Operators and functions of a condition, as DynamoDB counts them: each comparison,
/// function, `BETWEEN`, `IN`, `NOT`, and each `AND`/`OR` joining two parts.
fn count_operators(condition: &Condition) -> usize {
    match condition {
        Condition::And(parts) | Condition::Or(parts) => {
            parts.len().saturating_sub(1) + parts.iter().map(count_operators).sum::<usize>()
        }
        Condition::Not(inner) => 1 + count_operators(inner),
        // `size(path) op value` is a function and a comparison.
        Condition::Size { .. } => 2,
        _ => 1,
    }
}

fn check_parts(condition: &Condition) -> Result<()> {
    match condition {
        Condition::Exists(path) | Condition::NotExists(path) | Condition::Size { path, .. } => {
            check_path(path)
        }
        Condition::Compare { path, op, value } => {
            check_path(path)?;
            check_value(value)?;
            if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                require_ordered(op.symbol(), value)?;
            }
            Ok(())
        }
        Condition::BeginsWith(path, prefix) => {
            check_path(path)?;
            if !matches!(prefix, Value::String(_) | Value::Bytes(_)) {
                return Err(StoreError::invalid_input(format!(
                    "begins_with takes a string or bytes prefix, got a {}",
                    prefix.type_name()
                )));
            }
            Ok(())
        }
        Condition::Between(path, low, high) => {
            check_path(path)?;
            check_bounds(low, high)
        }
        Condition::Contains(path, needle) => {
            check_path(path)?;
            check_value(needle)
        }
        Condition::In(path, values) => {
            check_path(path)?;
            if values.is_empty() || values.len() > MAX_IN_VALUES {
                return Err(StoreError::invalid_input(format!(
                    "IN takes 1 to {MAX_IN_VALUES} values, got {}",
                    values.len()
                )));
            }
            values.iter().try_for_each(check_value)
        }
        Condition::And(parts) | Condition::Or(parts) => {
            if parts.is_empty() {
                return Err(StoreError::invalid_input(
                    "an AND or OR condition needs at least one part",
                ));
            }
            parts.iter().try_for_each(check_parts)
        }
        Condition::Not(inner) => check_parts(inner),
    }
}

fn require_ordered(operator: &str, value: &Value) -> Result<()> {
    match value {
        Value::Number(_) | Value::String(_) | Value::Bytes(_) => check_value(value),
        other => Err(StoreError::invalid_input(format!(
            "`{operator}` compares numbers, strings or bytes, got a {}",
            other.type_name()
        ))),
    }
}

fn check_bounds(low: &Value, high: &Value) -> Result<()> {
    require_ordered("BETWEEN", low)?;
    require_ordered("BETWEEN", high)?;
    match compare(low, high) {
        None => Err(StoreError::invalid_input(format!(
            "BETWEEN bounds must have one type, got a {} and a {}",
            low.type_name(),
            high.type_name()
        ))),
        Some(Ordering::Greater) => Err(StoreError::invalid_input(
            "BETWEEN needs its lower bound first: the lower bound is greater than the upper",
        )),
        Some(_) => Ok(()),
    }
}

/// Checks a sort condition against the sort key it narrows (`None`: there is no sort key).
pub fn check_sort_condition(condition: &SortCondition, attr: Option<&KeyAttribute>) -> Result<()> {
    let Some(attr) = attr else {
        return Err(StoreError::invalid_input(
            "a sort condition was given, but the table or index has no sort key",
        ));
    };
    match condition {
        SortCondition::Eq(v)
        | SortCondition::Lt(v)
        | SortCondition::Le(v)
        | SortCondition::Gt(v)
        | SortCondition::Ge(v) => check_key_value(attr, v),
        SortCondition::Between(low, high) => {
            check_key_value(attr, low)?;
            check_key_value(attr, high)?;
            check_bounds(low, high)
        }
        SortCondition::BeginsWith(prefix) => {
            if attr.key_type == KeyType::Number {
                return Err(StoreError::invalid_input(format!(
                    "begins_with needs a string or bytes sort key, but `{}` is a number",
                    attr.name
                )));
            }
            check_key_value(attr, prefix)
        }
    }
}

/// Every path a condition reads, for checks such as "a query filter may not name a key".
pub fn condition_paths(condition: &Condition) -> Vec<&Path> {
    let mut out = Vec::new();
    collect_paths(condition, &mut out);
    out
}

fn collect_paths<'a>(condition: &'a Condition, out: &mut Vec<&'a Path>) {
    match condition {
        Condition::Exists(p)
        | Condition::NotExists(p)
        | Condition::Compare { path: p, .. }
        | Condition::Size { path: p, .. }
        | Condition::BeginsWith(p, _)
        | Condition::Between(p, _, _)
        | Condition::Contains(p, _)
        | Condition::In(p, _) => out.push(p),
        Condition::And(parts) | Condition::Or(parts) => {
            parts.iter().for_each(|c| collect_paths(c, out));
        }
        Condition::Not(inner) => collect_paths(inner, out),
    }
}
