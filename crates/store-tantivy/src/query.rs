//! The portable query tree as tantivy queries over the path-prefixed terms of [`crate::schema`].
//!
//! | query | tantivy |
//! |---|---|
//! | `match` on text | analyzed tokens as `TermQuery`s (BM25), any (`should`) or all (`must`) |
//! | `match_phrase` on text | `PhraseQuery` on the positions of the tokens |
//! | `term`, `match` on keyword, or token of text | `TermQuery` (BM25) |
//! | `term`, `terms`, `match` on number, date, boolean; `terms` on any type | term set, constant score 1 |
//! | `range` | one range over the field's terms (numbers by their `f64` key), constant score 1 |
//! | `prefix` on keyword or text | a range of terms from the prefix, constant score 1 |
//! | `exists` | the path (or object) in `_fields`, constant score 1 |
//! | `bool` | `BooleanQuery`; `filter` clauses score 0; a bool without `must` and `should` matches every document left by its `filter` and `must_not` clauses, with score 0 (score 1 when empty) |
//!
//! Fields resolve against the mapping exactly as in the in-memory index: a query on an unmapped
//! field matches nothing, a value that does not fit its field is `InvalidInput`.

use std::ops::Bound;

use store_core::search::engine::{Mapping, Resolved, analyze, coerce_for_query};
use store_core::search::{FieldType, MatchOperator, RangeBounds, SearchQuery};
use store_core::{Result, StoreError, Value};
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, EmptyQuery, InvertedIndexRangeQuery, Occur,
    PhraseQuery, Query, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

use crate::schema::{Fields, exact_term, term_text};

/// Compiles a query against the mapping.
pub(crate) fn compile(
    query: &SearchQuery,
    mapping: &Mapping,
    f: &Fields,
) -> Result<Box<dyn Query>> {
    Ok(match query {
        SearchQuery::MatchAll => Box::new(AllQuery),
        SearchQuery::Match {
            field,
            text,
            operator,
        } => match mapping.resolve(field) {
            Resolved::Leaf(FieldType::Text) => {
                let occur = match operator {
                    MatchOperator::Or => Occur::Should,
                    MatchOperator::And => Occur::Must,
                };
                tokens_query(f, field, text, occur)
            }
            _ => compile_exact(field, &Value::String(text.clone()), mapping, f)?,
        },
        SearchQuery::MatchPhrase { field, text } => match mapping.resolve(field) {
            Resolved::Leaf(FieldType::Text) => {
                let tokens = analyze(text);
                match tokens.len() {
                    0 => Box::new(EmptyQuery),
                    1 => tokens_query(f, field, text, Occur::Must),
                    _ => Box::new(PhraseQuery::new(
                        tokens
                            .iter()
                            .map(|t| Term::from_field_text(f.text, &term_text(field, t)))
                            .collect(),
                    )),
                }
            }
            _ => compile_exact(field, &Value::String(text.clone()), mapping, f)?,
        },
        SearchQuery::Term { field, value } => compile_exact(field, value, mapping, f)?,
        SearchQuery::Terms { field, values } => match mapping.resolve(field) {
            Resolved::Leaf(ty) if !values.is_empty() => {
                let terms = values
                    .iter()
                    .map(|v| {
                        let exact = coerce_for_query(ty, v, field)?;
                        let (tf, text) = exact_term(f, ty, field, &exact);
                        Ok(Term::from_field_text(tf, &text))
                    })
                    .collect::<Result<Vec<_>>>()?;
                constant(Box::new(TermSetQuery::new(terms)), 1.0)
            }
            _ => Box::new(EmptyQuery),
        },
        SearchQuery::Range { field, bounds } => compile_range(field, bounds, mapping, f)?,
        SearchQuery::Prefix { field, prefix } => match mapping.resolve(field) {
            Resolved::Leaf(ty @ (FieldType::Text | FieldType::Keyword)) => {
                let tf = if ty == FieldType::Text {
                    f.text
                } else {
                    f.keyword
                };
                let start = term_text(field, prefix).into_bytes();
                let mut end = start.clone();
                // No UTF-8 text has the byte 0xFF: every term with the prefix sorts below this.
                end.push(0xFF);
                range(tf, Bound::Included(start), Bound::Excluded(end))
            }
            Resolved::Leaf(ty) => {
                return Err(StoreError::invalid_input(format!(
                    "prefix queries need a text or keyword field, and `{field}` is {}",
                    ty.as_str()
                )));
            }
            Resolved::Object | Resolved::Unmapped => Box::new(EmptyQuery),
        },
        SearchQuery::Exists { field } => match mapping.resolve(field) {
            Resolved::Leaf(_) | Resolved::Object => constant(
                Box::new(TermQuery::new(
                    Term::from_field_text(f.exists, field),
                    IndexRecordOption::Basic,
                )),
                1.0,
            ),
            Resolved::Unmapped => Box::new(EmptyQuery),
        },
        SearchQuery::Bool(b) => {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for q in &b.must {
                clauses.push((Occur::Must, compile(q, mapping, f)?));
            }
            for q in &b.should {
                clauses.push((Occur::Should, compile(q, mapping, f)?));
            }
            for q in &b.filter {
                clauses.push((Occur::Must, constant(compile(q, mapping, f)?, 0.0)));
            }
            for q in &b.must_not {
                clauses.push((Occur::MustNot, compile(q, mapping, f)?));
            }
            if b.must.is_empty() && b.should.is_empty() {
                if b.filter.is_empty() && b.must_not.is_empty() {
                    return Ok(Box::new(AllQuery));
                }
                // Filters and exclusions alone match what they leave of every document, with
                // score 0 (tantivy matches nothing with exclusions alone).
                clauses.push((Occur::Must, constant(Box::new(AllQuery), 0.0)));
            }
            Box::new(BooleanQuery::new(clauses))
        }
    })
}

fn constant(query: Box<dyn Query>, score: f32) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(query, score))
}

fn range(field: Field, lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> Box<dyn Query> {
    let term = |b: Vec<u8>| Term::from_field_bytes(field, &b);
    constant(
        Box::new(InvertedIndexRangeQuery::new(
            lower.map(term),
            upper.map(term),
        )),
        1.0,
    )
}

/// The analyzed tokens of `text` on a text field, combined with `occur`.
fn tokens_query(f: &Fields, field: &str, text: &str, occur: Occur) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = analyze(text)
        .iter()
        .map(|token| {
            let term = Term::from_field_text(f.text, &term_text(field, token));
            let q: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
            (occur, q)
        })
        .collect();
    match clauses.len() {
        0 => Box::new(EmptyQuery),
        1 => clauses
            .pop()
            .map(|(_, q)| q)
            .unwrap_or_else(|| Box::new(EmptyQuery)),
        _ => Box::new(BooleanQuery::new(clauses)),
    }
}

/// An exact-value query: a scored term on text (one unanalyzed token) and keyword fields, a
/// constant-score equality on numbers, dates and booleans.
fn compile_exact(
    field: &str,
    value: &Value,
    mapping: &Mapping,
    f: &Fields,
) -> Result<Box<dyn Query>> {
    Ok(match mapping.resolve(field) {
        Resolved::Leaf(ty @ (FieldType::Text | FieldType::Keyword)) => {
            let exact = coerce_for_query(ty, value, field)?;
            let (tf, text) = exact_term(f, ty, field, &exact);
            Box::new(TermQuery::new(
                Term::from_field_text(tf, &text),
                IndexRecordOption::WithFreqs,
            ))
        }
        Resolved::Leaf(ty) => {
            let exact = coerce_for_query(ty, value, field)?;
            let (tf, text) = exact_term(f, ty, field, &exact);
            constant(
                Box::new(TermQuery::new(
                    Term::from_field_text(tf, &text),
                    IndexRecordOption::Basic,
                )),
                1.0,
            )
        }
        Resolved::Object | Resolved::Unmapped => Box::new(EmptyQuery),
    })
}

/// One range over the terms of the field: the strictest lower and upper bounds given.
fn compile_range(
    field: &str,
    bounds: &RangeBounds,
    mapping: &Mapping,
    f: &Fields,
) -> Result<Box<dyn Query>> {
    let Resolved::Leaf(ty) = mapping.resolve(field) else {
        return Ok(Box::new(EmptyQuery));
    };
    let key = |v: &Value| -> Result<(Field, Vec<u8>)> {
        let exact = coerce_for_query(ty, v, field)?;
        let (tf, text) = exact_term(f, ty, field, &exact);
        Ok((tf, text.into_bytes()))
    };
    let mut tf = match ty {
        FieldType::Text => f.text,
        FieldType::Keyword => f.keyword,
        _ => f.value,
    };
    let start = term_text(field, "").into_bytes();
    let mut lower = Bound::Included(start.clone());
    let mut upper = {
        let mut end = start;
        end.push(0xFF);
        Bound::Excluded(end)
    };
    for (value, strict) in [(&bounds.gt, true), (&bounds.gte, false)] {
        if let Some(v) = value {
            let (field_of, k) = key(v)?;
            tf = field_of;
            let candidate = if strict {
                Bound::Excluded(k)
            } else {
                Bound::Included(k)
            };
            lower = stricter_lower(lower, candidate);
        }
    }
    for (value, strict) in [(&bounds.lt, true), (&bounds.lte, false)] {
        if let Some(v) = value {
            let (field_of, k) = key(v)?;
            tf = field_of;
            let candidate = if strict {
                Bound::Excluded(k)
            } else {
                Bound::Included(k)
            };
            upper = stricter_upper(upper, candidate);
        }
    }
    Ok(range(tf, lower, upper))
}

fn bound_key(b: &Bound<Vec<u8>>) -> &[u8] {
    match b {
        Bound::Included(k) | Bound::Excluded(k) => k,
        Bound::Unbounded => &[],
    }
}

fn stricter_lower(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match bound_key(&a).cmp(bound_key(&b)) {
        std::cmp::Ordering::Greater => a,
        std::cmp::Ordering::Less => b,
        std::cmp::Ordering::Equal if matches!(a, Bound::Excluded(_)) => a,
        std::cmp::Ordering::Equal => b,
    }
}

fn stricter_upper(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match bound_key(&a).cmp(bound_key(&b)) {
        std::cmp::Ordering::Less => a,
        std::cmp::Ordering::Greater => b,
        std::cmp::Ordering::Equal if matches!(a, Bound::Excluded(_)) => a,
        std::cmp::Ordering::Equal => b,
    }
}
