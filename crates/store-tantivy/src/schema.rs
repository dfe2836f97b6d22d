//! The fixed tantivy schema every index shares, and the tantivy document of one search document.
//!
//! tantivy's schemas are fixed when an index is created, while a search mapping grows with
//! every new field. So the schema does not have one tantivy field per mapped field: it has one
//! tantivy field per *kind of term*, and each term starts with the dotted path of the field it
//! belongs to and a NUL byte (`title\0rust`). Adding a field to the mapping needs no new
//! tantivy field, and a query on `title` reads exactly the terms under `title\0`.
//!
//! | tantivy field | holds | options |
//! |---|---|---|
//! | `_id` | the document id | raw term, stored, fast (sorting on `_id`, tie-breaks) |
//! | `_source` | the document as written ([`crate::source`]) | stored bytes |
//! | `_seq_no`, `_primary_term` | the document's version | stored |
//! | `_text` | tokens of text fields, with positions (phrases), packed ([`crate::packed`]) | frequencies, positions, norms |
//! | `_keyword` | values of keyword fields | frequencies (BM25 without norms) |
//! | `_value` | numbers, dates and booleans as order-preserving keys | terms only |
//! | `_fields` | every path that indexed a value, and its parent objects (`exists`) | terms only |
//! | `_sort` | per sortable path its smallest and largest value ([`crate::sort`]) | fast bytes |

use store_core::search::DocVersion;
use store_core::search::FieldType;
use store_core::search::engine::{Exact, FieldData, POSITION_GAP, analyze, parents};
use store_core::{Document, Result, StoreError};
use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{MAX_TOKEN_LEN, PreTokenizedString, Token};

use crate::packed::{PACKED_TOKENIZER, push_value};

/// The separator between a field's path and the value in a term.
pub(crate) const SEP: char = '\0';

/// The tantivy fields of the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub(crate) id: Field,
    pub(crate) source: Field,
    pub(crate) seq_no: Field,
    pub(crate) primary_term: Field,
    pub(crate) text: Field,
    pub(crate) keyword: Field,
    pub(crate) value: Field,
    pub(crate) exists: Field,
    pub(crate) sort: Field,
    /// Whether `_text` takes packed tokens ([`crate::packed`]); indexes written before
    /// packing take tantivy's pre-tokenized strings.
    pub(crate) packed_text: bool,
}

/// The name of the fast field holding sort values.
pub(crate) const SORT_FIELD: &str = "_sort";
/// The name of the id field.
pub(crate) const ID_FIELD: &str = "_id";

/// The schema of a new index.
pub(crate) fn build_schema() -> Schema {
    let mut b = Schema::builder();
    b.add_text_field(ID_FIELD, STRING | STORED | FAST);
    b.add_bytes_field("_source", STORED);
    b.add_u64_field("_seq_no", STORED);
    b.add_u64_field("_primary_term", STORED);
    let terms_of = |tokenizer: &str, record: IndexRecordOption, norms: bool| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(record)
                .set_fieldnorms(norms),
        )
    };
    let terms = |record, norms| terms_of("raw", record, norms);
    b.add_text_field(
        "_text",
        terms_of(
            PACKED_TOKENIZER,
            IndexRecordOption::WithFreqsAndPositions,
            true,
        ),
    );
    b.add_text_field("_keyword", terms(IndexRecordOption::WithFreqs, false));
    b.add_text_field("_value", terms(IndexRecordOption::Basic, false));
    b.add_text_field("_fields", terms(IndexRecordOption::Basic, false));
    b.add_bytes_field(SORT_FIELD, FAST);
    b.build()
}

impl Fields {
    /// The fields of `schema`; `InvalidInput` when it is not this crate's schema.
    pub(crate) fn of(schema: &Schema) -> Result<Self> {
        let get = |name: &str| {
            schema.get_field(name).map_err(|_| {
                StoreError::invalid_input(format!(
                    "the directory holds a tantivy index without the field `{name}`: it was not \
                     written by store-tantivy"
                ))
            })
        };
        let text = get("_text")?;
        let packed_text = match schema.get_field_entry(text).field_type() {
            tantivy::schema::FieldType::Str(options) => options
                .get_indexing_options()
                .is_some_and(|o| o.tokenizer() == PACKED_TOKENIZER),
            _ => false,
        };
        Ok(Self {
            id: get(ID_FIELD)?,
            source: get("_source")?,
            seq_no: get("_seq_no")?,
            primary_term: get("_primary_term")?,
            text,
            keyword: get("_keyword")?,
            value: get("_value")?,
            exists: get("_fields")?,
            sort: get(SORT_FIELD)?,
            packed_text,
        })
    }
}

/// `path\0value`: a term of one field.
pub(crate) fn term_text(path: &str, value: &str) -> String {
    let mut s = String::with_capacity(path.len() + 1 + value.len());
    s.push_str(path);
    s.push(SEP);
    s.push_str(value);
    s
}

/// The order-preserving key of a number, date or boolean in the `_value` field: 16 hex digits
/// of the value as an `f64` whose bits sort as the numbers do. Numbers beyond `f64`'s precision
/// (longs over 2^53, decimals of more than ~16 digits) share a key with their neighbours: range
/// and term queries on them are approximate, as on OpenSearch's `double` fields.
pub(crate) fn value_key(exact: &Exact) -> String {
    let f = match exact {
        Exact::Bool(b) => f64::from(u8::from(*b)),
        Exact::Num(n) => n.to_f64(),
        Exact::Str(_) => 0.0,
    };
    let f = if f == 0.0 { 0.0 } else { f };
    let bits = f.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    (0..16)
        .rev()
        .map(|nibble| char::from_digit(((ordered >> (nibble * 4)) & 0xf) as u32, 16).unwrap_or('0'))
        .collect()
}

/// The tantivy field and term text of an exact value of a field of type `ty`.
pub(crate) fn exact_term(
    fields: &Fields,
    ty: FieldType,
    path: &str,
    exact: &Exact,
) -> (Field, String) {
    match (ty, exact) {
        (FieldType::Text, Exact::Str(s)) => (fields.text, term_text(path, s)),
        (FieldType::Keyword, Exact::Str(s)) => (fields.keyword, term_text(path, s)),
        _ => (fields.value, term_text(path, &value_key(exact))),
    }
}

/// Refuses a document holding a term tantivy cannot index: a keyword value or a field path
/// longer than [`MAX_TOKEN_LEN`] bytes with its path (tantivy drops such a term without a
/// word, so the document could never be found by it).
pub(crate) fn check_terms(indexed: &std::collections::BTreeMap<String, FieldData>) -> Result<()> {
    let too_long = |what: String| {
        Err(StoreError::invalid_input(format!(
            "{what}: an indexed term holds at most {MAX_TOKEN_LEN} bytes with its field path"
        )))
    };
    for (path, data) in indexed {
        if path.len() + SEP.len_utf8() > MAX_TOKEN_LEN {
            return too_long(format!("the field name is {} bytes long", path.len()));
        }
        if data.ty != FieldType::Keyword {
            continue;
        }
        for value in &data.values {
            if let Exact::Str(text) = value
                && path.len() + SEP.len_utf8() + text.len() > MAX_TOKEN_LEN
            {
                return too_long(format!(
                    "the keyword value of `{}` is {} bytes long",
                    path.chars().take(64).collect::<String>(),
                    text.len()
                ));
            }
        }
    }
    Ok(())
}

/// The tantivy document of one search document.
pub(crate) fn build_doc(
    fields: &Fields,
    id: &str,
    source: &Document,
    version: DocVersion,
    indexed: &std::collections::BTreeMap<String, FieldData>,
) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_text(fields.id, id);
    doc.add_bytes(fields.source, &crate::source::encode(source));
    doc.add_u64(fields.seq_no, version.seq_no);
    doc.add_u64(fields.primary_term, version.primary_term);
    // Text values (whole, see `TextForm::Whole`) go to `_text`: packed for the tokenizer,
    // or analyzed here into pre-tokenized strings in indexes from before packing.
    let mut packed = String::new();
    let mut tokens = Vec::new();
    let (mut next_position, mut started) = (0usize, false);
    let mut present = std::collections::BTreeSet::new();
    let mut sortable = Vec::new();
    for (path, data) in indexed {
        present.insert(path.as_str());
        present.extend(parents(path));
        match data.ty {
            FieldType::Text => {
                let texts = data.values.iter().filter_map(|v| match v {
                    Exact::Str(text) => Some(text.as_str()),
                    _ => None,
                });
                for text in texts {
                    if fields.packed_text {
                        push_value(&mut packed, path, text);
                        continue;
                    }
                    // As the packed tokenizer numbers them: a gap before every value but
                    // the document's first.
                    if started {
                        next_position += POSITION_GAP as usize;
                    }
                    started = true;
                    for token in analyze(text) {
                        tokens.push(Token {
                            offset_from: 0,
                            offset_to: 0,
                            position: next_position,
                            text: term_text(path, &token),
                            position_length: 1,
                        });
                        next_position += 1;
                    }
                }
            }
            ty => {
                for value in &data.values {
                    let (field, term) = exact_term(fields, ty, path, value);
                    doc.add_text(field, term);
                }
                if let (Some(min), Some(max)) = (data.values.iter().min(), data.values.iter().max())
                {
                    sortable.push((path.as_str(), min, max));
                }
            }
        }
    }
    if !packed.is_empty() {
        doc.add_text(fields.text, packed);
    }
    if !tokens.is_empty() {
        let text = String::new();
        doc.add_pre_tokenized_text(fields.text, PreTokenizedString { text, tokens });
    }
    for path in present {
        doc.add_text(fields.exists, path);
    }
    doc.add_bytes(fields.sort, &crate::sort::encode_sort_values(&sortable));
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_keys_are_16_hex_digits_that_sort_as_the_numbers_do() {
        let key = |n: &str| value_key(&Exact::Num(n.parse().expect("number")));
        let ordered = [
            "-1e300", "-2.5", "-0.0001", "0", "1e-130", "3", "3.5", "1e300",
        ];
        let keys: Vec<String> = ordered.iter().map(|n| key(n)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        assert_eq!(key("0"), format!("{:016x}", 1u64 << 63));
        assert_eq!(key("-0"), key("0"));
        assert!(keys.iter().all(|k| {
            k.len() == 16
                && k.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        }));
    }
}
