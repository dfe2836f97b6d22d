//! Typed aggregations against the server: each result equals what the test computes from the
//! documents it indexed, and a `long` terms key beyond 2^53 comes back with every digit.

use std::collections::{BTreeMap, BTreeSet};

use store_core::search::{FieldType, IndexOptions, IndexSpec, SearchQuery as Q};
use store_core::{Document, Number, SearchIndex, Value};
use store_search::{Aggregation, AggregationResult, Aggregations, DateInterval, Stats};

use super::support::fresh;

const BIG: &str = "9007199254740993";

/// Document `i`: a tag of three, a price, a day in January 2024, a user of five, and one
/// `long` beyond what a double holds for every third document.
fn document(i: i64) -> Document {
    let mut doc = Document::new()
        .with("tag", ["red", "green", "blue"][(i % 3) as usize])
        .with(
            "price",
            (i as f64 * 2.5).to_string().parse::<Number>().unwrap(),
        )
        .with("at", format!("2024-01-{:02}T12:00:00Z", 1 + i % 4))
        .with("user", format!("user-{}", i % 5))
        .with("even", i % 2 == 0);
    if i % 3 == 0 {
        doc.insert("big", Value::Number(BIG.parse::<Number>().unwrap()));
    }
    doc
}

#[tokio::test]
async fn typed_aggregations_match_the_documents() {
    const N: i64 = 40;
    let index = fresh("aggs").await;
    index
        .create(
            &IndexSpec::new()
                .replicas(0)
                .field("tag", FieldType::Keyword)
                .field("price", FieldType::Double)
                .field("at", FieldType::Date)
                .field("user", FieldType::Keyword)
                .field("even", FieldType::Boolean)
                .field("big", FieldType::Long),
        )
        .await
        .unwrap();
    for i in 0..N {
        index
            .index(&format!("d{i}"), document(i), IndexOptions::new())
            .await
            .unwrap();
    }
    index.refresh().await.unwrap();

    let asked = Aggregations::new()
        .add("tags", Aggregation::terms("tag", 2))
        .add("bigs", Aggregation::terms("big", 10))
        .add(
            "bands",
            Aggregation::range(
                "price",
                vec![
                    (None, Some(25.0)),
                    (Some(25.0), Some(50.0)),
                    (Some(50.0), None),
                ],
            ),
        )
        .add(
            "days",
            Aggregation::date_histogram("at", DateInterval::Calendar("day".into())),
        )
        .add("price", Aggregation::stats("price"))
        .add("users", Aggregation::cardinality("user"));
    // Only the documents with an even number: the query narrows every aggregation.
    let matched: Vec<i64> = (0..N).filter(|i| i % 2 == 0).collect();
    let query = Q::term("even", true);
    let results = index.aggregate(&query, &asked).await.unwrap();
    assert_eq!(results.total, matched.len() as u64);

    let mut tag_counts: BTreeMap<u64, BTreeSet<&str>> = BTreeMap::new();
    for tag in ["red", "green", "blue"] {
        let n = matched
            .iter()
            .filter(|i| ["red", "green", "blue"][(**i % 3) as usize] == tag)
            .count();
        tag_counts.entry(n as u64).or_default().insert(tag);
    }
    let Some(AggregationResult::Terms {
        buckets,
        sum_other_doc_count,
    }) = results.get("tags")
    else {
        panic!("{results:?}")
    };
    assert_eq!(buckets.len(), 2, "size 2");
    let most = *tag_counts.keys().last().unwrap();
    assert_eq!(buckets[0].doc_count, most);
    let listed: u64 = buckets.iter().map(|b| b.doc_count).sum();
    assert_eq!(listed + sum_other_doc_count, matched.len() as u64);

    let Some(AggregationResult::Terms { buckets, .. }) = results.get("bigs") else {
        panic!()
    };
    assert_eq!(buckets.len(), 1);
    assert_eq!(
        buckets[0].key.as_number().unwrap().to_string(),
        BIG,
        "every digit"
    );
    assert_eq!(
        buckets[0].doc_count,
        matched.iter().filter(|i| *i % 3 == 0).count() as u64
    );

    let prices: Vec<f64> = matched.iter().map(|i| *i as f64 * 2.5).collect();
    let Some(AggregationResult::Range(bands)) = results.get("bands") else {
        panic!()
    };
    let expected: Vec<u64> = [(f64::MIN, 25.0), (25.0, 50.0), (50.0, f64::MAX)]
        .iter()
        .map(|(lo, hi)| prices.iter().filter(|p| **p >= *lo && **p < *hi).count() as u64)
        .collect();
    assert_eq!(
        bands.iter().map(|b| b.doc_count).collect::<Vec<_>>(),
        expected
    );
    assert_eq!((bands[0].from, bands[0].to), (None, Some(25.0)));

    let Some(AggregationResult::DateHistogram(days)) = results.get("days") else {
        panic!()
    };
    let mut per_day: BTreeMap<i64, u64> = BTreeMap::new();
    for i in &matched {
        *per_day.entry(1 + i % 4).or_default() += 1;
    }
    assert_eq!(
        days.iter().map(|d| d.doc_count).collect::<Vec<_>>(),
        per_day.values().copied().collect::<Vec<_>>()
    );
    assert_eq!(days[0].key, 1_704_067_200_000, "2024-01-01T00:00:00Z");

    let sum: f64 = prices.iter().sum();
    assert_eq!(
        results.get("price"),
        Some(&AggregationResult::Stats(Stats {
            count: prices.len() as u64,
            min: Some(0.0),
            max: prices.iter().copied().reduce(f64::max),
            avg: Some(sum / prices.len() as f64),
            sum,
        }))
    );
    let users: BTreeSet<i64> = matched.iter().map(|i| i % 5).collect();
    assert_eq!(
        results.get("users"),
        Some(&AggregationResult::Cardinality(users.len() as u64))
    );

    // Nothing matched: empty buckets, stats without min/max/avg.
    let none = index
        .aggregate(&Q::term("tag", "purple"), &asked)
        .await
        .unwrap();
    assert_eq!(none.total, 0);
    assert!(matches!(
        none.get("price"),
        Some(AggregationResult::Stats(Stats {
            count: 0,
            min: None,
            max: None,
            avg: None,
            ..
        }))
    ));
    index.drop_index().await.unwrap();
}
