//! Dynamic templates: the mapping a new field gets from the JSON type of its first value
//! (`dynamic_templates` entries with `match_mapping_type`, as OpenSearch applies them: the
//! first that matches wins). Templates matching by name or path are not supported.

use serde::{Deserialize, Serialize};

use super::LeafDef;
use super::raw::leaf_def;
use crate::error::{Result, StoreError};
use crate::search::engine::date::parse_date;
use crate::search::engine::fields::Scalar;

/// One dynamic template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Template {
    /// Its name in the mapping.
    name: String,
    /// The JSON type it matches: `long`, `double`, `string`, `boolean`, `date` or `*`.
    matches: String,
    /// The mapping a field it matches gets.
    def: LeafDef,
}

/// The keys of a template this engine reads; a template with any other (`match`,
/// `path_match`...) is refused rather than applied differently.
const KNOWN: [&str; 2] = ["match_mapping_type", "mapping"];

/// The JSON types `match_mapping_type` may name.
const TYPES: [&str; 6] = ["long", "double", "string", "boolean", "date", "*"];

/// Reads `dynamic_templates`: a list of one-entry objects `{name: {match_mapping_type,
/// mapping}}`.
pub(super) fn parse(raw: &serde_json::Value, backend: &str) -> Result<Vec<Template>> {
    let list = raw.as_array().ok_or_else(|| {
        StoreError::invalid_input("`dynamic_templates` must be a list of named templates")
    })?;
    let mut templates = Vec::with_capacity(list.len());
    for entry in list {
        let named = entry.as_object().filter(|o| o.len() == 1).ok_or_else(|| {
            StoreError::invalid_input(
                "each of `dynamic_templates` is an object with one named template",
            )
        })?;
        let (name, body) = named.iter().next().expect("one entry");
        if let Some(other) = body
            .as_object()
            .and_then(|b| b.keys().find(|k| !KNOWN.contains(&k.as_str())))
        {
            return Err(StoreError::unsupported(format!(
                "dynamic template `{name}` uses `{other}`; the {backend} backend matches \
                 templates by `match_mapping_type` only"
            )));
        }
        let matches = body
            .get("match_mapping_type")
            .and_then(|m| m.as_str())
            .unwrap_or("*");
        if !TYPES.contains(&matches) {
            return Err(StoreError::invalid_input(format!(
                "dynamic template `{name}` matches `{matches}`, not a JSON type ({})",
                TYPES.join(", ")
            )));
        }
        let mapping = body
            .get("mapping")
            .filter(|m| m.is_object())
            .ok_or_else(|| {
                StoreError::invalid_input(format!("dynamic template `{name}` has no `mapping`"))
            })?;
        let ty = mapping
            .get("type")
            .and_then(|t| t.as_str())
            .ok_or_else(|| {
                StoreError::unsupported(format!(
                    "dynamic template `{name}` maps no `type`; the {backend} backend needs one"
                ))
            })?;
        templates.push(Template {
            name: name.clone(),
            matches: matches.to_owned(),
            def: leaf_def(name, ty, mapping, backend)?,
        });
    }
    Ok(templates)
}

/// The mapping of the first template matching a new field whose first value is `first`.
pub(super) fn pick<'t>(templates: &'t [Template], first: &Scalar<'_>) -> Option<&'t LeafDef> {
    let json_type = json_type(first);
    templates
        .iter()
        .find(|t| t.matches == "*" || t.matches == json_type)
        .map(|t| &t.def)
}

/// The JSON type OpenSearch detects in a first value.
fn json_type(first: &Scalar<'_>) -> &'static str {
    match first {
        Scalar::Bool(_) => "boolean",
        Scalar::Num(n) if n.exponent() >= 0 && n.to_i64().is_some() => "long",
        Scalar::Num(_) => "double",
        Scalar::Str(s) if parse_date(s).is_some() => "date",
        Scalar::Str(_) | Scalar::Bytes(_) => "string",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::doc;
    use super::super::{Mapping, Resolved};
    use crate::ErrorKind;
    use crate::search::{FieldType, IndexSpec};
    use crate::value::{Document, Value};

    fn spec(templates: serde_json::Value) -> IndexSpec {
        IndexSpec {
            raw_mappings: Some(json!({ "dynamic": true, "dynamic_templates": templates })),
            ..IndexSpec::new()
        }
    }

    #[test]
    fn a_new_field_takes_the_first_template_matching_its_json_type() {
        let mut mapping = Mapping::from_spec(
            &spec(json!([
                {"whole": {"match_mapping_type": "long", "mapping": {"type": "double"}}},
                {"words": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}},
                {"rest": {"match_mapping_type": "*", "mapping": {"type": "keyword"}}},
                {"never": {"match_mapping_type": "long", "mapping": {"type": "long"}}}
            ])),
            "memory",
        )
        .unwrap();
        let first = doc(json!({"n": 1, "s": "Hello", "f": 1.5, "ok": true}));
        let indexed = mapping.index_document(&first).unwrap();
        mapping.apply(indexed.additions);
        for (field, ty) in [
            ("n", FieldType::Double),
            ("s", FieldType::Keyword),
            ("f", FieldType::Keyword),
            ("ok", FieldType::Keyword),
        ] {
            assert_eq!(mapping.resolve(field), Resolved::Leaf(ty), "{field}");
        }
        // Mapped as a double from its first whole value, the field takes any number after.
        let later = doc(json!({"n": 1e100}));
        mapping.index_document(&later).unwrap();
        let huge = Document::new().with(
            "n",
            Value::Number("12345678901234567890123456789012345678".parse().unwrap()),
        );
        mapping.index_document(&huge).unwrap();
    }

    #[test]
    fn templates_this_engine_cannot_apply_as_written_are_refused() {
        let by_name = spec(json!([{"ids": {"match": "*_id", "mapping": {"type": "keyword"}}}]));
        let err = Mapping::from_spec(&by_name, "memory").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        assert!(err.message().contains("`match`"), "{err}");
        for bad in [
            json!({"t": {"match_mapping_type": "long", "mapping": {"type": "double"}}}),
            json!([{"t": {"match_mapping_type": "integer", "mapping": {"type": "double"}}}]),
            json!([{"t": {"match_mapping_type": "long"}}]),
            json!([{"a": {"mapping": {"type": "long"}}, "b": {"mapping": {"type": "long"}}}]),
        ] {
            let err = Mapping::from_spec(&spec(bad.clone()), "memory").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}: {err}");
        }
    }

    #[test]
    fn a_mapping_without_templates_serializes_as_before_and_one_with_them_round_trips() {
        let plain = serde_json::to_value(Mapping::dynamic()).unwrap();
        assert_eq!(plain, json!({"paths": {}, "dynamic": "on"}));
        let templated = Mapping::from_spec(
            &spec(json!([{"w": {"match_mapping_type": "long", "mapping": {"type": "double"}}}])),
            "memory",
        )
        .unwrap();
        let text = serde_json::to_string(&templated).unwrap();
        let mut back: Mapping = serde_json::from_str(&text).unwrap();
        let indexed = back.index_document(&doc(json!({"n": 1}))).unwrap();
        back.apply(indexed.additions);
        assert_eq!(back.resolve("n"), Resolved::Leaf(FieldType::Double));
    }
}
