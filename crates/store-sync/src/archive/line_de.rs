//! Decoding an archive line straight into values, with no `serde_json::Value` tree between:
//! a restore decodes every record once, and the tree cost more than the rest of the line.
//! The typed JSON is the one `crate::codec` writes (`{"N": "1.5"}`, `{"SS": [...]}` …).

use std::collections::BTreeSet;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use store_core::{Document, Number, Value};

/// One line: the key's typed values by name (`k`) and the document (`v`).
pub(super) struct Line {
    pub(super) key: Option<Vec<(String, Value)>>,
    pub(super) doc: Option<Document>,
}

impl<'de> Deserialize<'de> for Line {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LineVisitor;
        impl<'de> Visitor<'de> for LineVisitor {
            type Value = Line;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an archive line: an object with `k` and `v`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Line, A::Error> {
                let mut line = Line {
                    key: None,
                    doc: None,
                };
                while let Some(field) = map.next_key::<LineField>()? {
                    match field {
                        LineField::Key => line.key = Some(map.next_value::<Key<Typed>>()?.values()),
                        LineField::Doc => line.doc = Some(map.next_value::<Doc>()?.0),
                        LineField::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(line)
            }
        }
        d.deserialize_map(LineVisitor)
    }
}

/// A member of a line, read without making a `String` of its name.
pub(super) enum LineField {
    Key,
    Doc,
    Other,
}

impl<'de> Deserialize<'de> for LineField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(text_visitor("a member of an archive line", |name| {
            Ok(match name {
                "k" => LineField::Key,
                "v" => LineField::Doc,
                _ => LineField::Other,
            })
        }))
    }
}

/// The key object: attribute names and what `T` reads of their typed values, in the order
/// written, as a list (a key has one or two attributes: no map is worth building for them).
/// A restore reads the values ([`Typed`]); a check of the line's shape only their tags.
pub(super) struct Key<T>(pub(super) Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Key<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for KeyVisitor<T> {
            type Value = Key<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key: a JSON object of typed values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Key<T>, A::Error> {
                let mut key: Vec<(String, T)> = Vec::with_capacity(2);
                while let Some(name) = map.next_key::<String>()? {
                    let value = map.next_value::<T>()?;
                    // As a map would: a repeated attribute keeps its last value.
                    match key.iter_mut().find(|(n, _)| *n == name) {
                        Some(slot) => slot.1 = value,
                        None => key.push((name, value)),
                    }
                }
                Ok(Key(key))
            }
        }
        d.deserialize_map(KeyVisitor(std::marker::PhantomData))
    }
}

impl Key<Typed> {
    /// The key's attributes with their values.
    pub(super) fn values(self) -> Vec<(String, Value)> {
        self.0
            .into_iter()
            .map(|(name, typed)| (name, typed.0))
            .collect()
    }
}

/// A document: attribute names to typed values, in the order written.
struct Doc(Document);

/// The room a document is made with when the JSON does not tell its size (serde_json never
/// does): growing a map rehashes it, and most records have a handful of attributes.
const DOC_CAPACITY: usize = 8;

impl<'de> Deserialize<'de> for Doc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DocVisitor;
        impl<'de> Visitor<'de> for DocVisitor {
            type Value = Doc;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a document: a JSON object of typed values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
                let mut doc = Document::with_capacity(map.size_hint().unwrap_or(DOC_CAPACITY));
                while let Some(name) = map.next_key::<String>()? {
                    let value = map.next_value::<Typed>()?;
                    doc.insert(name, value.0);
                }
                Ok(Doc(doc))
            }
        }
        d.deserialize_map(DocVisitor)
    }
}

/// A typed value: an object with exactly one type tag.
pub(super) struct Typed(pub(super) Value);

pub(super) const ONE_TAG: &str = "a typed value is an object with exactly one type tag";

/// The deepest nesting of lists and maps a line may hold: eight times DynamoDB's 32, past
/// OpenSearch's default mapping depth of 20; a deeper value (a SQL JSON value may nest 512)
/// is refused by its record's key when an archive part or a spill file would hold it. Lines
/// are read with `serde_json`'s own limit (128 JSON levels, so 64 of typed values) off and
/// this one in its place, within what a 2 MiB thread stack holds in a debug build; a line
/// nested without end is an error, not an overflowed stack.
pub(super) const MAX_NESTING: usize = 256;

thread_local! {
    /// How many lists and maps enclose the value being read on this thread.
    static NESTING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// One level of nesting, for as long as it is held.
pub(super) struct Nested;

impl Nested {
    /// Enters one more list or map, refusing one past [`MAX_NESTING`].
    pub(super) fn enter<E: de::Error>() -> Result<Self, E> {
        let depth = NESTING.with(|n| n.get()) + 1;
        if depth > MAX_NESTING {
            return Err(E::custom(format!(
                "a value is nested more than {MAX_NESTING} lists and maps deep"
            )));
        }
        NESTING.with(|n| n.set(depth));
        Ok(Nested)
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        NESTING.with(|n| n.set(n.get() - 1));
    }
}

/// Reads one line from `de` (with `serde_json`'s recursion limit off: [`MAX_NESTING`] bounds
/// it instead) and checks nothing follows it.
pub(super) fn read_whole<'de, T, R>(
    mut de: serde_json::Deserializer<R>,
    read: impl FnOnce(&mut serde_json::Deserializer<R>) -> serde_json::Result<T>,
) -> serde_json::Result<T>
where
    R: serde_json::de::Read<'de>,
{
    de.disable_recursion_limit();
    let value = read(&mut de)?;
    de.end()?;
    Ok(value)
}

impl<'de> Deserialize<'de> for Typed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TypedVisitor;
        impl<'de> Visitor<'de> for TypedVisitor {
            type Value = Typed;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(ONE_TAG)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Typed, A::Error> {
                let tag = map
                    .next_key::<Tag>()?
                    .ok_or_else(|| de::Error::custom(ONE_TAG))?;
                let value = match tag {
                    Tag::Null if map.next_value::<bool>()? => Value::Null,
                    Tag::Null => return Err(de::Error::custom("NULL must be true")),
                    Tag::Bool => Value::Bool(map.next_value()?),
                    Tag::N => Value::Number(map.next_value::<Num>()?.0),
                    Tag::S => Value::String(map.next_value()?),
                    Tag::B => Value::Bytes(map.next_value::<Base64>()?.0),
                    Tag::L => {
                        let _nested = Nested::enter()?;
                        Value::List(
                            map.next_value::<Vec<Typed>>()?
                                .into_iter()
                                .map(|t| t.0)
                                .collect(),
                        )
                    }
                    Tag::M => {
                        let _nested = Nested::enter()?;
                        Value::Map(map.next_value::<Doc>()?.0)
                    }
                    Tag::SS => Value::StringSet(map.next_value::<BTreeSet<String>>()?),
                    Tag::NS => Value::NumberSet(
                        map.next_value::<Vec<Num>>()?
                            .into_iter()
                            .map(|n| n.0)
                            .collect(),
                    ),
                    Tag::BS => Value::BytesSet(
                        map.next_value::<Vec<Base64>>()?
                            .into_iter()
                            .map(|b| b.0)
                            .collect(),
                    ),
                };
                if map.next_key::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(ONE_TAG));
                }
                Ok(Typed(value))
            }
        }
        d.deserialize_map(TypedVisitor)
    }
}

/// The type tags of typed JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tag {
    Null,
    Bool,
    N,
    S,
    B,
    L,
    M,
    SS,
    NS,
    BS,
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(text_visitor("a type tag", |tag| {
            Ok(match tag {
                "NULL" => Tag::Null,
                "BOOL" => Tag::Bool,
                "N" => Tag::N,
                "S" => Tag::S,
                "B" => Tag::B,
                "L" => Tag::L,
                "M" => Tag::M,
                "SS" => Tag::SS,
                "NS" => Tag::NS,
                "BS" => Tag::BS,
                other => return Err(format!("unknown type tag `{other}` in typed JSON")),
            })
        }))
    }
}

/// A number written as a decimal string.
struct Num(Number);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(text_visitor("a number as a decimal string", |text| {
            text.parse()
                .map(Num)
                .map_err(|e: store_core::StoreError| e.message().to_owned())
        }))
    }
}

/// Bytes written as standard base64.
struct Base64(Bytes);

impl<'de> Deserialize<'de> for Base64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(text_visitor("bytes as base64", |text| {
            STANDARD
                .decode(text)
                .map(|b| Base64(Bytes::from(b)))
                .map_err(|e| format!("bad base64 in typed JSON: {e}"))
        }))
    }
}

/// A visitor of a JSON string, borrowed or not, turned into `T` by `parse`.
pub(super) fn text_visitor<T>(
    expecting: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> impl for<'de> Visitor<'de, Value = T> {
    struct TextVisitor<F> {
        expecting: &'static str,
        parse: F,
    }
    impl<'de, T, F: FnOnce(&str) -> Result<T, String>> Visitor<'de> for TextVisitor<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
            (self.parse)(text).map_err(E::custom)
        }
    }
    TextVisitor { expecting, parse }
}
