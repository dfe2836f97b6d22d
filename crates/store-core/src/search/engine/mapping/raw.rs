//! Raw OpenSearch mappings: `dynamic`, `properties`, `type`, `fields`, `ignore_above` and
//! `dynamic_templates` (see [`templates`](super::templates)).

use super::{Dynamic, LeafDef, Mapped, Mapping, SubDef, join};
use crate::error::{Result, StoreError};
use crate::search::FieldType;

impl Mapping {
    /// Reads raw OpenSearch mappings into this mapping.
    pub(super) fn add_raw(&mut self, raw: &serde_json::Value, backend: &str) -> Result<()> {
        let obj = raw
            .as_object()
            .ok_or_else(|| StoreError::invalid_input("raw mappings must be a JSON object"))?;
        if let Some(dynamic) = obj.get("dynamic") {
            self.dynamic = match dynamic {
                serde_json::Value::Bool(true) => Dynamic::On,
                serde_json::Value::Bool(false) => Dynamic::Off,
                serde_json::Value::String(s) if s == "true" => Dynamic::On,
                serde_json::Value::String(s) if s == "false" => Dynamic::Off,
                serde_json::Value::String(s) if s == "strict" => Dynamic::Strict,
                other => {
                    return Err(StoreError::invalid_input(format!(
                        "mapping `dynamic` must be true, false or \"strict\", not {other}"
                    )));
                }
            };
        }
        if let Some(props) = obj.get("properties") {
            self.add_raw_properties("", props, backend)?;
        }
        if let Some(templates) = obj.get("dynamic_templates") {
            self.templates = super::templates::parse(templates, backend)?;
        }
        Ok(())
    }

    fn add_raw_properties(
        &mut self,
        prefix: &str,
        props: &serde_json::Value,
        backend: &str,
    ) -> Result<()> {
        let props = props.as_object().ok_or_else(|| {
            StoreError::invalid_input(format!("`properties` of `{prefix}` must be a JSON object"))
        })?;
        for (name, prop) in props {
            let path = join(prefix, name);
            let ty = prop.get("type").and_then(|t| t.as_str());
            if ty.is_none() || ty == Some("object") {
                self.add_explicit(&path, Mapped::Object)?;
                if let Some(inner) = prop.get("properties") {
                    self.add_raw_properties(&path, inner, backend)?;
                }
                continue;
            }
            let def = leaf_def(&path, ty.unwrap_or_default(), prop, backend)?;
            self.add_explicit(&path, Mapped::Leaf(def))?;
        }
        Ok(())
    }
}

/// The field `path` of type `ty` as its raw mapping `prop` describes it: its sub-fields
/// (`fields`) and `ignore_above`.
pub(super) fn leaf_def(
    path: &str,
    ty: &str,
    prop: &serde_json::Value,
    backend: &str,
) -> Result<LeafDef> {
    let ty = raw_type(path, ty, backend)?;
    check_analyzers(path, prop, backend)?;
    let mut subs = Vec::new();
    if let Some(fields) = prop.get("fields").and_then(|f| f.as_object()) {
        for (sub_name, sub) in fields {
            let sub_path = join(path, sub_name);
            let sub_ty = sub.get("type").and_then(|t| t.as_str()).unwrap_or("object");
            check_analyzers(&sub_path, sub, backend)?;
            subs.push(SubDef {
                name: sub_name.clone(),
                ty: raw_type(&sub_path, sub_ty, backend)?,
                ignore_above: ignore_above(sub),
            });
        }
    }
    Ok(LeafDef {
        ty,
        ignore_above: ignore_above(prop),
        subs,
    })
}

/// The field type of an OpenSearch type name (`integer` is a `long`...), if it is one.
pub(super) fn type_named(ty: &str) -> Option<FieldType> {
    Some(match ty {
        "text" => FieldType::Text,
        "keyword" => FieldType::Keyword,
        "long" | "integer" | "short" | "byte" | "unsigned_long" => FieldType::Long,
        "double" | "float" | "half_float" | "scaled_float" => FieldType::Double,
        "boolean" => FieldType::Boolean,
        "date" => FieldType::Date,
        _ => return None,
    })
}

fn raw_type(path: &str, ty: &str, backend: &str) -> Result<FieldType> {
    type_named(ty).ok_or_else(|| {
        StoreError::unsupported(format!(
            "field `{path}` has type `{ty}`, which the {backend} backend does not support"
        ))
    })
}

fn check_analyzers(path: &str, prop: &serde_json::Value, backend: &str) -> Result<()> {
    for key in ["analyzer", "search_analyzer", "normalizer"] {
        if let Some(name) = prop.get(key).and_then(|v| v.as_str())
            && name != "standard"
            && name != "default"
        {
            return Err(StoreError::unsupported(format!(
                "field `{path}` asks for {key} `{name}`; the {backend} backend has only the standard analyzer"
            )));
        }
    }
    Ok(())
}

fn ignore_above(prop: &serde_json::Value) -> Option<usize> {
    prop.get("ignore_above")
        .and_then(|v| v.as_u64())
        .and_then(|n| usize::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::super::Resolved;
    use super::*;
    use crate::ErrorKind;
    use crate::search::IndexSpec;
    use crate::value::{Document, Value};

    fn doc(json: serde_json::Value) -> Document {
        match crate::from_json(json).unwrap() {
            Value::Map(d) => d,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn raw_mappings_support_strict_and_multi_fields() {
        let spec = IndexSpec {
            raw_mappings: Some(serde_json::json!({
                "dynamic": "strict",
                "properties": {
                    "name": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
                    "meta": {"properties": {"size": {"type": "integer"}}}
                }
            })),
            ..IndexSpec::default()
        };
        let mapping = Mapping::from_spec(&spec, "memory").unwrap();
        assert_eq!(
            mapping.resolve("name.raw"),
            Resolved::Leaf(FieldType::Keyword)
        );
        assert_eq!(
            mapping.resolve("meta.size"),
            Resolved::Leaf(FieldType::Long)
        );
        let err = mapping
            .index_document(&doc(serde_json::json!({"other": 1})))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let bad = IndexSpec {
            raw_mappings: Some(serde_json::json!({"properties": {"g": {"type": "geo_point"}}})),
            ..IndexSpec::default()
        };
        assert_eq!(
            Mapping::from_spec(&bad, "memory").unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }
}
