//! The corpus against a [`DocumentStore`] keyed by a string partition key `pk` alone.

use std::str::FromStr;

use futures::TryStreamExt;
use store_core::document::{GetItemOptions, PutItemOptions, Query};
use store_core::{DocKey, Document, DocumentStore, Number, Value};

use super::{Failure, Report, corpus, same};

/// Puts `item` and reads it back by `pk` (consistently): equal, or the put's error.
async fn round_trip(store: &dyn DocumentStore, pk: &str, item: Document) -> Result<(), Failure> {
    store.put(item.clone(), PutItemOptions::default()).await?;
    let got = store
        .get(
            &DocKey::partition(pk.to_owned()),
            GetItemOptions::new().consistent(),
        )
        .await?
        .ok_or_else(|| Failure::Breach("acknowledged, then not found".into()))?;
    same("the item", &got, &item)
}

/// A map nested `depth` levels deep around a number.
pub fn nested(depth: usize) -> Value {
    (0..depth).fold(Value::from(1), |inner, _| {
        Value::Map(Document::new().with("l", inner))
    })
}

/// Runs every entry that applies to a document store on `store` (a table keyed by a string
/// `pk`), then checks it still works. `report` names the backend (and any declared quirks).
pub async fn run(store: &dyn DocumentStore, mut report: Report) {
    let corpus = corpus();
    for entry in &corpus.texts {
        let item = Document::new()
            .with("pk", entry.text.clone())
            .with("what", "key");
        report
            .entry(
                format!("key: {}", entry.name),
                round_trip(store, &entry.text, item),
            )
            .await;
    }
    for (i, entry) in corpus.texts.iter().enumerate() {
        let pk = format!("value-{i}");
        let item = Document::new()
            .with("pk", pk.clone())
            .with("v", entry.text.clone());
        report
            .entry(
                format!("value: {}", entry.name),
                round_trip(store, &pk, item),
            )
            .await;
    }
    for (i, entry) in corpus.attribute_names.iter().enumerate() {
        let pk = format!("name-{i}");
        let item = Document::new()
            .with("pk", pk.clone())
            .with(entry.text.clone(), 1);
        report
            .entry(
                format!("attribute name: {}", entry.name),
                round_trip(store, &pk, item),
            )
            .await;
    }
    for (i, entry) in corpus.numbers.iter().enumerate() {
        let pk = format!("number-{i}");
        report
            .entry(format!("number: {}", entry.name), async {
                let number = Number::from_str(&entry.text)?;
                let item = Document::new().with("pk", pk.clone()).with("n", number);
                round_trip(store, &pk, item).await
            })
            .await;
    }
    for depth in &corpus.nesting_depths {
        let pk = format!("depth-{depth}");
        let item = Document::new()
            .with("pk", pk.clone())
            .with("d", nested(*depth));
        report
            .entry(format!("nested {depth} deep"), round_trip(store, &pk, item))
            .await;
    }
    for size in &corpus.item_sizes {
        let pk = format!("size-{size}");
        let item = Document::new()
            .with("pk", pk.clone())
            .with("p", "x".repeat(*size));
        report
            .entry(
                format!("attribute of {size} bytes"),
                round_trip(store, &pk, item),
            )
            .await;
    }
    for (first, second) in &corpus.normalization_twins {
        report
            .entry(format!("twin keys {first:?} / {second:?}"), async {
                for (pk, who) in [(first, "first"), (second, "second")] {
                    let item = Document::new().with("pk", pk.clone()).with("who", who);
                    store.put(item, PutItemOptions::default()).await?;
                }
                for (pk, who) in [(first, "first"), (second, "second")] {
                    let got = store
                        .get(
                            &DocKey::partition(pk.clone()),
                            GetItemOptions::new().consistent(),
                        )
                        .await?;
                    let got = got.and_then(|d| d.get("who").cloned());
                    same(&format!("twin {pk:?}"), &got, &Some(Value::from(who)))?;
                }
                Ok(())
            })
            .await;
    }
    still_works(store, &mut report).await;
    report.finish();
}

/// A plain write, read and query after the corpus.
async fn still_works(store: &dyn DocumentStore, report: &mut Report) {
    let item = Document::new().with("pk", "after").with("ok", true);
    let outcome = async {
        round_trip(store, "after", item.clone()).await?;
        let found: Vec<Document> = store
            .query(Query::partition("after".to_owned()))
            .try_collect()
            .await?;
        same("the query after the corpus", &found, &vec![item])
    }
    .await;
    if let Err(e) = outcome {
        report.breach(format!("the store no longer works normally: {e}"));
    }
}
