//! Records: what every kind of keyed collection reads and writes, and their keys.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use store_core::{Document, Number, Result, StoreError, Value};

use crate::digest::Comparison;

/// One record of a keyed collection: a table row, a document, a search document.
///
/// `doc` is the whole content, key attributes included (a search document read without key
/// fields has its key only in `key`, under the name `_id`).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The record's key.
    pub key: RecordKey,
    /// The record's content.
    pub doc: Document,
}

impl Record {
    /// A record whose key is taken from `doc` by the attribute names `key_names`.
    pub fn from_document(doc: Document, key_names: &[String]) -> Result<Self> {
        let key = RecordKey::of(&doc, key_names)?;
        Ok(Self { key, doc })
    }

    /// This record with each key attribute in its document, added from the key where the
    /// document holds it apart (a search document's `_id`).
    pub fn with_key_in_doc(mut self) -> Self {
        for (name, value) in self.key.parts() {
            if self.doc.get(name).is_none() {
                self.doc.insert(name.clone(), value.clone());
            }
        }
        self
    }
}

/// A record's key: the key attributes' names and values, in key order, and the canonical
/// text of the key ([`RecordKey::id`]) that every kind of store agrees on.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordKey {
    parts: Vec<(String, Value)>,
    id: String,
}

impl RecordKey {
    /// A key of the given attributes; each value must be text, a number or bytes.
    pub fn new(parts: Vec<(String, Value)>) -> Result<Self> {
        if parts.is_empty() {
            return Err(StoreError::invalid_input(
                "a record key needs at least one attribute",
            ));
        }
        let texts = parts
            .iter()
            .map(|(name, value)| key_text(name, value))
            .collect::<Result<Vec<_>>>()?;
        let id = if texts.len() == 1 {
            texts.into_iter().next().expect("one part")
        } else {
            texts
                .iter()
                .map(|t| t.replace('\\', "\\\\").replace('#', "\\#"))
                .collect::<Vec<_>>()
                .join("#")
        };
        Ok(Self { parts, id })
    }

    /// The key of `doc` by the attribute names `key_names`; a missing attribute is an error
    /// naming it.
    pub fn of(doc: &Document, key_names: &[String]) -> Result<Self> {
        let parts = key_names
            .iter()
            .map(|name| match doc.get(name) {
                Some(value) if !value.is_null() => Ok((name.clone(), value.clone())),
                _ => Err(StoreError::invalid_input(format!(
                    "a record has no value for its key attribute `{name}`"
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(parts)
    }

    /// A key that is only a document id (a search document without key fields).
    pub fn id_only(id: impl Into<String>) -> Self {
        let id = id.into();
        Self {
            parts: vec![("_id".to_owned(), Value::String(id.clone()))],
            id,
        }
    }

    /// The key attributes, in key order.
    pub fn parts(&self) -> &[(String, Value)] {
        &self.parts
    }

    /// The canonical text of the key: a single text key as itself, a number in its shortest
    /// exact form (`1.50` and `1.5` agree), bytes in base64, and a composite key as its parts
    /// joined by `#` (with `#` and `\` escaped by `\`). It is the `_id` of a search document.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key as `check` lists it: numbers written plainly (`1.5`, not the id's `15E-1`),
    /// bytes as SQL writes them (`X'31'`), and text that could be taken for either quoted
    /// (`'1'`), so that the number 1, the text "1" and the bytes "1" show apart.
    pub fn shown(&self) -> String {
        shown_id(&self.match_id(Comparison::Typed), Comparison::Typed).into_owned()
    }

    /// The key as a message names it: [`shown`](Self::shown), empty text as `''`, and a key
    /// longer than 100 characters cut there, with its length.
    pub fn shown_brief(&self) -> String {
        const LONGEST: usize = 100;
        let shown = self.shown();
        if shown.is_empty() {
            return "''".to_owned();
        }
        match shown.char_indices().nth(LONGEST) {
            Some((cut, _)) => format!("{}… ({} characters)", &shown[..cut], shown.chars().count()),
            None => shown,
        }
    }

    /// What records of two collections are matched by when their values are compared as
    /// `comparison` says: with types, the id followed by each part's type, so that the number
    /// 1 and the text `"1"` (one id, but two keys of a SQLite column of no declared type) are
    /// two records; as JSON or with a search index's text ids, the id alone (a search
    /// document's `_id` is text whatever the key was). [`shown_id`] gives the id back.
    pub(crate) fn match_id(&self, comparison: Comparison) -> String {
        match comparison {
            Comparison::Json | Comparison::TypedValues => self.id.clone(),
            Comparison::Typed => {
                let mut id = String::with_capacity(self.id.len() + 1 + self.parts.len());
                id.push_str(&self.id);
                id.push(TYPES_AFTER);
                id.extend(self.parts.iter().map(|(_, value)| match value {
                    Value::Number(_) => 'N',
                    Value::Bytes(_) => 'B',
                    _ => 'S',
                }));
                id
            }
        }
    }
}

/// What separates a typed [`RecordKey::match_id`]'s id from its parts' types (one letter
/// each, so the last separator is the one).
const TYPES_AFTER: char = '\u{1f}';

/// The key a [`RecordKey::match_id`] made under `comparison` holds, to show: its id, with
/// the parts the types say are numbers written plainly (`1700000000.25`, not the id's
/// canonical `170000000025E-2`), bytes as SQL writes them (`X'31'`, not base64) and text that
/// could be taken for either quoted as SQL quotes it (`'1'`), so that the number 1, the text
/// "1" and the bytes "1" show apart.
pub(crate) fn shown_id(match_id: &str, comparison: Comparison) -> Cow<'_, str> {
    let (Comparison::Typed, Some((id, types))) = (comparison, match_id.rsplit_once(TYPES_AFTER))
    else {
        return Cow::Borrowed(match_id);
    };
    if types.chars().all(|kind| kind == 'S') && !looks_like_a_literal(id) {
        return Cow::Borrowed(id);
    }
    // A single part is the id as it is; a composite key's parts are joined by `#`, with `#`
    // and `\` escaped within a part.
    let parts = if types.len() == 1 {
        vec![id]
    } else {
        split_parts(id)
    };
    if parts.len() != types.len() {
        return Cow::Borrowed(id);
    }
    let shown: Vec<Cow<'_, str>> = parts
        .into_iter()
        .zip(types.chars())
        .map(|(part, kind)| match kind {
            'N' => part
                .parse::<Number>()
                .map_or(Cow::Borrowed(part), |number| Cow::Owned(number.to_string())),
            'B' => STANDARD.decode(part).map_or(Cow::Borrowed(part), |bytes| {
                let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
                Cow::Owned(format!("X'{hex}'"))
            }),
            _ if looks_like_a_literal(part) => {
                Cow::Owned(format!("'{}'", part.replace('\'', "''")))
            }
            _ => Cow::Borrowed(part),
        })
        .collect();
    Cow::Owned(shown.join("#"))
}

/// Whether text shown as it is could be taken for a number or a quoted literal: then it is
/// shown quoted as SQL quotes text (`'1'`), beside numbers shown bare and bytes as `X'31'`.
fn looks_like_a_literal(text: &str) -> bool {
    text.parse::<Number>().is_ok() || text.starts_with('\'') || text.starts_with("X'")
}

/// The parts of a composite key's id, still escaped: split at each `#` no `\` escapes.
fn split_parts(id: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (at, c) in id.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '#' => {
                parts.push(&id[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&id[start..]);
    parts
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

fn key_text(name: &str, value: &Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(canonical_number(n)),
        Value::Bytes(b) => Ok(STANDARD.encode(b)),
        other => Err(StoreError::invalid_input(format!(
            "key attribute `{name}` is a {}; keys are text, numbers or bytes",
            other.type_name()
        ))),
    }
}

/// The shortest exact text of a number: no trailing zeros, plain digits for integers that fit
/// in 128 bits, `<digits>E<exponent>` otherwise. Numerically equal numbers get the same text.
pub fn canonical_number(n: &Number) -> String {
    if n.is_integer()
        && let Some(i) = n.to_i128()
    {
        return i.to_string();
    }
    let digits = n.digits();
    let trimmed = digits.trim_end_matches('0');
    if trimmed.is_empty() {
        return "0".to_owned();
    }
    let exponent = i64::from(n.exponent()) + (digits.len() - trimmed.len()) as i64;
    let sign = if n.is_negative() { "-" } else { "" };
    format!("{sign}{trimmed}E{exponent}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> Number {
        s.parse().unwrap()
    }

    #[test]
    fn messages_name_empty_and_long_keys_briefly() {
        let key = |value: Value| {
            RecordKey::of(&Document::new().with("id", value), &["id".to_owned()]).unwrap()
        };
        assert_eq!(key(Value::from("")).shown_brief(), "''");
        assert_eq!(key(Value::from("ada")).shown_brief(), "ada");
        assert_eq!(key(Value::from("1")).shown_brief(), "'1'");
        let long = key(Value::from("é".repeat(2_000))).shown_brief();
        assert_eq!(long, format!("{}… (2000 characters)", "é".repeat(100)));
    }

    #[test]
    fn equal_numbers_have_one_canonical_text() {
        assert_eq!(
            canonical_number(&num("1.50")),
            canonical_number(&num("1.5"))
        );
        assert_eq!(canonical_number(&num("100")), "100");
        assert_eq!(canonical_number(&num("-0.0")), "0");
        assert_eq!(
            canonical_number(&num("1E-130")),
            canonical_number(&num("0.1E-129"))
        );
        assert_ne!(canonical_number(&num("1.5")), canonical_number(&num("15")));
        let big = num("99999999999999999999999999999999999999000");
        assert_eq!(
            canonical_number(&big),
            "99999999999999999999999999999999999999E3"
        );
        assert_eq!(
            canonical_number(&num(&i64::MIN.to_string())),
            i64::MIN.to_string()
        );
    }

    #[test]
    fn composite_ids_are_unambiguous() {
        let a = RecordKey::new(vec![("p".into(), "a#b".into()), ("s".into(), "c".into())]).unwrap();
        let b = RecordKey::new(vec![("p".into(), "a".into()), ("s".into(), "b#c".into())]).unwrap();
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id(), "a\\#b#c");
        let n = RecordKey::new(vec![("id".into(), Value::from(7))]).unwrap();
        assert_eq!(n.id(), "7");
    }

    #[test]
    fn match_ids_tell_types_apart_and_show_numbers_plainly() {
        let key = |parts: Vec<(&str, Value)>| {
            RecordKey::new(parts.into_iter().map(|(n, v)| (n.to_owned(), v)).collect()).unwrap()
        };
        let number = key(vec![("k", Value::Number(num("1700000000.25")))]);
        let text = key(vec![("k", Value::from("170000000025E-2"))]);
        assert_eq!(number.id(), text.id());
        let typed = |k: &RecordKey| k.match_id(Comparison::Typed);
        assert_ne!(typed(&number), typed(&text));
        assert_eq!(
            number.match_id(Comparison::Json),
            text.match_id(Comparison::Json)
        );
        assert_eq!(
            shown_id(&typed(&number), Comparison::Typed),
            "1700000000.25"
        );
        assert_eq!(
            shown_id(&typed(&text), Comparison::Typed),
            "'170000000025E-2'"
        );
        let bytes = key(vec![("k", Value::Bytes(b"1".to_vec().into()))]);
        assert_eq!(shown_id(&typed(&bytes), Comparison::Typed), "X'31'");
        let plain = key(vec![("k", Value::from("it's"))]);
        assert_eq!(shown_id(&typed(&plain), Comparison::Typed), "it's");
        let quote = key(vec![("k", Value::from("'1'"))]);
        assert_eq!(shown_id(&typed(&quote), Comparison::Typed), "'''1'''");
        let composite = key(vec![
            ("a", Value::from("x#1\\")),
            ("b", Value::Number(num("1.50"))),
            ("c", Value::from("15E-1")),
        ]);
        assert_eq!(
            shown_id(&typed(&composite), Comparison::Typed),
            "x\\#1\\\\#1.5#'15E-1'"
        );
        let json = composite.match_id(Comparison::Json);
        assert_eq!(shown_id(&json, Comparison::Json), composite.id());
    }

    #[test]
    fn a_missing_or_unsuitable_key_is_named() {
        let doc = Document::new().with("id", 1).with("flag", true);
        let err = RecordKey::of(&doc, &["sk".to_owned()]).unwrap_err();
        assert!(err.message().contains("`sk`"), "{}", err.message());
        let err = RecordKey::of(&doc, &["flag".to_owned()]).unwrap_err();
        assert!(
            err.message().contains("`flag` is a bool"),
            "{}",
            err.message()
        );
    }
}
