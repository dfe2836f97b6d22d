//! Queries: compiled against the mapping and the snapshot's statistics, then matched and scored
//! document by document.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::score::{Bm25, frequency};
use super::state::{DocEntry, Snapshot};
use crate::error::{Result, StoreError};
use crate::search::engine::{Exact, FieldData, Mapping, Resolved, analyze, coerce_for_query};
use crate::search::{FieldType, MatchOperator, RangeBounds, SearchQuery};
use crate::value::Value;

/// A query ready to run: fields resolved, values coerced, statistics gathered.
#[derive(Debug)]
pub(super) enum Compiled {
    /// Every document, score 1.
    All,
    /// No document (unmapped field, nothing to search for).
    Nothing,
    /// Terms of a text or keyword field, scored with BM25; any or all of them must occur.
    Scored {
        field: String,
        terms: Vec<Exact>,
        require_all: bool,
        bm25: Bm25,
    },
    /// Terms at consecutive positions of a text field, scored with BM25 on the phrase frequency.
    Phrase {
        field: String,
        terms: Vec<Exact>,
        bm25: Bm25,
    },
    /// Any of these exact values; constant score.
    AnyOf { field: String, values: Vec<Exact> },
    /// A value within every bound; constant score.
    Range {
        field: String,
        bounds: Vec<(Bound, Exact)>,
    },
    /// A keyword or token starting with the prefix; constant score.
    Prefix { field: String, prefix: String },
    /// The field (or, for an object, any field under it) has a value; constant score.
    Exists { field: String, object: bool },
    /// A boolean combination.
    Bool {
        must: Vec<Compiled>,
        should: Vec<Compiled>,
        must_not: Vec<Compiled>,
        filter: Vec<Compiled>,
        min_should: usize,
    },
}

/// One side of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bound {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// Compiles a query for the given mapping and searchable snapshot.
pub(super) fn compile(
    query: &SearchQuery,
    mapping: &Mapping,
    snapshot: &Snapshot,
) -> Result<Compiled> {
    let stats = |field: &str, terms: &[Exact], norms: bool| {
        Bm25::gather(
            snapshot.docs.values().map(|d| d.fields.get(field)),
            terms,
            norms,
        )
    };
    Ok(match query {
        SearchQuery::MatchAll => Compiled::All,
        SearchQuery::Match {
            field,
            text,
            operator,
        } => match mapping.resolve(field) {
            Resolved::Leaf(FieldType::Text) => {
                let terms: Vec<Exact> = analyze(text).into_iter().map(Exact::Str).collect();
                if terms.is_empty() {
                    return Ok(Compiled::Nothing);
                }
                Compiled::Scored {
                    bm25: stats(field, &terms, true),
                    field: field.clone(),
                    terms,
                    require_all: *operator == MatchOperator::And,
                }
            }
            _ => compile_exact(field, &Value::String(text.clone()), mapping, &stats)?,
        },
        SearchQuery::MatchPhrase { field, text } => match mapping.resolve(field) {
            Resolved::Leaf(FieldType::Text) => {
                let terms: Vec<Exact> = analyze(text).into_iter().map(Exact::Str).collect();
                match terms.len() {
                    0 => Compiled::Nothing,
                    1 => Compiled::Scored {
                        bm25: stats(field, &terms, true),
                        field: field.clone(),
                        terms,
                        require_all: true,
                    },
                    _ => Compiled::Phrase {
                        bm25: stats(field, &terms, true),
                        field: field.clone(),
                        terms,
                    },
                }
            }
            _ => compile_exact(field, &Value::String(text.clone()), mapping, &stats)?,
        },
        SearchQuery::Term { field, value } => compile_exact(field, value, mapping, &stats)?,
        SearchQuery::Terms { field, values } => match mapping.resolve(field) {
            Resolved::Leaf(ty) if !values.is_empty() => Compiled::AnyOf {
                field: field.clone(),
                values: values
                    .iter()
                    .map(|v| coerce_for_query(ty, v, field))
                    .collect::<Result<_>>()?,
            },
            _ => Compiled::Nothing,
        },
        SearchQuery::Range { field, bounds } => compile_range(field, bounds, mapping)?,
        SearchQuery::Prefix { field, prefix } => match mapping.resolve(field) {
            Resolved::Leaf(FieldType::Text | FieldType::Keyword) => Compiled::Prefix {
                field: field.clone(),
                prefix: prefix.clone(),
            },
            Resolved::Leaf(ty) => {
                return Err(StoreError::invalid_input(format!(
                    "prefix queries need a text or keyword field, and `{field}` is {}",
                    ty.as_str()
                )));
            }
            Resolved::Object | Resolved::Unmapped => Compiled::Nothing,
        },
        SearchQuery::Exists { field } => match mapping.resolve(field) {
            Resolved::Leaf(_) => Compiled::Exists {
                field: field.clone(),
                object: false,
            },
            Resolved::Object => Compiled::Exists {
                field: field.clone(),
                object: true,
            },
            Resolved::Unmapped => Compiled::Nothing,
        },
        SearchQuery::Bool(b) => {
            let all = |qs: &[SearchQuery]| -> Result<Vec<Compiled>> {
                qs.iter().map(|q| compile(q, mapping, snapshot)).collect()
            };
            let min_should =
                usize::from(b.must.is_empty() && b.filter.is_empty() && !b.should.is_empty());
            Compiled::Bool {
                must: all(&b.must)?,
                should: all(&b.should)?,
                must_not: all(&b.must_not)?,
                filter: all(&b.filter)?,
                min_should,
            }
        }
    })
}

/// An exact-value query: a scored term on text (one unanalyzed token) and keyword fields, a
/// constant-score equality on numbers, dates and booleans.
fn compile_exact(
    field: &str,
    value: &Value,
    mapping: &Mapping,
    stats: &dyn Fn(&str, &[Exact], bool) -> Bm25,
) -> Result<Compiled> {
    Ok(match mapping.resolve(field) {
        Resolved::Leaf(ty @ (FieldType::Text | FieldType::Keyword)) => {
            let terms = vec![coerce_for_query(ty, value, field)?];
            Compiled::Scored {
                bm25: stats(field, &terms, ty == FieldType::Text),
                field: field.to_owned(),
                terms,
                require_all: true,
            }
        }
        Resolved::Leaf(ty) => Compiled::AnyOf {
            field: field.to_owned(),
            values: vec![coerce_for_query(ty, value, field)?],
        },
        Resolved::Object | Resolved::Unmapped => Compiled::Nothing,
    })
}

fn compile_range(field: &str, bounds: &RangeBounds, mapping: &Mapping) -> Result<Compiled> {
    let Resolved::Leaf(ty) = mapping.resolve(field) else {
        return Ok(Compiled::Nothing);
    };
    let mut coerced = Vec::new();
    for (bound, value) in [
        (Bound::Gt, &bounds.gt),
        (Bound::Gte, &bounds.gte),
        (Bound::Lt, &bounds.lt),
        (Bound::Lte, &bounds.lte),
    ] {
        if let Some(value) = value {
            coerced.push((bound, coerce_for_query(ty, value, field)?));
        }
    }
    Ok(Compiled::Range {
        field: field.to_owned(),
        bounds: coerced,
    })
}

impl Compiled {
    /// The document's score if it matches.
    pub(super) fn eval(&self, doc: &DocEntry) -> Option<f64> {
        match self {
            Compiled::All => Some(1.0),
            Compiled::Nothing => None,
            Compiled::Scored {
                field,
                terms,
                require_all,
                bm25,
            } => {
                let data = doc.fields.get(field)?;
                let mut matched = 0;
                let mut score = 0.0;
                for (i, term) in terms.iter().enumerate() {
                    let tf = frequency(data, term);
                    if tf > 0 {
                        matched += 1;
                        score += bm25.score(bm25.idf(i), tf as f64, data.values.len());
                    }
                }
                let enough = if *require_all {
                    matched == terms.len()
                } else {
                    matched > 0
                };
                enough.then_some(score)
            }
            Compiled::Phrase { field, terms, bm25 } => {
                let data = doc.fields.get(field)?;
                let freq = phrase_frequency(data, terms);
                let idf: f64 = (0..terms.len()).map(|i| bm25.idf(i)).sum();
                (freq > 0).then(|| bm25.score(idf, freq as f64, data.values.len()))
            }
            Compiled::AnyOf { field, values } => {
                let data = doc.fields.get(field)?;
                data.values
                    .iter()
                    .any(|v| values.contains(v))
                    .then_some(1.0)
            }
            Compiled::Range { field, bounds } => {
                let data = doc.fields.get(field)?;
                data.values
                    .iter()
                    .any(|v| bounds.iter().all(|(bound, limit)| within(v, *bound, limit)))
                    .then_some(1.0)
            }
            Compiled::Prefix { field, prefix } => {
                let data = doc.fields.get(field)?;
                data.values
                    .iter()
                    .any(|v| v.as_str().is_some_and(|s| s.starts_with(prefix.as_str())))
                    .then_some(1.0)
            }
            Compiled::Exists { field, object } => {
                let present = doc.fields.contains_key(field)
                    || (*object && {
                        let prefix = format!("{field}.");
                        doc.fields
                            .range(prefix.clone()..)
                            .next()
                            .is_some_and(|(k, _)| k.starts_with(&prefix))
                    });
                present.then_some(1.0)
            }
            Compiled::Bool {
                must,
                should,
                must_not,
                filter,
                min_should,
            } => {
                let mut score = 0.0;
                for q in must {
                    score += q.eval(doc)?;
                }
                for q in filter {
                    q.eval(doc)?;
                }
                if must_not.iter().any(|q| q.eval(doc).is_some()) {
                    return None;
                }
                let mut matched = 0;
                for q in should {
                    if let Some(s) = q.eval(doc) {
                        matched += 1;
                        score += s;
                    }
                }
                if matched < *min_should {
                    return None;
                }
                if must.is_empty() && should.is_empty() {
                    // An empty bool matches everything like match_all; filters alone do not score.
                    let empty = filter.is_empty() && must_not.is_empty();
                    return Some(if empty { 1.0 } else { 0.0 });
                }
                Some(score)
            }
        }
    }
}

fn within(value: &Exact, bound: Bound, limit: &Exact) -> bool {
    let ord = value.cmp(limit);
    match bound {
        Bound::Gt => ord == Ordering::Greater,
        Bound::Gte => ord != Ordering::Less,
        Bound::Lt => ord == Ordering::Less,
        Bound::Lte => ord != Ordering::Greater,
    }
}

/// How many times the terms occur at consecutive positions.
fn phrase_frequency(data: &FieldData, terms: &[Exact]) -> usize {
    let Some(positions) = &data.positions else {
        return 0;
    };
    let at: HashMap<u32, &Exact> = positions.iter().copied().zip(&data.values).collect();
    positions
        .iter()
        .zip(&data.values)
        .filter(|(_, v)| **v == terms[0])
        .filter(|(start, _)| {
            terms.iter().enumerate().skip(1).all(|(k, term)| {
                u32::try_from(k)
                    .ok()
                    .and_then(|k| start.checked_add(k))
                    .and_then(|p| at.get(&p))
                    .is_some_and(|v| *v == term)
            })
        })
        .count()
}
