//! What an object says beyond its bytes (content type and user metadata), and when two
//! objects say the same: sync rewrites an object whose description changed, and check reports
//! it, though the bytes are equal.
//!
//! Stores differ in what they keep, so the comparison allows for it: a store may give an
//! object that was written without a content type a default of its own (S3's
//! `binary/octet-stream`), and S3 keeps metadata names in lower case.

use std::collections::BTreeMap;

use store_core::object::ObjectMeta;

/// Whether `theirs` (the destination's copy) says what `mine` (the source's) says: the same
/// content type when the source has one, and the same user metadata, names compared in lower
/// case. What sync leaves alone.
pub(crate) fn holds_description_of(theirs: &ObjectMeta, mine: &ObjectMeta) -> bool {
    let content_type = match &mine.content_type {
        Some(wanted) => theirs.content_type.as_ref() == Some(wanted),
        None => true,
    };
    content_type && folded(&mine.metadata) == folded(&theirs.metadata)
}

/// Whether two objects' descriptions agree, neither taken as the source: their content types
/// agree where both have one, and their user metadata are the same. What check calls equal;
/// an object sync leaves alone always is.
pub(crate) fn described_alike(a: &ObjectMeta, b: &ObjectMeta) -> bool {
    let content_type = match (&a.content_type, &b.content_type) {
        (Some(a), Some(b)) => a == b,
        _ => true,
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
    fn a_source_without_a_content_type_accepts_the_stores_default() {
        let source = meta(None, &[("Owner", "ann")]);
        let s3 = meta(Some("binary/octet-stream"), &[("owner", "ann")]);
        assert!(holds_description_of(&s3, &source));
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
            assert!(!holds_description_of(&other, &source), "{other:?}");
        }
        // A destination without a content type is not told apart by check, which takes no
        // side, but sync writes the source's.
        assert!(described_alike(&meta(None, &[("owner", "ann")]), &source));
        assert!(!described_alike(
            &meta(Some("text/plain"), &[("owner", "bob")]),
            &source
        ));
    }
}
