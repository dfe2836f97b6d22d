//! Walking an archive line for its shape without building a value: what `verify` checks on
//! every line before a restore writes anything. The walk follows the typed JSON's grammar,
//! so it counts nesting as the decoder does (lists and maps, not the brackets of a set) and
//! refuses an unknown type tag; scalars are skipped, not decoded.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use store_core::{Result, StoreError};

use super::line_de::{LineField, MAX_NESTING, Nested, ONE_TAG, Tag, read_whole, within_line_depth};
use super::lines::line_error;

/// Checks that `line` is an archive line a restore can read as far as its shape goes: JSON
/// of one object with a key `k` and a document `v` of typed values, each with one known tag,
/// no list or map nested more than [`MAX_NESTING`] deep. Numbers, text and bytes are not
/// decoded; no value is built.
pub(super) fn check_line_shape(line: &str) -> Result<()> {
    // The brackets first: a line nested without end must not take the walk's stack.
    if !within_line_depth(line) {
        return Err(StoreError::invalid_input(format!(
            "a value is nested more than {MAX_NESTING} lists and maps deep"
        )));
    }
    let de = serde_json::Deserializer::from_str(line);
    read_whole(de, |de| LineShape::deserialize(de))
        .map(|LineShape| ())
        .map_err(line_error)
}

/// The shape of one line: an object whose `k` and `v` hold typed values.
struct LineShape;

impl<'de> Deserialize<'de> for LineShape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LineVisitor;
        impl<'de> Visitor<'de> for LineVisitor {
            type Value = LineShape;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an archive line: an object with `k` and `v`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LineShape, A::Error> {
                let (mut key, mut doc) = (false, false);
                while let Some(field) = map.next_key::<LineField>()? {
                    match field {
                        LineField::Key => {
                            map.next_value::<AttributesShape>()?;
                            key = true;
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
                    (true, true) => Ok(LineShape),
                    (false, _) => Err(de::Error::custom("an archive line has no key `k`")),
                    (_, false) => Err(de::Error::custom("an archive line has no document `v`")),
                }
            }
        }
        d.deserialize_map(LineVisitor)
    }
}

/// The shape of a key or a document: attribute names to typed values.
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

/// The shape of a typed value: one known tag; a list or a map one level deeper.
struct TypedShape;

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
                    Tag::L => {
                        let _nested = Nested::enter()?;
                        // Elements of no size: the list is walked, nothing is allocated.
                        map.next_value::<Vec<TypedShape>>()?;
                    }
                    Tag::M => {
                        let _nested = Nested::enter()?;
                        map.next_value::<AttributesShape>()?;
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                if map.next_key::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(ONE_TAG));
                }
                Ok(TypedShape)
            }
        }
        d.deserialize_map(TypedVisitor)
    }
}

#[cfg(test)]
mod tests {
    use store_core::{Document, ErrorKind, Value};

    use super::super::line_de::{MAX_NESTING, within_line_depth};
    use super::super::lines::{decode_line, encode_line};
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

    fn refused(line: &str) -> String {
        let err = check_line_shape(line).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        err.message().to_owned()
    }

    #[test]
    fn a_line_as_deep_as_a_restore_reads_passes_and_one_level_more_is_refused() {
        let deepest = lists_around(MAX_NESTING, r#"{"SS":["a"]}"#);
        check_line_shape(&deepest).unwrap();
        decode_line(&deepest, &names()).unwrap();

        // An empty list one level deeper has the brackets of a set at the bottom: the bracket
        // scan lets it through, the walk counts it as the decoder does.
        let deeper = lists_around(MAX_NESTING, r#"{"L":[]}"#);
        assert!(within_line_depth(&deeper));
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
        check_line_shape(&line).unwrap();
    }

    #[test]
    fn a_line_of_the_wrong_shape_is_refused_as_the_decoder_refuses_it() {
        let cases = [
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
            (r#"{"k":{"id":{"N":"1"}}}"#, "no document `v`"),
            (r#"{"v":{"id":{"N":"1"}}}"#, "no key `k`"),
            (r#"{"k":{"id":{"N":"1"}},"v":{}} trailing"#, "not JSON"),
            (r#"[1, 2]"#, "malformed"),
        ];
        for (line, expected) in cases {
            let message = refused(line);
            assert!(message.contains(expected), "{line}: {message}");
            assert!(decode_line(line, &names()).is_err(), "{line}");
        }
    }

    #[test]
    fn brackets_nested_without_end_inside_a_set_are_refused_before_the_walk() {
        let line = format!(
            r#"{{"k":{{"id":{{"N":"1"}}}},"v":{{"s":{{"SS":{}{}}}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(refused(&line).contains("nested more than 256"));
    }
}
