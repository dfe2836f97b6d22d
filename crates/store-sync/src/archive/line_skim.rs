//! Walking an archive line for its shape without building a value: what `verify` checks on
//! every line before a restore writes anything. The walk follows the typed JSON's grammar,
//! so it judges what the decoder judges: nesting counted as lists and maps (not the
//! brackets of a set), one known type tag a value, the JSON type under each tag (text for
//! numbers and bytes, a boolean for BOOL, `true` for NULL), and the key `k` holding every key
//! attribute as text, a number or bytes (text for `_id`). Only the text of numbers and bytes
//! is left unread: a number that does not parse, or bad base64, fails the restore itself.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use store_core::{Result, StoreError};

use super::line_de::{Key, LineField, Nested, ONE_TAG, Tag, read_whole};
use super::lines::line_error;

/// Checks that `line` is an archive line a restore reads as far as its shape goes, for a
/// collection keyed by `key_names` (see the module's doc). No value is built.
pub(super) fn check_line_shape(line: &str, key_names: &[String]) -> Result<()> {
    // No recursion here is unbounded: lists and maps stop at MAX_NESTING as the decoder's
    // do, any other value is a scalar or a list of text, and an unknown member is skipped by
    // serde_json's loop, not by recursion.
    let de = serde_json::Deserializer::from_str(line);
    let key = read_whole(de, |de| LineShape::deserialize(de))
        .map_err(line_error)?
        .0;
    check_key(&key, key_names)
}

/// Refuses a key the decoder refuses: a key attribute missing or of a type a key cannot
/// have.
fn check_key(key: &[(String, Tag)], key_names: &[String]) -> Result<()> {
    let text_only = key_names == ["_id"];
    for name in key_names {
        match key.iter().find(|(n, _)| n == name).map(|(_, tag)| *tag) {
            None => {
                return Err(StoreError::invalid_input(format!(
                    "an archive line's key has no `{name}`"
                )));
            }
            Some(Tag::S) => {}
            Some(Tag::N | Tag::B) if !text_only => {}
            Some(_) if text_only => {
                return Err(StoreError::invalid_input("an archived `_id` must be text"));
            }
            Some(tag) => {
                return Err(StoreError::invalid_input(format!(
                    "an archive line's key `{name}` is {tag:?}, not text, a number or bytes"
                )));
            }
        }
    }
    Ok(())
}

/// The shape of one line: its key's attributes with their tags (the last of a repeated
/// name, as the decoder keeps), once `k` and `v` were found well formed.
struct LineShape(Vec<(String, Tag)>);

impl<'de> Deserialize<'de> for LineShape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LineVisitor;
        impl<'de> Visitor<'de> for LineVisitor {
            type Value = LineShape;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an archive line: an object with `k` and `v`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LineShape, A::Error> {
                let (mut key, mut doc) = (None, false);
                while let Some(field) = map.next_key::<LineField>()? {
                    match field {
                        LineField::Key => {
                            let key_shape = map.next_value::<Key<TypedShape>>()?;
                            key = Some(key_shape.0.into_iter().map(|(n, t)| (n, t.0)).collect());
                        }
                        LineField::Doc => {
                            map.next_value::<AttributesShape>()?;
                            doc = true;
                        }
                        LineField::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                match (key, doc) {
                    (Some(key), true) => Ok(LineShape(key)),
                    (None, _) => Err(de::Error::custom("an archive line has no key object `k`")),
                    (_, false) => Err(de::Error::custom("an archive line has no document `v`")),
                }
            }
        }
        d.deserialize_map(LineVisitor)
    }
}

/// The shape of a document: attribute names to typed values.
struct AttributesShape;

impl<'de> Deserialize<'de> for AttributesShape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AttributesVisitor;
        impl<'de> Visitor<'de> for AttributesVisitor {
            type Value = AttributesShape;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of typed values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttributesShape, A::Error> {
                while map.next_key::<IgnoredAny>()?.is_some() {
                    map.next_value::<TypedShape>()?;
                }
                Ok(AttributesShape)
            }
        }
        d.deserialize_map(AttributesVisitor)
    }
}

/// The shape of a typed value, by its tag: one known tag, the JSON type it takes, a list or
/// a map one level deeper.
struct TypedShape(Tag);

impl<'de> Deserialize<'de> for TypedShape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TypedVisitor;
        impl<'de> Visitor<'de> for TypedVisitor {
            type Value = TypedShape;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(ONE_TAG)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TypedShape, A::Error> {
                let tag = map
                    .next_key::<Tag>()?
                    .ok_or_else(|| de::Error::custom(ONE_TAG))?;
                match tag {
                    Tag::Null if map.next_value::<bool>()? => {}
                    Tag::Null => return Err(de::Error::custom("NULL must be true")),
                    Tag::Bool => {
                        map.next_value::<bool>()?;
                    }
                    Tag::N | Tag::S | Tag::B => {
                        map.next_value::<Text>()?;
                    }
                    Tag::SS | Tag::NS | Tag::BS => {
                        // Elements of no size: the list is walked, nothing is allocated.
                        map.next_value::<Vec<Text>>()?;
                    }
                    Tag::L => {
                        let _nested = Nested::enter()?;
                        map.next_value::<Vec<TypedShape>>()?;
                    }
                    Tag::M => {
                        let _nested = Nested::enter()?;
                        map.next_value::<AttributesShape>()?;
                    }
                }
                if map.next_key::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(ONE_TAG));
                }
                Ok(TypedShape(tag))
            }
        }
        d.deserialize_map(TypedVisitor)
    }
}

/// A JSON string, not kept.
struct Text;

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Text, E> {
                Ok(Text)
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use store_core::{Document, ErrorKind, Value};

    use super::super::line_de::MAX_NESTING;
    use super::super::line_rows::Rows;
    use super::super::lines::{decode_line, decode_written, encode_line};
    use super::check_line_shape;
    use crate::record::Record;

    /// A line whose `v` holds `depth` lists, one inside the other, around `innermost`.
    fn lists_around(depth: usize, innermost: &str) -> String {
        let value = format!(
            "{}{innermost}{}",
            r#"{"L":["#.repeat(depth),
            "]}".repeat(depth)
        );
        format!(r#"{{"k":{{"id":{{"N":"1"}}}},"v":{{"id":{{"N":"1"}},"deep":{value}}}}}"#)
    }

    fn names() -> Vec<String> {
        vec!["id".to_owned()]
    }

    fn check(line: &str) -> store_core::Result<()> {
        check_line_shape(line, &names())
    }

    fn refused(line: &str) -> String {
        let err = check(line).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        err.message().to_owned()
    }

    #[test]
    fn a_line_as_deep_as_a_restore_reads_passes_and_one_level_more_is_refused() {
        let deepest = lists_around(MAX_NESTING, r#"{"SS":["a"]}"#);
        check(&deepest).unwrap();
        decode_line(&deepest, &names()).unwrap();

        // An empty list one level deeper has the brackets of a set at the bottom; the walk
        // counts lists, as the decoder does.
        let deeper = lists_around(MAX_NESTING, r#"{"L":[]}"#);
        assert!(decode_line(&deeper, &names()).is_err());
        assert!(refused(&deeper).contains("nested more than 256"));

        // Maps count as lists do.
        let maps = format!(
            r#"{{"k":{{"id":{{"N":"1"}}}},"v":{{"m":{}{{"S":"x"}}{}}}}}"#,
            r#"{"M":{"a":"#.repeat(MAX_NESTING + 1),
            "}}".repeat(MAX_NESTING + 1)
        );
        assert!(decode_line(&maps, &names()).is_err());
        assert!(refused(&maps).contains("nested more than 256"));
    }

    #[test]
    fn attributes_named_like_tags_are_names_not_tags() {
        let doc = Document::new()
            .with("id", 1)
            .with("L", Document::new().with("M", vec![Value::from("x")]))
            .with("SS", "text");
        let line = encode_line(&Record::from_document(doc, &names()).unwrap());
        check(&line).unwrap();
    }

    /// Lines the decoder refuses, each with what the walk's refusal says.
    const WRONG_SHAPES: &[(&str, &str)] = &[
        (
            r#"{"k":{"id":{"N":"1"}},"v":{"a":{"X":"1"}}}"#,
            "unknown type tag `X`",
        ),
        (
            r#"{"k":{"id":{"N":"1"}},"v":{"a":{"S":"1","N":"1"}}}"#,
            "exactly one type tag",
        ),
        (
            r#"{"k":{"id":{"N":"1"}},"v":{"a":{}}}"#,
            "exactly one type tag",
        ),
        (
            r#"{"k":{"id":{"N":"1"}},"v":{"a":"plain"}}"#,
            "exactly one type tag",
        ),
        (
            r#"{"k":{"id":{"N":"1"}},"v":{"a":{"NULL":false}}}"#,
            "NULL must be true",
        ),
        (
            r#"{"k":{"id":{"N":"1"}},"v":{"a":{"BOOL":"yes"}}}"#,
            "expected a boolean",
        ),
        (
            r#"{"k":{"id":{"N":"1"}},"v":{"a":{"N":1}}}"#,
            "expected a string",
        ),
        (
            r#"{"k":{"id":{"N":"1"}},"v":{"a":{"S":null}}}"#,
            "expected a string",
        ),
        (
            r#"{"k":{"id":{"N":"1"}},"v":{"a":{"SS":"a"}}}"#,
            "expected a sequence",
        ),
        (
            r#"{"k":{"id":{"N":"1"}},"v":{"a":{"BS":[null]}}}"#,
            "expected a string",
        ),
        (r#"{"k":{"id":{"N":"1"}}}"#, "no document `v`"),
        (r#"{"v":{"id":{"N":"1"}}}"#, "no key object `k`"),
        (r#"{"k":{},"v":{}}"#, "key has no `id`"),
        (r#"{"k":{"other":{"N":"1"}},"v":{}}"#, "key has no `id`"),
        (r#"{"k":{"id":{"BOOL":true}},"v":{}}"#, "key `id` is Bool"),
        (r#"{"k":{"id":{"L":[]}},"v":{}}"#, "key `id` is L"),
        (r#"{"k":{"id":{"N":"1"}},"v":{}} trailing"#, "not JSON"),
        (r#"[1, 2]"#, "malformed"),
    ];

    #[test]
    fn a_line_of_the_wrong_shape_is_refused_as_the_decoder_refuses_it() {
        for (line, expected) in WRONG_SHAPES {
            let message = refused(line);
            assert!(message.contains(expected), "{line}: {message}");
            // Every reading of a line refuses it: as a record, as written, as a table row.
            assert!(decode_line(line, &names()).is_err(), "{line}");
            assert!(decode_written(line.as_bytes(), &names()).is_err(), "{line}");
            let mut rows = Rows::default();
            assert!(rows.push_line(line, &names()).is_err(), "{line}");
        }
    }

    #[test]
    fn a_key_is_read_as_the_decoder_reads_it() {
        // Extra key attributes are ignored and a repeated one keeps its last value, as the
        // decoder keeps them.
        let extra = r#"{"k":{"id":{"N":"1"},"x":{"BOOL":true}},"v":{}}"#;
        check(extra).unwrap();
        decode_line(extra, &names()).unwrap();
        let repeated = r#"{"k":{"id":{"BOOL":true},"id":{"S":"a"}},"v":{}}"#;
        check(repeated).unwrap();
        decode_line(repeated, &names()).unwrap();
        // A search index's `_id` is text only.
        let ids = vec!["_id".to_owned()];
        let numeric_id = r#"{"k":{"_id":{"N":"1"}},"v":{}}"#;
        let err = check_line_shape(numeric_id, &ids).unwrap_err();
        assert!(err.message().contains("`_id` must be text"), "{err}");
        assert!(decode_line(numeric_id, &ids).is_err());
        check_line_shape(r#"{"k":{"_id":{"S":"a"}},"v":{}}"#, &ids).unwrap();
    }

    #[test]
    fn members_other_than_k_and_v_are_skipped_however_deep() {
        let deep = format!(
            r#"{{"k":{{"id":{{"N":"1"}}}},"v":{{}},"x":{}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        check(&deep).unwrap();
        decode_line(&deep, &names()).unwrap();
        // Brackets without end under a tag fail at the first one, whatever follows.
        let in_a_set = format!(
            r#"{{"k":{{"id":{{"N":"1"}}}},"v":{{"s":{{"SS":{}{}}}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(refused(&in_a_set).contains("expected a string"));
    }
}
