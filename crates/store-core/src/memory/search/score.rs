//! BM25 relevance, as Lucene computes it (k1 = 1.2, b = 0.75, without Lucene's lossy length
//! encoding): `idf × tf / (tf + k1 × (1 − b + b × len / avg_len))` with
//! `idf = ln(1 + (N − df + 0.5) / (df + 0.5))`, where `N` counts the documents that have the field.
//! Keyword fields have no length norm: their factor is `tf / (tf + k1)`.

use crate::search::engine::{Exact, FieldData};

/// Term frequency saturation.
pub(super) const K1: f64 = 1.2;
/// Length normalization.
pub(super) const B: f64 = 0.75;

/// How many times `term` occurs in a field (its term frequency).
pub(super) fn frequency(data: &FieldData, term: &Exact) -> usize {
    data.values.iter().filter(|v| *v == term).count()
}

/// Collection statistics of one field for the terms of one query.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Bm25 {
    idf: Vec<f64>,
    avg_len: f64,
    norms: bool,
}

impl Bm25 {
    /// Gathers the statistics of `terms` in a field over the searchable documents.
    ///
    /// `norms` is true for text fields (length normalization) and false for keyword fields.
    pub(super) fn gather<'a>(
        fields: impl Iterator<Item = Option<&'a FieldData>>,
        terms: &[Exact],
        norms: bool,
    ) -> Self {
        let mut doc_count = 0u64;
        let mut total_len = 0u64;
        let mut df = vec![0u64; terms.len()];
        for data in fields.flatten() {
            if data.values.is_empty() {
                continue;
            }
            doc_count += 1;
            total_len += data.values.len() as u64;
            for (i, term) in terms.iter().enumerate() {
                if data.values.contains(term) {
                    df[i] += 1;
                }
            }
        }
        let n = doc_count as f64;
        let idf = df
            .iter()
            .map(|&df| {
                let df = df as f64;
                (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
            })
            .collect();
        let avg_len = if doc_count == 0 {
            1.0
        } else {
            total_len as f64 / n
        };
        Self {
            idf,
            avg_len,
            norms,
        }
    }

    /// The idf of the `i`-th term.
    pub(super) fn idf(&self, i: usize) -> f64 {
        self.idf[i]
    }

    /// The score of weight `idf` at frequency `tf` in a field of `len` tokens.
    pub(super) fn score(&self, idf: f64, tf: f64, len: usize) -> f64 {
        if tf <= 0.0 {
            return 0.0;
        }
        let norm = if self.norms {
            1.0 - B + B * (len as f64) / self.avg_len
        } else {
            1.0
        };
        idf * tf / (tf + K1 * norm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(tokens: &[&str]) -> FieldData {
        FieldData {
            ty: crate::search::FieldType::Text,
            values: tokens.iter().map(|t| Exact::Str((*t).to_owned())).collect(),
            positions: Some((0..tokens.len() as u32).collect()),
        }
    }

    fn score_of(bm25: &Bm25, data: &FieldData, term: &Exact) -> f64 {
        bm25.score(bm25.idf(0), frequency(data, term) as f64, data.values.len())
    }

    #[test]
    fn more_occurrences_score_higher_at_equal_length() {
        let docs = [
            text(&["rust", "rust", "rust", "go"]),
            text(&["rust", "go", "go", "go"]),
        ];
        let term = Exact::Str("rust".into());
        let bm25 = Bm25::gather(docs.iter().map(Some), std::slice::from_ref(&term), true);
        assert!(score_of(&bm25, &docs[0], &term) > score_of(&bm25, &docs[1], &term));
    }

    #[test]
    fn shorter_fields_score_higher_at_equal_frequency() {
        let docs = [
            text(&["rust"]),
            text(&["rust", "and", "many", "other", "words"]),
        ];
        let term = Exact::Str("rust".into());
        let bm25 = Bm25::gather(docs.iter().map(Some), std::slice::from_ref(&term), true);
        assert!(score_of(&bm25, &docs[0], &term) > score_of(&bm25, &docs[1], &term));
    }

    #[test]
    fn rare_terms_weigh_more_and_idf_matches_lucene() {
        let docs = [text(&["a", "b"]), text(&["a"]), text(&["a"]), text(&["c"])];
        let terms = [Exact::Str("a".into()), Exact::Str("b".into())];
        let bm25 = Bm25::gather(docs.iter().map(Some).chain([None]), &terms, true);
        assert!(bm25.idf(1) > bm25.idf(0));
        let expected = (1.0f64 + (4.0 - 3.0 + 0.5) / (3.0 + 0.5)).ln();
        assert!((bm25.idf(0) - expected).abs() < 1e-12);
        // One occurrence in a field of average length: idf × 1 / (1 + k1).
        let avg = Bm25::gather([Some(&text(&["x"]))].into_iter(), &terms, true);
        assert!((avg.score(1.0, 1.0, 1) - 1.0 / (1.0 + K1)).abs() < 1e-12);
    }
}
