//! The corpus against a [`SearchIndex`]: hostile values, ids, field names, numbers, depths
//! and query texts.

use std::str::FromStr;

use store_core::search::{
    FieldType, IndexOptions, IndexSpec, MatchOperator, SearchQuery, SearchRequest,
};
use store_core::{Document, Number, SearchIndex, Value};

use super::documents::nested;
use super::{Failure, Report, corpus, same};

/// Indexes `doc` under `id` and gets it back: equal, or the index's error.
async fn round_trip(index: &dyn SearchIndex, id: &str, doc: Document) -> Result<(), Failure> {
    index
        .index(id, doc.clone(), IndexOptions::default())
        .await?;
    let got = index
        .get(id)
        .await?
        .ok_or_else(|| Failure::Breach("acknowledged, then not found".into()))?;
    same("the document", &got.source, &doc)?;
    same("the id", &got.id.as_str(), &id)
}

/// Runs every entry that applies to a search index on `index` (not yet created: it is
/// created with a keyword field `k` and a text field `t`), then checks it still works.
/// `report` names the backend (and any declared quirks).
pub async fn run(index: &dyn SearchIndex, mut report: Report) {
    let corpus = corpus();
    let spec = IndexSpec::new()
        .field("k", FieldType::Keyword)
        .field("t", FieldType::Text);
    if let Err(e) = index.create(&spec).await {
        report.breach(format!("creating the index failed: {e}"));
        report.finish();
        return;
    }
    let mut findable = Vec::new();
    for (i, entry) in corpus.texts.iter().enumerate() {
        let doc = Document::new()
            .with("k", entry.text.clone())
            .with("t", entry.text.clone());
        if report
            .entry(
                format!("value: {}", entry.name),
                round_trip(index, &format!("text-{i}"), doc),
            )
            .await
        {
            findable.push(entry);
        }
    }
    for entry in &corpus.texts {
        let doc = Document::new().with("k", "by id");
        report
            .entry(
                format!("id: {}", entry.name),
                round_trip(index, &entry.text, doc),
            )
            .await;
    }
    for (i, entry) in corpus.attribute_names.iter().enumerate() {
        let doc = Document::new().with(entry.text.clone(), 1);
        report
            .entry(
                format!("field name: {}", entry.name),
                round_trip(index, &format!("field-{i}"), doc),
            )
            .await;
    }
    for (i, entry) in corpus.numbers.iter().enumerate() {
        report
            .entry(format!("number: {}", entry.name), async {
                let doc = Document::new().with("n", Number::from_str(&entry.text)?);
                round_trip(index, &format!("number-{i}"), doc).await
            })
            .await;
    }
    for depth in &corpus.nesting_depths {
        let doc = Document::new().with("d", nested(*depth));
        report
            .entry(
                format!("nested {depth} deep"),
                round_trip(index, &format!("depth-{depth}"), doc),
            )
            .await;
    }
    for (first, second) in &corpus.normalization_twins {
        report
            .entry(format!("twin ids {first:?} / {second:?}"), async {
                round_trip(index, first, Document::new().with("k", "first")).await?;
                round_trip(index, second, Document::new().with("k", "second")).await?;
                let got = index.get(first).await?.map(|d| d.source);
                same(
                    &format!("twin {first:?}"),
                    &got,
                    &Some(Document::new().with("k", "first")),
                )
            })
            .await;
    }
    if let Err(e) = index.refresh().await {
        report.breach(format!("refresh after the corpus failed: {e}"));
    }
    // Each stored value is found by an exact term query, once.
    for entry in findable {
        report
            .entry(format!("term query: {}", entry.name), async {
                let query = SearchQuery::Term {
                    field: "k".into(),
                    value: Value::from(entry.text.clone()),
                };
                same("the term query's count", &index.count(&query).await?, &1)
            })
            .await;
    }
    for entry in &corpus.search_texts {
        let queries = [
            (
                "Match",
                SearchQuery::Match {
                    field: "t".into(),
                    text: entry.text.clone(),
                    operator: MatchOperator::And,
                },
            ),
            (
                "MatchPhrase",
                SearchQuery::MatchPhrase {
                    field: "t".into(),
                    text: entry.text.clone(),
                },
            ),
            (
                "Prefix",
                SearchQuery::Prefix {
                    field: "k".into(),
                    prefix: entry.text.clone(),
                },
            ),
        ];
        for (kind, query) in queries {
            report
                .entry(format!("{kind} query: {}", entry.name), async {
                    index.search(&SearchRequest::new(query)).await?;
                    Ok(())
                })
                .await;
        }
    }
    let after = Document::new().with("k", "after").with("t", "still works");
    if let Err(e) = round_trip(index, "after", after).await {
        report.breach(format!("the index no longer works normally: {e}"));
    }
    report.finish();
}
