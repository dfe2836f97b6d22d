//! The JSON of a new index: its `mappings` and `settings` from an [`IndexSpec`].

use serde_json::{Map, Value as Json, json};
use store_core::search::IndexSpec;

/// The body of an index creation: the settings, and the mappings when the spec has any.
pub(crate) fn create_body(spec: &IndexSpec) -> Json {
    let mut body = json!({ "settings": settings(spec) });
    if let Some(m) = mappings(spec) {
        body["mappings"] = m;
    }
    body
}

/// The `mappings` of a spec: the raw mappings, else the typed fields (dotted paths nested).
pub(crate) fn mappings(spec: &IndexSpec) -> Option<Json> {
    if let Some(raw) = &spec.raw_mappings {
        return Some(raw.clone());
    }
    if spec.fields.is_empty() {
        return None;
    }
    let mut root = Map::new();
    for (name, t) in &spec.fields {
        let mut properties = &mut root;
        let parts: Vec<&str> = name.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            if i + 1 == parts.len() {
                properties.insert((*part).to_owned(), json!({"type": t.as_str()}));
            } else {
                let entry = properties
                    .entry((*part).to_owned())
                    .or_insert_with(|| json!({"properties": {}}));
                if entry.get("properties").is_none() {
                    *entry = json!({"properties": {}});
                }
                properties = entry
                    .get_mut("properties")
                    .and_then(Json::as_object_mut)
                    .expect("just inserted");
            }
        }
    }
    Some(json!({ "properties": root }))
}

/// The `settings` of a spec: shards and replicas, with the raw settings merged over them.
pub(crate) fn settings(spec: &IndexSpec) -> Json {
    let mut settings = json!({});
    if let Some(n) = spec.shards {
        settings["number_of_shards"] = json!(n);
    }
    if let Some(n) = spec.replicas {
        settings["number_of_replicas"] = json!(n);
    }
    if let Some(raw) = &spec.raw_settings {
        merge(&mut settings, raw);
    }
    settings
}

fn merge(into: &mut Json, from: &Json) {
    match (into, from) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Json::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::search::FieldType;

    #[test]
    fn typed_fields_nest_by_dotted_path_and_raw_settings_merge() {
        let spec = IndexSpec::new()
            .shards(1)
            .replicas(0)
            .field("title", FieldType::Text)
            .field("address.city", FieldType::Keyword);
        let spec = IndexSpec {
            raw_settings: Some(
                json!({"number_of_replicas": 2, "index": {"refresh_interval": "5s"}}),
            ),
            ..spec
        };
        assert_eq!(
            create_body(&spec),
            json!({
                "settings": {
                    "number_of_shards": 1,
                    "number_of_replicas": 2,
                    "index": {"refresh_interval": "5s"}
                },
                "mappings": {"properties": {
                    "title": {"type": "text"},
                    "address": {"properties": {"city": {"type": "keyword"}}}
                }}
            })
        );
        assert_eq!(create_body(&IndexSpec::new()), json!({"settings": {}}));
    }
}
