//! What an object says beyond its bytes (content type and user metadata), and when two
//! objects say the same: sync rewrites an object whose description changed, and check reports
//! it, though the bytes are equal.
//!
//! Stores differ in what they keep, so the comparison allows for it: a store may give an
//! object that was written without a content type a default of its own (S3's
//! `binary/octet-stream`), and S3 keeps metadata names in lower case.

use std::collections::BTreeMap;

use store_core::object::ObjectMeta;

/// The content types stores give an object written without one (S3's; store-fs and the
/// memory store keep none).
const DEFAULT_CONTENT_TYPES: [&str; 2] = ["binary/octet-stream", "application/octet-stream"];

/// Whether two objects' descriptions agree: the same content type, or none beside none or a
/// store's default; and the same user metadata, names compared in lower case. What check
/// calls equal and sync leaves alone (a sync writes the source's description, which then
/// agrees).
pub(crate) fn described_alike(a: &ObjectMeta, b: &ObjectMeta) -> bool {
    let unset = |t: &Option<String>| {
        t.as_deref()
            .is_none_or(|t| DEFAULT_CONTENT_TYPES.contains(&t))
    };
    let content_type = match (&a.content_type, &b.content_type) {
        (Some(a), Some(b)) if a == b => true,
        (None, other) | (other, None) => unset(other),
        _ => false,
    };
    content_type && folded(&a.metadata) == folded(&b.metadata)
}

/// User metadata with names in lower case, as S3 keeps them.
fn folded(metadata: &BTreeMap<String, String>) -> BTreeMap<String, &str> {
    metadata
        .iter()
        .map(|(name, value)| (name.to_lowercase(), value.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::ObjectKey;

    fn meta(content_type: Option<&str>, metadata: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            key: ObjectKey::new("k").unwrap(),
            size: 1,
            etag: None,
            last_modified: None,
            content_type: content_type.map(str::to_owned),
            metadata: metadata
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn no_content_type_agrees_with_a_stores_default() {
        let source = meta(None, &[("Owner", "ann")]);
        let s3 = meta(Some("binary/octet-stream"), &[("owner", "ann")]);
        assert!(described_alike(&s3, &source) && described_alike(&source, &s3));
    }

    #[test]
    fn a_changed_content_type_or_metadata_value_is_a_difference() {
        let source = meta(Some("text/plain"), &[("owner", "ann")]);
        for other in [
            meta(Some("text/html"), &[("owner", "ann")]),
            meta(None, &[("owner", "ann")]),
            meta(Some("text/plain"), &[("owner", "bob")]),
            meta(Some("text/plain"), &[]),
            meta(Some("text/plain"), &[("owner", "ann"), ("extra", "x")]),
        ] {
            assert!(!described_alike(&other, &source), "{other:?}");
            assert!(!described_alike(&source, &other), "{other:?}");
        }
        // A content type that is not a default is lost, not defaulted.
        assert!(!described_alike(
            &meta(None, &[]),
            &meta(Some("text/html"), &[])
        ));
    }
}
