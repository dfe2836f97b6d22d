//! Digests that two different kinds of store can agree on without sorting.
//!
//! A record's digest is SHA-256 over its key's canonical text and a canonical encoding of its
//! content; a collection's digest is the sum of its records' digests modulo 2^256, so it does not
//! depend on the order records were read in, and two stores agree on it exactly when they hold
//! the same records (up to SHA-256 collisions).
//!
//! The canonical encoding sorts attribute names, writes numbers in their shortest exact form
//! (`1.50` and `1.5` agree), and treats a top-level attribute holding null like an absent one
//! (a SQL row has a column for every attribute; a document does not).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use store_core::{Document, Value};

use crate::record::{Record, canonical_number};

/// How values are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Comparison {
    /// Every type counts: bytes differ from text, a set from a list.
    #[default]
    Typed,
    /// As JSON sees it: bytes compare as their base64 text, sets as lists. Use it when one side
    /// is a search index, which stores documents as JSON.
    Json,
    /// Values with their types, as [`Typed`](Self::Typed), but keys by their text alone: one
    /// side is a search index that keeps its sources as written but keys them by `_id`, which
    /// is text whatever the key it was copied from.
    TypedValues,
}

/// One record's digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordDigest(pub [u8; 32]);

impl RecordDigest {
    /// The digest of a record under `comparison`.
    pub fn of(record: &Record, comparison: Comparison) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(record.key.id().as_bytes());
        hasher.update([0]);
        // A record keyed by `_id` alone is a search document, or one copied from one: its id
        // is the key either way, whether or not the document also holds it as an attribute
        // (a document store keyed by `_id` does, a search index does not).
        let skip = matches!(record.key.parts(), [(name, _)] if name == "_id").then_some("_id");
        let mut out = Vec::with_capacity(64);
        write_document(&mut out, &record.doc, comparison, Level::Top { skip });
        hasher.update(out);
        Self(hasher.finalize().into())
    }
}

impl fmt::Debug for RecordDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

/// A collection's order-independent digest: record digests summed modulo 2^256, and a count.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct CollectionDigest {
    sum: [u8; 32],
    count: u64,
}

impl CollectionDigest {
    /// Adds one record's digest.
    pub fn add(&mut self, digest: &RecordDigest) {
        let mut carry = 0u16;
        for i in (0..32).rev() {
            let total = u16::from(self.sum[i]) + u16::from(digest.0[i]) + carry;
            self.sum[i] = total as u8;
            carry = total >> 8;
        }
        self.count += 1;
    }

    /// How many records were added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The sum as 64 hex digits.
    pub fn hex(&self) -> String {
        hex(&self.sum)
    }
}

impl fmt::Debug for CollectionDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} records, sum {}", self.count, self.hex())
    }
}

impl fmt::Display for CollectionDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The canonical bytes of a document's content.
pub fn canonical_bytes(doc: &Document, comparison: Comparison) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    write_document(&mut out, doc, comparison, Level::Top { skip: None });
    out
}

/// Where a document being written is.
#[derive(Clone, Copy)]
enum Level<'a> {
    /// The record itself: its nulls are left out (an absent attribute and a null are one),
    /// and the attribute `skip` names, if any.
    Top { skip: Option<&'a str> },
    /// A map inside it, written whole.
    Nested,
}

fn write_document(out: &mut Vec<u8>, doc: &Document, comparison: Comparison, level: Level<'_>) {
    let mut names: Vec<(&str, &Value)> = doc
        .iter()
        .filter(|(name, value)| match level {
            Level::Top { skip } => !value.is_null() && skip != Some(*name),
            Level::Nested => true,
        })
        .collect();
    names.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push(b'{');
    for (name, value) in names {
        write_text(out, name);
        write_value(out, value, comparison);
    }
    out.push(b'}');
}

fn write_value(out: &mut Vec<u8>, value: &Value, comparison: Comparison) {
    let json = comparison == Comparison::Json;
    match value {
        Value::Null => out.push(b'0'),
        Value::Bool(b) => out.extend_from_slice(if *b { b"T" } else { b"F" }),
        Value::Number(n) => {
            out.push(b'N');
            write_text(out, &canonical_number(n));
        }
        Value::String(s) => {
            out.push(b'S');
            write_text(out, s);
        }
        Value::Bytes(b) if json => {
            out.push(b'S');
            write_text(out, &STANDARD.encode(b));
        }
        Value::Bytes(b) => {
            out.push(b'B');
            write_len(out, b.len());
            out.extend_from_slice(b);
        }
        Value::List(items) => write_seq(out, b'L', items.iter(), |o, v| {
            write_value(o, v, comparison)
        }),
        Value::Map(doc) => {
            out.push(b'M');
            write_document(out, doc, comparison, Level::Nested);
        }
        Value::StringSet(set) => {
            let tag = if json { b'L' } else { b's' };
            write_seq(out, tag, set.iter(), |o, s| {
                if json {
                    o.push(b'S');
                }
                write_text(o, s);
            });
        }
        Value::NumberSet(set) => {
            let tag = if json { b'L' } else { b'n' };
            write_seq(out, tag, set.iter(), |o, n| {
                if json {
                    o.push(b'N');
                }
                write_text(o, &canonical_number(n));
            });
        }
        Value::BytesSet(set) if json => write_seq(out, b'L', set.iter(), |o, b| {
            o.push(b'S');
            write_text(o, &STANDARD.encode(b));
        }),
        Value::BytesSet(set) => write_seq(out, b'b', set.iter(), |o, b| {
            write_len(o, b.len());
            o.extend_from_slice(b);
        }),
    }
}

fn write_seq<T>(
    out: &mut Vec<u8>,
    tag: u8,
    items: impl ExactSizeIterator<Item = T>,
    mut each: impl FnMut(&mut Vec<u8>, T),
) {
    out.push(tag);
    write_len(out, items.len());
    for item in items {
        each(out, item);
    }
}

fn write_text(out: &mut Vec<u8>, text: &str) {
    write_len(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

fn write_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u64).to_be_bytes());
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use store_core::Number;

    use super::*;
    use crate::record::RecordKey;

    fn record(doc: Document) -> Record {
        Record::from_document(doc, &["id".to_owned()]).unwrap()
    }

    #[test]
    fn order_scale_and_top_level_nulls_do_not_matter() {
        let a = record(
            Document::new()
                .with("id", 1)
                .with("x", "1.50".parse::<Number>().unwrap())
                .with("gone", Value::Null),
        );
        let b = record(
            Document::new()
                .with("x", "1.5".parse::<Number>().unwrap())
                .with("id", 1),
        );
        assert_eq!(
            RecordDigest::of(&a, Comparison::Typed),
            RecordDigest::of(&b, Comparison::Typed)
        );
    }

    #[test]
    fn any_change_of_content_key_or_type_changes_the_digest() {
        let base = Document::new().with("id", 1).with("v", "ab");
        let digest = |doc: Document| RecordDigest::of(&record(doc), Comparison::Typed);
        let d0 = digest(base.clone());
        assert_ne!(d0, digest(base.clone().with("v", "ac")));
        assert_ne!(d0, digest(base.clone().with("id", 2)));
        assert_ne!(
            d0,
            digest(
                base.clone()
                    .with("v", Value::Bytes(Bytes::from_static(b"ab")))
            )
        );
        assert_ne!(
            d0,
            digest(
                base.clone()
                    .with("v", Value::StringSet(["ab".to_owned()].into()))
            )
        );
        assert_ne!(
            d0,
            digest(
                base.clone()
                    .with("w", Value::Map(Document::new().with("n", Value::Null)))
            )
        );
        // Field boundaries cannot be shifted to make a collision.
        assert_ne!(
            digest(Document::new().with("id", 1).with("ab", "c")),
            digest(Document::new().with("id", 1).with("a", "bc"))
        );
    }

    #[test]
    fn json_comparison_sees_bytes_as_base64_and_sets_as_lists() {
        let typed = record(
            Document::new()
                .with("id", 1)
                .with("b", Value::Bytes(Bytes::from_static(b"hi")))
                .with(
                    "s",
                    Value::StringSet(["x".to_owned(), "y".to_owned()].into()),
                ),
        );
        let as_json = record(
            Document::new()
                .with("id", 1)
                .with("b", "aGk=")
                .with("s", Value::List(vec!["x".into(), "y".into()])),
        );
        assert_eq!(
            RecordDigest::of(&typed, Comparison::Json),
            RecordDigest::of(&as_json, Comparison::Json)
        );
        assert_ne!(
            RecordDigest::of(&typed, Comparison::Typed),
            RecordDigest::of(&as_json, Comparison::Typed)
        );
    }

    #[test]
    fn the_collection_digest_is_order_independent_and_wraps() {
        let records: Vec<Record> = (0..50)
            .map(|i| record(Document::new().with("id", i)))
            .collect();
        let mut forward = CollectionDigest::default();
        let mut backward = CollectionDigest::default();
        for r in &records {
            forward.add(&RecordDigest::of(r, Comparison::Typed));
        }
        for r in records.iter().rev() {
            backward.add(&RecordDigest::of(r, Comparison::Typed));
        }
        assert_eq!(forward, backward);
        assert_eq!(forward.count(), 50);
        let mut missing_one = CollectionDigest::default();
        for r in &records[1..] {
            missing_one.add(&RecordDigest::of(r, Comparison::Typed));
        }
        assert_ne!(forward.hex(), missing_one.hex());
        // 0xff..ff + 1 wraps to zero.
        let mut wrap = CollectionDigest::default();
        wrap.add(&RecordDigest([0xff; 32]));
        let mut one = [0u8; 32];
        one[31] = 1;
        wrap.add(&RecordDigest(one));
        assert_eq!(wrap.hex(), "0".repeat(64));
        let _ = RecordKey::id_only("x");
    }
}
