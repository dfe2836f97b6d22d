//! Application of [`Update`]s to documents with DynamoDB's semantics.
//!
//! - `set` replaces the value at a path (a list index past the end appends); the path's parent
//!   must exist; `set_if_not_exists` keeps a value that is already there;
//! - `remove` drops the value at a path (nothing happens when it is missing); list indexes refer
//!   to the list as it was before the update;
//! - `add` sums numbers exactly (a missing number counts as 0) or unites sets (creating them);
//! - `delete_from_set` removes elements; a set left empty is removed;
//! - `append` extends a list, creating it when missing.
//!
//! An update may not touch a key attribute nor name overlapping paths (`a` and `a.b`, or `a`
//! twice), as DynamoDB refuses both: [`check_update`](crate::document::validate::check_update)
//! says so before anything is applied.

use std::cmp::Ordering;

use super::resolve;
use crate::document::{Path, PathSegment, SetValue, Update, UpdateAction};
use crate::error::{Result, StoreError};
use crate::value::{Document, Value};

/// Applies a (checked) update to `doc`. On error `doc` may be half-updated: apply to a copy.
pub fn apply_update(doc: &mut Document, update: &Update) -> Result<()> {
    let mut removals = Vec::new();
    for action in update.actions() {
        match action {
            UpdateAction::Set(path, SetValue::Value(v)) => set_at(doc, path, v.clone())?,
            UpdateAction::Set(path, SetValue::IfNotExists(v)) => {
                if resolve(doc, path).is_none() {
                    set_at(doc, path, v.clone())?;
                }
            }
            UpdateAction::Remove(path) => removals.push(path),
            UpdateAction::Add(path, v) => {
                let sum = add(resolve(doc, path), v, path)?;
                set_at(doc, path, sum)?;
            }
            UpdateAction::DeleteFromSet(path, v) => match delete(resolve(doc, path), v, path)? {
                Leftover::Missing => {}
                Leftover::Empty => removals.push(path),
                Leftover::Set(rest) => set_at(doc, path, rest)?,
            },
            UpdateAction::Append(path, values) => {
                let list = match resolve(doc, path) {
                    None => values.clone(),
                    Some(Value::List(items)) => items.iter().chain(values).cloned().collect(),
                    Some(other) => {
                        return Err(StoreError::invalid_input(format!(
                            "cannot append to `{path}`: it is a {}, not a list",
                            other.type_name()
                        )));
                    }
                };
                set_at(doc, path, Value::List(list))?;
            }
        }
    }
    // Later list positions first, so every index means what it meant before the update.
    removals.sort_by(|a, b| compare_paths(b, a));
    for path in removals {
        remove_at(doc, path);
    }
    Ok(())
}

fn add(current: Option<&Value>, addend: &Value, path: &Path) -> Result<Value> {
    Ok(match (current, addend) {
        (None, v) => v.clone(),
        (Some(Value::Number(a)), Value::Number(b)) => Value::Number(a.checked_add(b)?),
        (Some(Value::StringSet(a)), Value::StringSet(b)) => Value::StringSet(a | b),
        (Some(Value::NumberSet(a)), Value::NumberSet(b)) => Value::NumberSet(a | b),
        (Some(Value::BytesSet(a)), Value::BytesSet(b)) => Value::BytesSet(a | b),
        (Some(old), v) => {
            return Err(StoreError::invalid_input(format!(
                "cannot add a {} to `{path}`, which holds a {}",
                v.type_name(),
                old.type_name()
            )));
        }
    })
}

enum Leftover {
    Missing,
    Empty,
    Set(Value),
}

fn delete(current: Option<&Value>, elements: &Value, path: &Path) -> Result<Leftover> {
    let rest = match (current, elements) {
        (None, _) => return Ok(Leftover::Missing),
        (Some(Value::StringSet(a)), Value::StringSet(b)) => Value::StringSet(a - b),
        (Some(Value::NumberSet(a)), Value::NumberSet(b)) => Value::NumberSet(a - b),
        (Some(Value::BytesSet(a)), Value::BytesSet(b)) => Value::BytesSet(a - b),
        (Some(old), v) => {
            return Err(StoreError::invalid_input(format!(
                "cannot delete {} elements from `{path}`, which holds a {}",
                v.type_name(),
                old.type_name()
            )));
        }
    };
    let empty = match &rest {
        Value::StringSet(s) => s.is_empty(),
        Value::NumberSet(s) => s.is_empty(),
        Value::BytesSet(s) => s.is_empty(),
        _ => false,
    };
    Ok(if empty {
        Leftover::Empty
    } else {
        Leftover::Set(rest)
    })
}

fn invalid_path(path: &Path) -> StoreError {
    StoreError::invalid_input(format!(
        "the document path `{path}` is invalid for update: its parent is missing or is not a \
         map or list"
    ))
}

/// Sets the value at `path`; the parent must exist. A list index past the end appends.
fn set_at(doc: &mut Document, path: &Path, value: Value) -> Result<()> {
    let Some((PathSegment::Field(top), rest)) = path.segments().split_first() else {
        return Err(invalid_path(path));
    };
    let Some((last, middle)) = rest.split_last() else {
        doc.insert(top.clone(), value);
        return Ok(());
    };
    let mut current = doc.get_mut(top).ok_or_else(|| invalid_path(path))?;
    for segment in middle {
        current = step_mut(current, segment).ok_or_else(|| invalid_path(path))?;
    }
    match (last, current) {
        (PathSegment::Field(name), Value::Map(map)) => {
            map.insert(name.clone(), value);
        }
        (PathSegment::Index(i), Value::List(items)) => match items.get_mut(*i) {
            Some(slot) => *slot = value,
            None => items.push(value),
        },
        _ => return Err(invalid_path(path)),
    }
    Ok(())
}

/// Removes the value at `path`, if there is one.
fn remove_at(doc: &mut Document, path: &Path) {
    let Some((PathSegment::Field(top), rest)) = path.segments().split_first() else {
        return;
    };
    let Some((last, middle)) = rest.split_last() else {
        doc.remove(top);
        return;
    };
    let Some(mut current) = doc.get_mut(top) else {
        return;
    };
    for segment in middle {
        match step_mut(current, segment) {
            Some(next) => current = next,
            None => return,
        }
    }
    match (last, current) {
        (PathSegment::Field(name), Value::Map(map)) => {
            map.remove(name);
        }
        (PathSegment::Index(i), Value::List(items)) if *i < items.len() => {
            items.remove(*i);
        }
        _ => {}
    }
}

fn step_mut<'a>(value: &'a mut Value, segment: &PathSegment) -> Option<&'a mut Value> {
    match (segment, value) {
        (PathSegment::Field(name), Value::Map(map)) => map.get_mut(name),
        (PathSegment::Index(i), Value::List(items)) => items.get_mut(*i),
        _ => None,
    }
}

fn compare_paths(a: &Path, b: &Path) -> Ordering {
    for (x, y) in a.segments().iter().zip(b.segments()) {
        let ordering = match (x, y) {
            (PathSegment::Field(x), PathSegment::Field(y)) => x.cmp(y),
            (PathSegment::Index(x), PathSegment::Index(y)) => x.cmp(y),
            (PathSegment::Field(_), PathSegment::Index(_)) => Ordering::Less,
            (PathSegment::Index(_), PathSegment::Field(_)) => Ordering::Greater,
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    a.segments().len().cmp(&b.segments().len())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::ErrorKind;
    use crate::document::validate::check_update;
    use crate::keys::KeySchema;
    use crate::keys::KeyType;
    use crate::value::Number;

    fn schema() -> KeySchema {
        KeySchema::partition("pk", KeyType::String)
    }

    fn applied(doc: &Document, update: Update) -> Result<Document> {
        check_update(&update, &schema())?;
        let mut out = doc.clone();
        apply_update(&mut out, &update)?;
        Ok(out)
    }

    fn tags(items: &[&str]) -> Value {
        Value::StringSet(items.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn add_to_a_missing_number_starts_at_zero_and_is_exact() {
        let doc = Document::new().with("pk", "a");
        let out = applied(
            &doc,
            Update::new().add("n", "0.1".parse::<Number>().unwrap()),
        )
        .unwrap();
        let out = applied(
            &out,
            Update::new().add("n", "0.2".parse::<Number>().unwrap()),
        )
        .unwrap();
        assert_eq!(
            out.get("n").unwrap().as_number().unwrap().to_string(),
            "0.3"
        );
        let out = applied(&out, Update::new().add("n", -1)).unwrap();
        assert_eq!(out.get("n"), Some(&Value::Number("-0.7".parse().unwrap())));
    }

    #[test]
    fn add_to_the_wrong_type_is_invalid_input() {
        let doc = Document::new()
            .with("pk", "a")
            .with("s", "text")
            .with("t", tags(&["x"]));
        for update in [
            Update::new().add("s", 1),
            Update::new().add("t", Value::NumberSet(BTreeSet::from([Number::from(1)]))),
            Update::new().add("x", "string"),
            Update::new().append("s", ["y"]),
            Update::new().delete_from_set("s", tags(&["x"])),
        ] {
            let err = applied(&doc, update.clone()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{update:?}");
        }
    }

    #[test]
    fn deleting_the_last_element_removes_the_set() {
        let doc = Document::new().with("pk", "a").with("t", tags(&["x", "y"]));
        let out = applied(&doc, Update::new().delete_from_set("t", tags(&["x"]))).unwrap();
        assert_eq!(out.get("t"), Some(&tags(&["y"])));
        let out = applied(&out, Update::new().delete_from_set("t", tags(&["y", "z"]))).unwrap();
        assert!(
            !out.contains("t"),
            "an emptied set must be removed: {out:?}"
        );
        let out = applied(&out, Update::new().delete_from_set("t", tags(&["y"]))).unwrap();
        assert!(!out.contains("t"));
    }

    #[test]
    fn add_unites_sets_and_append_extends_lists() {
        let doc = Document::new().with("pk", "a");
        let out = applied(&doc, Update::new().add("t", tags(&["x"])).append("l", [1])).unwrap();
        let out = applied(
            &out,
            Update::new().add("t", tags(&["y"])).append("l", [2, 3]),
        )
        .unwrap();
        assert_eq!(out.get("t"), Some(&tags(&["x", "y"])));
        assert_eq!(out.get("l"), Some(&Value::from(vec![1, 2, 3])));
    }

    #[test]
    fn nested_paths_set_and_remove() {
        let doc = Document::new()
            .with("pk", "a")
            .with("m", Document::new().with("x", 1))
            .with("l", vec![10, 20, 30]);
        let out = applied(
            &doc,
            Update::new()
                .set(Path::attr("m").field("y"), 2)
                .set(Path::attr("l").index(9), 40)
                .remove(Path::attr("l").index(0))
                .remove(Path::attr("l").index(1)),
        )
        .unwrap();
        assert_eq!(
            out.get("m"),
            Some(&Value::Map(Document::new().with("x", 1).with("y", 2)))
        );
        assert_eq!(out.get("l"), Some(&Value::from(vec![30, 40])));
        let err = applied(&doc, Update::new().set(Path::attr("nope").field("y"), 1)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn set_if_not_exists_keeps_what_is_there() {
        let doc = Document::new().with("pk", "a").with("x", 1);
        let out = applied(
            &doc,
            Update::new()
                .set_if_not_exists("x", 2)
                .set_if_not_exists("y", 3),
        )
        .unwrap();
        assert_eq!(out.get("x"), Some(&Value::from(1)));
        assert_eq!(out.get("y"), Some(&Value::from(3)));
    }

    #[test]
    fn keys_and_overlapping_paths_are_rejected() {
        let doc = Document::new().with("pk", "a");
        for update in [
            Update::new().set("pk", "b"),
            Update::new().remove("pk"),
            Update::new().set("x", 1).remove("x"),
            Update::new().set("m", 1).set(Path::attr("m").field("a"), 1),
            Update::new().add("n", Value::Null),
            Update::new().set("e", Value::StringSet(BTreeSet::new())),
        ] {
            let err = applied(&doc, update.clone()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{update:?}");
        }
        assert!(
            applied(
                &doc,
                Update::new()
                    .set(Path::attr("m").index(0), 1)
                    .set(Path::attr("m").index(1), 1)
            )
            .is_err(),
            "the parent `m` is missing, so the update fails at apply time"
        );
    }
}
