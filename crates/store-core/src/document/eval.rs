//! Evaluation of [`Condition`]s and [`SortCondition`]s on documents with DynamoDB's semantics,
//! and application of [`Update`](crate::document::Update)s: the shared engine of every document
//! backend that evaluates expressions itself (the in-memory store, embedded stores). Inputs are
//! checked first by [`validate`](crate::document::validate); these functions assume checked
//! input.
//!
//! Semantics, as DynamoDB has them:
//! - a missing item has no attributes; a missing attribute fails every test but `<>` and
//!   `attribute_not_exists`;
//! - `=` and `<>` compare any two values (different types are simply unequal); `<`, `<=`, `>`,
//!   `>=` and `BETWEEN` compare only numbers with numbers (numerically), strings with strings
//!   and bytes with bytes (byte-wise); across types they are false;
//! - `begins_with` works on strings and bytes, `contains` on strings (substring), sets and
//!   lists (element), `size` on strings (bytes), bytes, lists, maps and sets.

mod update;

use std::cmp::Ordering;

pub use update::apply_update;

use crate::document::{
    CancellationReason, CompareOp, Condition, Path, PathSegment, SortCondition, TransactAction,
};
use crate::keys::KeyValue;
use crate::value::{Document, Value};

/// The value at `path` in `item`, if every step of the path exists.
pub fn resolve<'a>(item: &'a Document, path: &Path) -> Option<&'a Value> {
    let (first, rest) = path.segments().split_first()?;
    let PathSegment::Field(name) = first else {
        return None;
    };
    let mut current = item.get(name)?;
    for segment in rest {
        current = match (segment, current) {
            (PathSegment::Field(name), Value::Map(doc)) => doc.get(name)?,
            (PathSegment::Index(i), Value::List(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Orders two values when DynamoDB can: numbers numerically, strings and bytes byte-wise.
/// Any other pair, including values of different types, has no order.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bytes(x), Value::Bytes(y)) => Some(x[..].cmp(&y[..])),
        _ => None,
    }
}

fn op_holds(op: CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
    }
}

fn between(value: &Value, low: &Value, high: &Value) -> bool {
    compare(value, low).is_some_and(|o| o != Ordering::Less)
        && compare(value, high).is_some_and(|o| o != Ordering::Greater)
}

fn begins_with(value: &Value, prefix: &Value) -> bool {
    match (value, prefix) {
        (Value::String(s), Value::String(p)) => s.starts_with(p.as_str()),
        (Value::Bytes(b), Value::Bytes(p)) => b.starts_with(p),
        _ => false,
    }
}

fn contains(value: &Value, needle: &Value) -> bool {
    match (value, needle) {
        (Value::String(s), Value::String(n)) => s.contains(n.as_str()),
        (Value::StringSet(set), Value::String(n)) => set.contains(n),
        (Value::NumberSet(set), Value::Number(n)) => set.contains(n),
        (Value::BytesSet(set), Value::Bytes(n)) => set.contains(n),
        (Value::List(items), n) => items.contains(n),
        _ => false,
    }
}

/// DynamoDB's `size()`: bytes of a string or binary, elements of a list, map or set.
fn size_of(value: &Value) -> Option<u64> {
    let n = match value {
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::List(items) => items.len(),
        Value::Map(doc) => doc.len(),
        Value::StringSet(set) => set.len(),
        Value::NumberSet(set) => set.len(),
        Value::BytesSet(set) => set.len(),
        Value::Null | Value::Bool(_) | Value::Number(_) => return None,
    };
    u64::try_from(n).ok()
}

/// Whether `condition` holds on `item` (`None`: the item does not exist).
pub fn eval_condition(condition: &Condition, item: Option<&Document>) -> bool {
    let get = |path: &Path| item.and_then(|doc| resolve(doc, path));
    match condition {
        Condition::Exists(path) => get(path).is_some(),
        Condition::NotExists(path) => get(path).is_none(),
        Condition::Compare { path, op, value } => match (op, get(path)) {
            (CompareOp::Eq, found) => found == Some(value),
            (CompareOp::Ne, found) => found != Some(value),
            (op, Some(found)) => compare(found, value).is_some_and(|o| op_holds(*op, o)),
            (_, None) => false,
        },
        Condition::Size { path, op, value } => get(path)
            .and_then(size_of)
            .is_some_and(|size| op_holds(*op, size.cmp(value))),
        Condition::BeginsWith(path, prefix) => get(path).is_some_and(|v| begins_with(v, prefix)),
        Condition::Between(path, low, high) => get(path).is_some_and(|v| between(v, low, high)),
        Condition::Contains(path, needle) => get(path).is_some_and(|v| contains(v, needle)),
        Condition::In(path, values) => get(path).is_some_and(|v| values.contains(v)),
        Condition::And(parts) => parts.iter().all(|c| eval_condition(c, item)),
        Condition::Or(parts) => parts.iter().any(|c| eval_condition(c, item)),
        Condition::Not(inner) => !eval_condition(inner, item),
    }
}

/// Whether a sort key value satisfies a (checked) sort condition.
pub fn sort_matches(condition: &SortCondition, value: &KeyValue) -> bool {
    let value = value.to_value();
    let ordered =
        |bound: &Value, op: CompareOp| compare(&value, bound).is_some_and(|o| op_holds(op, o));
    match condition {
        SortCondition::Eq(v) => ordered(v, CompareOp::Eq),
        SortCondition::Lt(v) => ordered(v, CompareOp::Lt),
        SortCondition::Le(v) => ordered(v, CompareOp::Le),
        SortCondition::Gt(v) => ordered(v, CompareOp::Gt),
        SortCondition::Ge(v) => ordered(v, CompareOp::Ge),
        SortCondition::Between(low, high) => between(&value, low, high),
        SortCondition::BeginsWith(prefix) => begins_with(&value, prefix),
    }
}

/// Checks every condition of a transaction against the items as they stand (`current(i)` is
/// the item action `i` targets, if it exists), as DynamoDB's `TransactWriteItems` does: when
/// any fails, the error is `PreconditionFailed`, not retryable, with one cancellation reason per
/// action (`ConditionalCheckFailed` or `None`), and nothing may be written.
pub fn check_transaction_conditions<'a>(
    actions: &[TransactAction],
    current: impl Fn(usize) -> Option<&'a Document>,
) -> crate::error::Result<()> {
    let reasons: Vec<CancellationReason> = actions
        .iter()
        .enumerate()
        .map(|(index, action)| {
            let condition = match action {
                TransactAction::Put { condition, .. }
                | TransactAction::Update { condition, .. }
                | TransactAction::Delete { condition, .. } => condition.as_ref(),
                TransactAction::ConditionCheck { condition, .. } => Some(condition),
            };
            let holds = condition.is_none_or(|c| eval_condition(c, current(index)));
            CancellationReason {
                index,
                code: if holds {
                    "None"
                } else {
                    "ConditionalCheckFailed"
                }
                .to_owned(),
                message: (!holds).then(|| "The conditional request failed".to_owned()),
            }
        })
        .collect();
    let failed = reasons.iter().filter(|r| !r.is_ok()).count();
    if failed == 0 {
        return Ok(());
    }
    Err(crate::error::StoreError::precondition_failed(format!(
        "the transaction was cancelled: {failed} of {} conditions did not hold; \
         nothing was written",
        actions.len()
    ))
    .with_retryable(false)
    .with_cancellation_reasons(reasons))
}

#[cfg(test)]
mod tests;
