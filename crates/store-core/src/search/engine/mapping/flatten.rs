//! Flattening a document into dotted paths of objects and scalar values.

use std::collections::{BTreeMap, BTreeSet};

use super::{join, validate_path};
use crate::error::{Result, StoreError};
use crate::search::engine::fields::Scalar;
use crate::value::{Document, Value};

/// Names OpenSearch reserves for metadata; a document may not hold them.
const METADATA_FIELDS: &[&str] = &[
    "_id",
    "_index",
    "_source",
    "_routing",
    "_seq_no",
    "_primary_term",
    "_version",
    "_field_names",
    "_ignored",
];

/// The objects and the scalar values of a document, by dotted path.
#[derive(Default)]
pub(super) struct Flat<'a> {
    pub(super) objects: BTreeSet<String>,
    pub(super) leaves: BTreeMap<String, Vec<Scalar<'a>>>,
}

/// Collects every object path and scalar of `doc` under `prefix`.
pub(super) fn flatten<'a>(prefix: &str, doc: &'a Document, flat: &mut Flat<'a>) -> Result<()> {
    for (key, value) in doc.iter() {
        let path = join(prefix, key);
        validate_path(&path)?;
        if METADATA_FIELDS.contains(&path.as_str()) {
            return Err(StoreError::invalid_input(format!(
                "field `{path}` is a metadata field and cannot be added inside a document"
            )));
        }
        walk(path, value, flat)?;
    }
    Ok(())
}

/// Adds the scalars of `value` (a list's items in order) to the leaf or object at `path`.
fn walk<'a>(path: String, value: &'a Value, flat: &mut Flat<'a>) -> Result<()> {
    match value {
        Value::Null => {}
        Value::Bool(b) => leaves(flat, path, std::iter::once(Scalar::Bool(*b))),
        Value::Number(n) => leaves(flat, path, std::iter::once(Scalar::Num(n))),
        Value::String(s) => leaves(flat, path, std::iter::once(Scalar::Str(s))),
        Value::Bytes(b) => leaves(flat, path, std::iter::once(Scalar::Bytes(b))),
        Value::StringSet(set) => leaves(flat, path, set.iter().map(|s| Scalar::Str(s))),
        Value::NumberSet(set) => leaves(flat, path, set.iter().map(Scalar::Num)),
        Value::BytesSet(set) => leaves(flat, path, set.iter().map(Scalar::Bytes)),
        Value::List(items) => {
            for item in items {
                walk(path.clone(), item, flat)?;
            }
        }
        Value::Map(inner) => {
            flatten(&path, inner, flat)?;
            flat.objects.insert(path);
        }
    }
    Ok(())
}

/// Appends `scalars` to the leaf at `path`, taking `path` as its key if it is new.
fn leaves<'a>(flat: &mut Flat<'a>, path: String, scalars: impl Iterator<Item = Scalar<'a>>) {
    match flat.leaves.get_mut(&path) {
        Some(existing) => existing.extend(scalars),
        None => {
            flat.leaves.insert(path, scalars.collect());
        }
    }
}
