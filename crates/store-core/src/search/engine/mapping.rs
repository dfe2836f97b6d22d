//! Mappings: explicit and dynamic field types, and the indexing of one document against them.
//!
//! A mapping serializes (store-tantivy saves it with every commit): its serialized form is part
//! of that crate's on-disk format, so change it only with that format's version (or, as the
//! dynamic templates were added, as a field absent when empty, which older files lack).

mod flatten;
mod raw;
mod templates;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use self::flatten::{Flat, flatten};
use super::analyzer::{POSITION_GAP, analyze};
use super::date::parse_date;
use super::fields::{Exact, FieldData, Scalar, TextForm, coerce_for_index};
use crate::error::{Result, StoreError};
use crate::search::{FieldType, IndexSpec};
use crate::value::Document;

/// Most fields (objects, fields and sub-fields) an index may map, as OpenSearch's
/// `index.mapping.total_fields.limit`.
pub(super) const TOTAL_FIELDS_LIMIT: usize = 1000;

/// Longest string the dynamic `<field>.keyword` sub-field indexes (`ignore_above: 256`).
const DYNAMIC_KEYWORD_IGNORE_ABOVE: usize = 256;

/// A field with a value type, and its sub-fields (multi-fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct LeafDef {
    #[serde(with = "field_type")]
    pub(super) ty: FieldType,
    pub(super) ignore_above: Option<usize>,
    pub(super) subs: Vec<SubDef>,
}

/// A sub-field: the same values indexed again under `<field>.<name>` with another type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct SubDef {
    pub(super) name: String,
    #[serde(with = "field_type")]
    pub(super) ty: FieldType,
    pub(super) ignore_above: Option<usize>,
}

/// What a path is mapped to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Mapped {
    Object,
    Leaf(LeafDef),
}

/// What happens to a field that has no mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Dynamic {
    /// Mapped from its first value (the default).
    On,
    /// Kept in the source but not indexed (`"dynamic": false`).
    Off,
    /// Rejected (`"dynamic": "strict"`).
    Strict,
}

/// How a query or sort field resolves against a [`Mapping`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// A field or sub-field (`title.keyword`) of this type.
    Leaf(FieldType),
    /// An object (a map of fields).
    Object,
    /// Nothing is mapped at this path.
    Unmapped,
}

/// The mapping of one index: dotted paths to objects and typed fields, and what happens to
/// fields it does not map (dynamic mapping).
///
/// It serializes, so a backend can save it with its data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mapping {
    paths: BTreeMap<String, Mapped>,
    dynamic: Dynamic,
    /// Dynamic templates, first match wins (absent from the serialized form when there are
    /// none, so a mapping without any serializes as before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    templates: Vec<templates::Template>,
}

/// The mappings indexing a document adds to its index's [`Mapping`] (fields it maps
/// dynamically), to [`apply`](Mapping::apply) when the document is written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Additions(Vec<(String, Mapped)>);

impl Additions {
    /// Whether the document added no mapping.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What indexing one document produced: its field data and the mappings it adds.
#[derive(Debug)]
pub struct Indexed {
    /// What each indexed field (and sub-field), by dotted path, holds; a field that indexed
    /// nothing has no entry.
    pub fields: BTreeMap<String, FieldData>,
    /// The mappings the document adds.
    pub additions: Additions,
}

impl Mapping {
    /// No field mapped, every field mapped from its first value: the mapping of an index a
    /// write creates.
    pub fn dynamic() -> Self {
        Mapping {
            paths: BTreeMap::new(),
            dynamic: Dynamic::On,
            templates: Vec::new(),
        }
    }

    /// The mapping an index created with `spec` starts with: `InvalidInput` for a bad spec,
    /// `Unsupported` for a raw mapping with a type or analyzer the `backend` (named in the
    /// message) lacks.
    pub fn from_spec(spec: &IndexSpec, backend: &str) -> Result<Self> {
        if spec.shards == Some(0) {
            return Err(StoreError::invalid_input(
                "an index needs at least one shard",
            ));
        }
        if let Some(settings) = &spec.raw_settings
            && !settings.is_object()
        {
            return Err(StoreError::invalid_input(
                "raw settings must be a JSON object",
            ));
        }
        let mut mapping = Mapping::dynamic();
        if let Some(raw) = &spec.raw_mappings {
            mapping.add_raw(raw, backend)?;
        } else {
            for (name, ty) in &spec.fields {
                let def = LeafDef {
                    ty: *ty,
                    ignore_above: None,
                    subs: Vec::new(),
                };
                mapping.add_explicit(name, Mapped::Leaf(def))?;
            }
        }
        Ok(mapping)
    }

    /// Adds an explicit mapping, with its parents as objects.
    fn add_explicit(&mut self, path: &str, mapped: Mapped) -> Result<()> {
        validate_path(path)?;
        for parent in parents(path) {
            match self.paths.get(parent) {
                Some(Mapped::Leaf(_)) => {
                    return Err(StoreError::invalid_input(format!(
                        "field `{parent}` is mapped as a value, so `{path}` cannot be mapped under it"
                    )));
                }
                Some(Mapped::Object) => {}
                None => {
                    self.paths.insert(parent.to_owned(), Mapped::Object);
                }
            }
        }
        match self.paths.get(path) {
            Some(existing) if *existing == mapped => Ok(()),
            Some(_) => Err(StoreError::invalid_input(format!(
                "field `{path}` is mapped twice with different types"
            ))),
            None => {
                self.paths.insert(path.to_owned(), mapped);
                self.check_limit(0)
            }
        }
    }

    /// How a query field resolves: a field, a sub-field (`title.keyword`), an object or nothing.
    pub fn resolve(&self, path: &str) -> Resolved {
        match self.paths.get(path) {
            Some(Mapped::Leaf(def)) => return Resolved::Leaf(def.ty),
            Some(Mapped::Object) => return Resolved::Object,
            None => {}
        }
        if let Some((parent, sub)) = path.rsplit_once('.')
            && let Some(Mapped::Leaf(def)) = self.paths.get(parent)
            && let Some(sub) = def.subs.iter().find(|s| s.name == sub)
        {
            return Resolved::Leaf(sub.ty);
        }
        Resolved::Unmapped
    }

    /// Adds the mappings found while indexing a document.
    pub fn apply(&mut self, additions: Additions) {
        self.paths.extend(additions.0);
    }

    fn field_count(&self) -> usize {
        self.paths
            .values()
            .map(|m| match m {
                Mapped::Object => 1,
                Mapped::Leaf(def) => 1 + def.subs.len(),
            })
            .sum()
    }

    fn check_limit(&self, extra: usize) -> Result<()> {
        let total = self.field_count() + extra;
        if total > TOTAL_FIELDS_LIMIT {
            return Err(StoreError::invalid_input(format!(
                "limit of total fields [{TOTAL_FIELDS_LIMIT}] has been exceeded ({total} fields)"
            )));
        }
        Ok(())
    }

    /// Indexes a document: checks every value against the mapping, maps new fields dynamically
    /// and returns the field data, or `InvalidInput` when a value does not fit its field.
    pub fn index_document(&self, doc: &Document) -> Result<Indexed> {
        self.index_document_as(doc, TextForm::Tokens)
    }

    /// [`Self::index_document`], with text fields in the form `text` says.
    pub fn index_document_as(&self, doc: &Document, text: TextForm) -> Result<Indexed> {
        let mut flat = Flat::default();
        flatten("", doc, &mut flat)?;
        // A name holding dots (`{"a.b": 1}`) has parents flattening did not see as objects.
        let dotted: BTreeSet<String> = flat
            .leaves
            .keys()
            .chain(&flat.objects)
            .flat_map(|path| parents(path))
            .filter(|parent| !flat.objects.contains(*parent))
            .map(str::to_owned)
            .collect();
        flat.objects.extend(dotted);
        if let Some(both) = flat.objects.iter().find(|p| flat.leaves.contains_key(*p)) {
            return Err(StoreError::invalid_input(format!(
                "field `{both}` holds both an object and a value"
            )));
        }
        let mut added: BTreeMap<String, Mapped> = BTreeMap::new();
        for path in &flat.objects {
            match self.paths.get(path.as_str()).or_else(|| added.get(path)) {
                Some(Mapped::Object) => {}
                Some(Mapped::Leaf(def)) => {
                    return Err(StoreError::invalid_input(format!(
                        "field `{path}` is mapped as {} and cannot hold an object",
                        def.ty.as_str()
                    )));
                }
                None => match self.dynamic {
                    Dynamic::On => {
                        added.insert(path.clone(), Mapped::Object);
                    }
                    Dynamic::Off => {}
                    Dynamic::Strict => return Err(strict(path)),
                },
            }
        }
        let mut fields = BTreeMap::new();
        for (path, scalars) in flat.leaves {
            let def = match self.paths.get(&path).or_else(|| added.get(&path)) {
                Some(Mapped::Leaf(def)) => def.clone(),
                Some(Mapped::Object) => {
                    return Err(StoreError::invalid_input(format!(
                        "field `{path}` is an object and cannot hold the value {}",
                        scalars[0].to_text().chars().take(64).collect::<String>()
                    )));
                }
                None => match self.dynamic {
                    Dynamic::Off => continue,
                    Dynamic::Strict => return Err(strict(&path)),
                    Dynamic::On => {
                        let def = templates::pick(&self.templates, &scalars[0])
                            .cloned()
                            .unwrap_or_else(|| dynamic_def(scalars[0]));
                        added.insert(path.clone(), Mapped::Leaf(def.clone()));
                        def
                    }
                },
            };
            let data = field_data(def.ty, def.ignore_above, &scalars, &path, text)?;
            for sub in &def.subs {
                let sub_path = join(&path, &sub.name);
                if let Some(data) = field_data(sub.ty, sub.ignore_above, &scalars, &sub_path, text)?
                {
                    fields.insert(sub_path, data);
                }
            }
            if let Some(data) = data {
                fields.insert(path, data);
            }
        }
        let extra: usize = added
            .values()
            .map(|m| match m {
                Mapped::Object => 1,
                Mapped::Leaf(def) => 1 + def.subs.len(),
            })
            .sum();
        self.check_limit(extra)?;
        Ok(Indexed {
            fields,
            additions: Additions(added.into_iter().collect()),
        })
    }
}

fn strict(path: &str) -> StoreError {
    StoreError::invalid_input(format!(
        "the mapping is strict: the new field `{path}` is not allowed"
    ))
}

/// The mapping OpenSearch gives a new field from its first value.
fn dynamic_def(first: Scalar<'_>) -> LeafDef {
    let leaf = |ty| LeafDef {
        ty,
        ignore_above: None,
        subs: Vec::new(),
    };
    match first {
        Scalar::Bool(_) => leaf(FieldType::Boolean),
        Scalar::Num(n) if n.exponent() >= 0 && n.to_i64().is_some() => leaf(FieldType::Long),
        Scalar::Num(_) => leaf(FieldType::Double),
        Scalar::Str(s) if parse_date(s).is_some() => leaf(FieldType::Date),
        Scalar::Str(_) | Scalar::Bytes(_) => LeafDef {
            ty: FieldType::Text,
            ignore_above: None,
            subs: vec![SubDef {
                name: "keyword".to_owned(),
                ty: FieldType::Keyword,
                ignore_above: Some(DYNAMIC_KEYWORD_IGNORE_ABOVE),
            }],
        },
    }
}

/// Indexes the values of one field; `None` when nothing is indexed (so the field does not exist).
fn field_data(
    ty: FieldType,
    ignore_above: Option<usize>,
    scalars: &[Scalar<'_>],
    path: &str,
    text: TextForm,
) -> Result<Option<FieldData>> {
    if ty == FieldType::Text && text == TextForm::Whole {
        let values = scalars.iter().map(|s| Exact::Str(s.to_text())).collect();
        return Ok(Some(FieldData {
            ty,
            values,
            positions: None,
        }));
    }
    if ty == FieldType::Text {
        let mut values = Vec::new();
        let mut positions = Vec::new();
        let mut next = 0u32;
        for (i, scalar) in scalars.iter().enumerate() {
            if i > 0 {
                next += POSITION_GAP;
            }
            for token in analyze(&scalar.to_text()) {
                values.push(Exact::Str(token));
                positions.push(next);
                next += 1;
            }
        }
        return Ok(Some(FieldData {
            ty,
            values,
            positions: Some(positions),
        }));
    }
    let mut values = Vec::with_capacity(scalars.len());
    for scalar in scalars {
        let exact = coerce_for_index(ty, *scalar, path)?;
        if let (Some(limit), Exact::Str(s)) = (ignore_above, &exact)
            && s.chars().count() > limit
        {
            continue;
        }
        values.push(exact);
    }
    Ok((!values.is_empty()).then_some(FieldData {
        ty,
        values,
        positions: None,
    }))
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The proper dotted prefixes of a path: `a.b.c` gives `a` and `a.b`.
pub fn parents(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('.').map(move |(i, _)| &path[..i])
}

fn validate_path(path: &str) -> Result<()> {
    if path.is_empty() || path.trim().is_empty() {
        return Err(StoreError::invalid_input(
            "field names must not be empty or blank",
        ));
    }
    if path.split('.').any(str::is_empty) {
        return Err(StoreError::invalid_input(format!(
            "field name `{path}` has an empty part between dots"
        )));
    }
    Ok(())
}

/// [`FieldType`] in a saved mapping: its OpenSearch name.
mod field_type {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::search::FieldType;

    pub(super) fn serialize<S: Serializer>(ty: &FieldType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(ty.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<FieldType, D::Error> {
        let name = String::deserialize(d)?;
        super::raw::type_named(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown field type `{name}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::value::Value;

    /// The document a JSON object is (also for the templates' tests).
    pub(super) fn doc(json: serde_json::Value) -> Document {
        match crate::from_json(json).unwrap() {
            Value::Map(d) => d,
            _ => unreachable!(),
        }
    }

    #[test]
    fn dynamic_mapping_types_fields_from_their_first_value() {
        let mapping = Mapping::from_spec(&IndexSpec::new(), "memory").unwrap();
        let indexed = mapping
            .index_document(&doc(serde_json::json!({
                "title": "Hello World", "n": 3, "x": 1.5, "ok": true,
                "when": "2024-01-02", "address": {"city": "Paris"}, "a.b": 1
            })))
            .unwrap();
        let mut m = mapping.clone();
        m.apply(indexed.additions);
        assert_eq!(m.resolve("title"), Resolved::Leaf(FieldType::Text));
        assert_eq!(
            m.resolve("title.keyword"),
            Resolved::Leaf(FieldType::Keyword)
        );
        assert_eq!(m.resolve("n"), Resolved::Leaf(FieldType::Long));
        assert_eq!(m.resolve("x"), Resolved::Leaf(FieldType::Double));
        assert_eq!(m.resolve("ok"), Resolved::Leaf(FieldType::Boolean));
        assert_eq!(m.resolve("when"), Resolved::Leaf(FieldType::Date));
        assert_eq!(m.resolve("address"), Resolved::Object);
        assert_eq!(m.resolve("address.city"), Resolved::Leaf(FieldType::Text));
        assert_eq!(m.resolve("a"), Resolved::Object);
        assert_eq!(m.resolve("a.b"), Resolved::Leaf(FieldType::Long));
        assert_eq!(m.resolve("missing"), Resolved::Unmapped);
        let title = &indexed.fields["title"];
        assert_eq!(
            title.values,
            [Exact::Str("hello".into()), Exact::Str("world".into())]
        );
        assert_eq!(
            indexed.fields["title.keyword"].values,
            [Exact::Str("Hello World".into())]
        );
    }

    #[test]
    fn values_that_do_not_fit_are_invalid_input() {
        let spec = IndexSpec::new().field("n", FieldType::Long);
        let mapping = Mapping::from_spec(&spec, "memory").unwrap();
        for bad in [
            serde_json::json!({"n": "abc"}),
            serde_json::json!({"n": {"inner": 1}}),
            serde_json::json!({"_id": "x"}),
            serde_json::json!({"": 1}),
            serde_json::json!({"a..b": 1}),
            serde_json::json!({"a": 1, "a.b": 2}),
        ] {
            let err = mapping.index_document(&doc(bad.clone())).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}: {err}");
        }
    }

    #[test]
    fn a_mapping_serializes_in_its_saved_form() {
        let spec = IndexSpec::new().field("n", FieldType::Long);
        let mut mapping = Mapping::from_spec(&spec, "memory").unwrap();
        let indexed = mapping
            .index_document(&doc(serde_json::json!({"title": "Hi"})))
            .unwrap();
        mapping.apply(indexed.additions);
        let saved = serde_json::to_value(&mapping).unwrap();
        assert_eq!(
            saved,
            serde_json::json!({
                "paths": {
                    "n": {"leaf": {"ty": "long", "ignore_above": null, "subs": []}},
                    "title": {"leaf": {"ty": "text", "ignore_above": null, "subs": [
                        {"name": "keyword", "ty": "keyword", "ignore_above": 256}
                    ]}}
                },
                "dynamic": "on"
            })
        );
        let back: Mapping = serde_json::from_value(saved).unwrap();
        assert_eq!(back.paths, mapping.paths);
        assert_eq!(back.dynamic, mapping.dynamic);
    }

    #[test]
    fn total_fields_limit_is_enforced() {
        let mapping = Mapping::from_spec(&IndexSpec::new(), "memory").unwrap();
        let mut big = Document::new();
        for i in 0..=TOTAL_FIELDS_LIMIT {
            big.insert(format!("f{i}"), i as i64);
        }
        let err = mapping.index_document(&big).unwrap_err();
        assert!(err.message().contains("limit of total fields"), "{err}");
    }
}
