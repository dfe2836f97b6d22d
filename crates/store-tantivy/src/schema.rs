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
//! | `_source` | the document as written ([`crate::source`]) | stored text (bytes in indexes from before) |
//! | `_seq_no`, `_primary_term` | the document's version | stored |
//! | `_text` | tokens of text fields, with positions (phrases), packed ([`crate::packed`]) | frequencies, positions, norms |
//! | `_keyword` | values of keyword fields | frequencies (BM25 without norms) |
//! | `_value` | numbers, dates and booleans as order-preserving keys | terms only |
//! | `_fields` | every path that indexed a value, and its parent objects (`exists`) | terms only |
//! | `_sort` | per sortable path its smallest and largest value ([`crate::sort`]) | fast bytes |
//!
//! A document gives `_keyword`, `_value` and `_fields` one value each, its terms packed for the
//! `stores_terms` tokenizer ([`crate::packed::push_term`]): tantivy's cost per value (a boxed
//! token stream, a read of the value) then comes once per field, not once per term. Indexes
//! written before packing (raw tokenizer) keep one value per term; [`Fields`] tells which.

use store_core::search::DocVersion;
use store_core::search::FieldType;
use store_core::search::engine::{Exact, FieldData, POSITION_GAP, analyze, parents};
use store_core::{Document, Result, StoreError};
use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{MAX_TOKEN_LEN, PreTokenizedString, Token};

use crate::meta::{FORMAT_VERSION, OLDEST_FORMAT};
use crate::packed::{PACKED_TOKENIZER, TERMS_TOKENIZER, push_term, push_value};

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
    /// Whether `_source` is a text field. tantivy's document store writes a stored text in
    /// one copy but a stored bytes value byte by byte, so new indexes store the source (JSON
    /// text) as text; indexes written before keep their bytes field.
    pub(crate) source_text: bool,
    /// Whether `_keyword`, `_value` and `_fields` take a document's terms packed into one
    /// value ([`push_term`]); indexes written before take one value per term.
    pub(crate) packed_terms: bool,
}

/// The name of the fast field holding sort values.
pub(crate) const SORT_FIELD: &str = "_sort";
/// The name of the id field.
pub(crate) const ID_FIELD: &str = "_id";

/// The schema of a new index.
pub(crate) fn build_schema() -> Schema {
    let mut b = Schema::builder();
    b.add_text_field(ID_FIELD, STRING | STORED | FAST);
    b.add_text_field("_source", STORED);
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
    let terms = |record, norms| terms_of(TERMS_TOKENIZER, record, norms);
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
        let tokenized_by =
            |field: Field, tokenizer: &str| match schema.get_field_entry(field).field_type() {
                tantivy::schema::FieldType::Str(options) => options
                    .get_indexing_options()
                    .is_some_and(|o| o.tokenizer() == tokenizer),
                _ => false,
            };
        let text = get("_text")?;
        let packed_text = tokenized_by(text, PACKED_TOKENIZER);
        let (keyword, value, exists) = (get("_keyword")?, get("_value")?, get("_fields")?);
        let packed_terms = [keyword, value, exists]
            .into_iter()
            .all(|field| tokenized_by(field, TERMS_TOKENIZER));
        let source = get("_source")?;
        let source_text = matches!(
            schema.get_field_entry(source).field_type(),
            tantivy::schema::FieldType::Str(_)
        );
        Ok(Self {
            id: get(ID_FIELD)?,
            source,
            seq_no: get("_seq_no")?,
            primary_term: get("_primary_term")?,
            text,
            keyword,
            value,
            exists,
            sort: get(SORT_FIELD)?,
            packed_text,
            source_text,
            packed_terms,
        })
    }

    /// The format of this layout, recorded at every commit: an index in the layout of format
    /// 1 keeps that number, so builds that know only format 1 still open it.
    pub(crate) fn format(&self) -> u32 {
        if self.source_text && self.packed_terms {
            FORMAT_VERSION
        } else {
            OLDEST_FORMAT
        }
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

/// Appends the order-preserving key of a number, date or boolean in the `_value` field: 16
/// hex digits of the value as an `f64` whose bits sort as the numbers do. Numbers beyond
/// `f64`'s precision (longs over 2^53, decimals of more than ~16 digits) share a key with their
/// neighbours: range and term queries on them are approximate, as on OpenSearch's `double`
/// fields.
fn push_value_key(out: &mut String, exact: &Exact) {
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
    out.extend((0..16).rev().map(|nibble| {
        char::from_digit(((ordered >> (nibble * 4)) & 0xf) as u32, 16).unwrap_or('0')
    }));
}

/// The tantivy field and term text of an exact value of a field of type `ty`.
pub(crate) fn exact_term(
    fields: &Fields,
    ty: FieldType,
    path: &str,
    exact: &Exact,
) -> (Field, String) {
    let mut term = String::with_capacity(path.len() + 1 + exact.as_str().map_or(16, str::len));
    let field = push_exact_term(&mut term, fields, ty, path, exact);
    (field, term)
}

/// Appends the term text of [`exact_term`] to `out` and returns its field.
fn push_exact_term(
    out: &mut String,
    fields: &Fields,
    ty: FieldType,
    path: &str,
    exact: &Exact,
) -> Field {
    out.push_str(path);
    out.push(SEP);
    match (ty, exact) {
        (FieldType::Text, Exact::Str(s)) => {
            out.push_str(s);
            fields.text
        }
        (FieldType::Keyword, Exact::Str(s)) => {
            out.push_str(s);
            fields.keyword
        }
        _ => {
            push_value_key(out, exact);
            fields.value
        }
    }
}

/// The terms of one document for `_keyword`, `_value` and `_fields`: packed into one value
/// per field ([`push_term`]) or, in indexes from before packing, one value per term.
struct Terms {
    packed: bool,
    keyword: String,
    value: String,
    exists: String,
    /// The terms of an index from before packing, one value each.
    loose: Vec<(Field, String)>,
    term: String,
}

impl Terms {
    /// Room for the terms of `indexed`, so the packed values grow once at most.
    fn new(fields: &Fields, indexed: &std::collections::BTreeMap<String, FieldData>) -> Self {
        let (mut keyword, mut value, mut exists) = (0, 0, 0);
        for (path, data) in indexed {
            // A length prefix, the path and its separator, then the value or its key.
            let each = 8 + path.len();
            exists += 2 * each;
            match data.ty {
                FieldType::Text => {}
                FieldType::Keyword => {
                    keyword += data
                        .values
                        .iter()
                        .map(|v| each + v.as_str().map_or(0, str::len))
                        .sum::<usize>();
                }
                _ => value += data.values.len() * (each + 16),
            }
        }
        let packed = fields.packed_terms;
        let room = |n: usize| String::with_capacity(if packed { n } else { 0 });
        Self {
            packed,
            keyword: room(keyword),
            value: room(value),
            exists: room(exists),
            loose: Vec::new(),
            term: String::new(),
        }
    }

    /// The term of the value `exact` of `path`.
    fn add_exact(&mut self, f: &Fields, ty: FieldType, path: &str, exact: &Exact) {
        self.term.clear();
        let field = push_exact_term(&mut self.term, f, ty, path, exact);
        self.add(f, field);
    }

    /// The `_fields` term of `path`.
    fn add_exists(&mut self, f: &Fields, path: &str) {
        self.term.clear();
        self.term.push_str(path);
        self.add(f, f.exists);
    }

    fn add(&mut self, f: &Fields, field: Field) {
        let packed = if !self.packed {
            None
        } else if field == f.keyword {
            Some(&mut self.keyword)
        } else if field == f.value {
            Some(&mut self.value)
        } else if field == f.exists {
            Some(&mut self.exists)
        } else {
            // Text terms are packed for their own tokenizer by `build_doc`, never here.
            debug_assert!(false, "a term of another field than the packed three");
            None
        };
        match packed {
            Some(packed) => push_term(packed, &self.term),
            None => self.loose.push((field, self.term.clone())),
        }
    }

    /// The bytes the terms take in a document.
    fn len(&self) -> usize {
        let loose: usize = self.loose.iter().map(|(_, term)| term.len() + 5).sum();
        self.keyword.len() + self.value.len() + self.exists.len() + 15 + loose
    }

    /// Adds the terms to `doc`.
    fn finish(self, doc: &mut TantivyDocument, f: &Fields) {
        for (field, term) in self.loose {
            doc.add_text(field, term);
        }
        for (field, packed) in [
            (f.keyword, self.keyword),
            (f.value, self.value),
            (f.exists, self.exists),
        ] {
            if !packed.is_empty() {
                doc.add_text(field, packed);
            }
        }
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

/// An upper bound of the packed length of the text values of `indexed` ([`push_value`]).
fn packed_len(indexed: &std::collections::BTreeMap<String, FieldData>) -> usize {
    indexed
        .iter()
        .filter(|(_, data)| data.ty == FieldType::Text)
        .flat_map(|(path, data)| {
            data.values
                .iter()
                .map(move |v| v.as_str().map_or(0, |text| 24 + path.len() + text.len()))
        })
        .sum()
}

/// The tantivy document of one search document.
pub(crate) fn build_doc(
    fields: &Fields,
    id: &str,
    source: &Document,
    version: DocVersion,
    indexed: &std::collections::BTreeMap<String, FieldData>,
) -> TantivyDocument {
    let encoded = crate::source::encode(source);
    // Text values (whole, see `TextForm::Whole`) go to `_text`: packed for the tokenizer,
    // or analyzed here into pre-tokenized strings in indexes from before packing.
    let mut packed = String::with_capacity(if fields.packed_text {
        packed_len(indexed)
    } else {
        0
    });
    let mut tokens = Vec::new();
    let (mut next_position, mut started) = (0usize, false);
    let mut terms = Terms::new(fields, indexed);
    let mut present = Vec::with_capacity(indexed.len());
    let mut sortable = Vec::with_capacity(indexed.len());
    for (path, data) in indexed {
        present.push(path.as_str());
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
                    terms.add_exact(fields, ty, path, value);
                }
                if let (Some(min), Some(max)) = (data.values.iter().min(), data.values.iter().max())
                {
                    sortable.push((path.as_str(), min, max));
                }
            }
        }
    }
    present.sort_unstable();
    present.dedup();
    for path in present {
        terms.add_exists(fields, path);
    }
    let sort = crate::sort::encode_sort_values(&sortable);
    // Every value is ready: the document's bytes (each value and its length prefix, the two
    // counters) take one allocation rather than growing as values are added.
    let bytes = id.len() + encoded.len() + packed.len() + terms.len() + sort.len() + 48;
    let mut doc = TantivyDocument::with_capacity(bytes);
    doc.add_text(fields.id, id);
    match std::str::from_utf8(&encoded) {
        Ok(text) if fields.source_text => doc.add_text(fields.source, text),
        _ => doc.add_bytes(fields.source, &encoded),
    }
    doc.add_u64(fields.seq_no, version.seq_no);
    doc.add_u64(fields.primary_term, version.primary_term);
    if !packed.is_empty() {
        doc.add_text(fields.text, packed);
    }
    if !tokens.is_empty() {
        let text = String::new();
        doc.add_pre_tokenized_text(fields.text, PreTokenizedString { text, tokens });
    }
    terms.finish(&mut doc, fields);
    doc.add_bytes(fields.sort, &sort);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::search::IndexSpec;
    use store_core::search::engine::{Mapping, TextForm};
    use tantivy::collector::Count;
    use tantivy::query::TermQuery;
    use tantivy::schema::Schema;
    use tantivy::{DocAddress, Index, Term};

    /// The schema store-tantivy gave an index before it stored `_source` as text and packed
    /// the terms of `_keyword`, `_value` and `_fields`.
    fn schema_before_packed_terms() -> Schema {
        let mut b = Schema::builder();
        b.add_text_field(ID_FIELD, STRING | STORED | FAST);
        b.add_bytes_field("_source", STORED);
        b.add_u64_field("_seq_no", STORED);
        b.add_u64_field("_primary_term", STORED);
        let terms = |tokenizer: &str, record, norms| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer)
                    .set_index_option(record)
                    .set_fieldnorms(norms),
            )
        };
        let with_positions = IndexRecordOption::WithFreqsAndPositions;
        b.add_text_field("_text", terms(PACKED_TOKENIZER, with_positions, true));
        b.add_text_field(
            "_keyword",
            terms("raw", IndexRecordOption::WithFreqs, false),
        );
        b.add_text_field("_value", terms("raw", IndexRecordOption::Basic, false));
        b.add_text_field("_fields", terms("raw", IndexRecordOption::Basic, false));
        b.add_bytes_field(SORT_FIELD, FAST);
        b.build()
    }

    #[test]
    fn old_and_new_schemas_index_the_same_terms_and_keep_the_source() {
        let spec = IndexSpec::new()
            .field("tag", FieldType::Keyword)
            .field("n", FieldType::Long)
            .field("title", FieldType::Text);
        let mapping = Mapping::from_spec(&spec, "test").expect("mapping");
        let source = Document::new()
            .with("tag", vec!["blue", "sky\nline"])
            .with("n", 7)
            .with("title", "Rust search");
        let indexed = mapping
            .index_document_as(&source, TextForm::Whole)
            .expect("indexed");
        let version = DocVersion {
            seq_no: 1,
            primary_term: 1,
        };
        for (schema, packed) in [
            (build_schema(), true),
            (schema_before_packed_terms(), false),
        ] {
            let index = Index::create_in_ram(schema);
            crate::packed::register(&index);
            let f = Fields::of(&index.schema()).expect("fields");
            assert_eq!(
                (f.packed_terms, f.source_text, f.packed_text),
                (packed, packed, true)
            );
            let mut writer = index
                .writer_with_num_threads(1, 15_000_000)
                .expect("writer");
            let doc = build_doc(&f, "1", &source, version, &indexed.fields);
            writer.add_document(doc).expect("add");
            writer.commit().expect("commit");
            let searcher = index.reader().expect("reader").searcher();
            let seven = Exact::Num(7.into());
            let terms = [
                (f.keyword, "tag\0blue".to_owned()),
                (f.keyword, "tag\0sky\nline".to_owned()),
                exact_term(&f, FieldType::Long, "n", &seven),
                (f.exists, "tag".to_owned()),
                (f.exists, "n".to_owned()),
                (f.exists, "title".to_owned()),
                (f.text, "title\0rust".to_owned()),
            ];
            for (field, text) in terms {
                let query = TermQuery::new(
                    Term::from_field_text(field, &text),
                    IndexRecordOption::Basic,
                );
                let found = searcher.search(&query, &Count).expect("search");
                assert_eq!(found, 1, "{text:?} (packed terms: {packed})");
            }
            let stored: TantivyDocument = searcher.doc(DocAddress::new(0, 0)).expect("stored");
            let (id, entry) = crate::writer::entry_of(&stored, &f).expect("entry");
            assert_eq!((id.as_str(), entry.source), ("1", source.clone()));
        }
    }

    #[test]
    fn value_keys_are_16_hex_digits_that_sort_as_the_numbers_do() {
        let key = |n: &str| {
            let mut key = String::new();
            push_value_key(&mut key, &Exact::Num(n.parse().expect("number")));
            key
        };
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
