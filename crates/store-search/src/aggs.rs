//! Typed aggregations: the common ones (terms, range, date histogram, stats, cardinality)
//! written as Rust values and read back as typed results, beside the raw JSON of
//! [`OpenSearchIndex::search_with_aggregations`].
//!
//! Bucket keys are read from the exact response text, so a `long` key beyond 2^53 keeps every
//! digit. Metric values (stats, range bounds) are what the server computes: doubles.

use opensearch::http::Method;
use serde_json::{Map, Value as Json, json};
use store_core::search::{SearchQuery, SearchRequest};
use store_core::{Result, StoreError, Value};

use crate::error::{BACKEND, ConflictMeaning};
use crate::http::Body;
use crate::index::OpenSearchIndex;
use crate::json::{lookup, lookup_u64};
use crate::query::query_dsl;

/// The interval of a date histogram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateInterval {
    /// A calendar unit: `minute`, `hour`, `day`, `week`, `month`, `quarter` or `year`
    /// (`calendar_interval`; months and years have their real lengths).
    Calendar(String),
    /// A fixed length such as `30m`, `12h` or `7d` (`fixed_interval`).
    Fixed(String),
}

/// One aggregation over the documents a query matches.
#[derive(Debug, Clone, PartialEq)]
pub enum Aggregation {
    /// The `size` most frequent values of a keyword, numeric or boolean field.
    Terms {
        /// The field.
        field: String,
        /// How many buckets at most.
        size: usize,
    },
    /// Documents counted in numeric ranges, each `[from, to)`; `None` is unbounded.
    Range {
        /// The field.
        field: String,
        /// The ranges, in the order the buckets come back.
        ranges: Vec<(Option<f64>, Option<f64>)>,
    },
    /// Documents counted per date interval.
    DateHistogram {
        /// The date field.
        field: String,
        /// The interval.
        interval: DateInterval,
    },
    /// Count, min, max, average and sum of a numeric field.
    Stats {
        /// The field.
        field: String,
    },
    /// The approximate number of distinct values of a field (HyperLogLog++: exact below
    /// about 3,000 values, within a few percent above).
    Cardinality {
        /// The field.
        field: String,
    },
}

impl Aggregation {
    /// `Terms` with at most `size` buckets.
    pub fn terms(field: impl Into<String>, size: usize) -> Self {
        Self::Terms {
            field: field.into(),
            size,
        }
    }

    /// `Range` over `ranges`.
    pub fn range(field: impl Into<String>, ranges: Vec<(Option<f64>, Option<f64>)>) -> Self {
        Self::Range {
            field: field.into(),
            ranges,
        }
    }

    /// `DateHistogram` with `interval`.
    pub fn date_histogram(field: impl Into<String>, interval: DateInterval) -> Self {
        Self::DateHistogram {
            field: field.into(),
            interval,
        }
    }

    /// `Stats` of a numeric field.
    pub fn stats(field: impl Into<String>) -> Self {
        Self::Stats {
            field: field.into(),
        }
    }

    /// `Cardinality` of a field.
    pub fn cardinality(field: impl Into<String>) -> Self {
        Self::Cardinality {
            field: field.into(),
        }
    }

    /// The query DSL of this aggregation.
    pub fn to_dsl(&self) -> Json {
        match self {
            Self::Terms { field, size } => json!({"terms": {"field": field, "size": size}}),
            Self::Range { field, ranges } => {
                let ranges: Vec<Json> = ranges
                    .iter()
                    .map(|(from, to)| {
                        let mut range = Map::new();
                        if let Some(from) = from {
                            range.insert("from".into(), json!(from));
                        }
                        if let Some(to) = to {
                            range.insert("to".into(), json!(to));
                        }
                        Json::Object(range)
                    })
                    .collect();
                json!({"range": {"field": field, "ranges": ranges}})
            }
            Self::DateHistogram { field, interval } => {
                let (kind, value) = match interval {
                    DateInterval::Calendar(unit) => ("calendar_interval", unit),
                    DateInterval::Fixed(length) => ("fixed_interval", length),
                };
                json!({"date_histogram": {"field": field, kind: value, "min_doc_count": 1}})
            }
            Self::Stats { field } => json!({"stats": {"field": field}}),
            Self::Cardinality { field } => json!({"cardinality": {"field": field}}),
        }
    }
}

/// Named aggregations to run together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Aggregations {
    named: Vec<(String, Aggregation)>,
}

impl Aggregations {
    /// No aggregation yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `aggregation` under `name` (its result is found by that name).
    pub fn add(mut self, name: impl Into<String>, aggregation: Aggregation) -> Self {
        self.named.push((name.into(), aggregation));
        self
    }

    /// The `aggs` object of a search body.
    pub fn to_dsl(&self) -> Json {
        Json::Object(
            self.named
                .iter()
                .map(|(name, aggregation)| (name.clone(), aggregation.to_dsl()))
                .collect(),
        )
    }
}

/// A bucket of a terms aggregation.
#[derive(Debug, Clone, PartialEq)]
pub struct TermsBucket {
    /// The value (exact: a `long` keeps every digit; a boolean comes back as 0 or 1).
    pub key: Value,
    /// Documents with that value.
    pub doc_count: u64,
}

/// A bucket of a range aggregation.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeBucket {
    /// The server's name of the range, such as `10.0-20.0` or `*-10.0`.
    pub key: String,
    /// The lower bound, inclusive.
    pub from: Option<f64>,
    /// The upper bound, exclusive.
    pub to: Option<f64>,
    /// Documents in the range.
    pub doc_count: u64,
}

/// A bucket of a date histogram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateBucket {
    /// The start of the interval, in milliseconds since the Unix epoch (UTC).
    pub key: i64,
    /// The start as the server formats it.
    pub key_as_string: Option<String>,
    /// Documents in the interval.
    pub doc_count: u64,
}

/// The result of a stats aggregation. `min`, `max` and `avg` are `None` when no document had
/// the field.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Documents with a value.
    pub count: u64,
    /// The smallest value.
    pub min: Option<f64>,
    /// The largest value.
    pub max: Option<f64>,
    /// The mean.
    pub avg: Option<f64>,
    /// The sum (0 with no value).
    pub sum: f64,
}

/// The typed result of one [`Aggregation`].
#[derive(Debug, Clone, PartialEq)]
pub enum AggregationResult {
    /// Terms buckets, most frequent first.
    Terms {
        /// The buckets.
        buckets: Vec<TermsBucket>,
        /// Documents whose value fell in no returned bucket.
        sum_other_doc_count: u64,
    },
    /// Range buckets, in the order of the ranges asked.
    Range(Vec<RangeBucket>),
    /// Date histogram buckets (intervals with no document are left out), in time order.
    DateHistogram(Vec<DateBucket>),
    /// Stats.
    Stats(Stats),
    /// The approximate distinct count.
    Cardinality(u64),
}

/// The results of [`Aggregations`], by name, and how many documents matched.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregationResults {
    /// Documents the query matched.
    pub total: u64,
    results: Vec<(String, AggregationResult)>,
}

impl AggregationResults {
    /// The result of the aggregation named `name`.
    pub fn get(&self, name: &str) -> Option<&AggregationResult> {
        self.results
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, result)| result)
    }

    /// Every result, in the order the aggregations were added.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &AggregationResult)> {
        self.results.iter().map(|(n, r)| (n.as_str(), r))
    }

    /// Reads the typed results of `aggregations` from an exact `_search` response body.
    ///
    /// `Internal` when the response lacks one of them or it has another shape.
    pub fn from_response(response: &Value, aggregations: &Aggregations) -> Result<Self> {
        let total = lookup_u64(response, &["hits", "total", "value"])
            .or_else(|| lookup_u64(response, &["hits", "total"]))
            .unwrap_or(0);
        let results = aggregations
            .named
            .iter()
            .map(|(name, aggregation)| {
                let raw = lookup(response, &["aggregations", name])
                    .ok_or_else(|| malformed(name, "is missing from the response"))?;
                Ok((name.clone(), parse(name, aggregation, raw)?))
            })
            .collect::<Result<_>>()?;
        Ok(Self { total, results })
    }
}

fn malformed(name: &str, what: &str) -> StoreError {
    StoreError::internal(format!("aggregation `{name}` {what}")).with_backend(BACKEND)
}

fn count(value: &Value, key: &str) -> u64 {
    lookup_u64(value, &[key]).unwrap_or(0)
}

fn float(value: &Value, key: &str) -> Option<f64> {
    lookup(value, &[key])?.as_number().map(|n| n.to_f64())
}

fn parse(name: &str, aggregation: &Aggregation, raw: &Value) -> Result<AggregationResult> {
    let buckets = || {
        lookup(raw, &["buckets"])
            .and_then(Value::as_list)
            .ok_or_else(|| malformed(name, "has no bucket list"))
    };
    Ok(match aggregation {
        Aggregation::Terms { .. } => AggregationResult::Terms {
            buckets: buckets()?
                .iter()
                .map(|b| TermsBucket {
                    key: lookup(b, &["key"]).cloned().unwrap_or(Value::Null),
                    doc_count: count(b, "doc_count"),
                })
                .collect(),
            sum_other_doc_count: count(raw, "sum_other_doc_count"),
        },
        Aggregation::Range { .. } => AggregationResult::Range(
            buckets()?
                .iter()
                .map(|b| RangeBucket {
                    key: lookup(b, &["key"])
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    from: float(b, "from"),
                    to: float(b, "to"),
                    doc_count: count(b, "doc_count"),
                })
                .collect(),
        ),
        Aggregation::DateHistogram { .. } => AggregationResult::DateHistogram(
            buckets()?
                .iter()
                .map(|b| {
                    let key = lookup(b, &["key"])
                        .and_then(Value::as_i64)
                        .ok_or_else(|| malformed(name, "has a bucket without a time key"))?;
                    Ok(DateBucket {
                        key,
                        key_as_string: lookup(b, &["key_as_string"])
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        doc_count: count(b, "doc_count"),
                    })
                })
                .collect::<Result<_>>()?,
        ),
        Aggregation::Stats { .. } => AggregationResult::Stats(Stats {
            count: count(raw, "count"),
            min: float(raw, "min"),
            max: float(raw, "max"),
            avg: float(raw, "avg"),
            sum: float(raw, "sum").unwrap_or(0.0),
        }),
        Aggregation::Cardinality { .. } => AggregationResult::Cardinality(
            lookup_u64(raw, &["value"]).ok_or_else(|| malformed(name, "has no value"))?,
        ),
    })
}

impl OpenSearchIndex {
    /// Runs `aggregations` over the documents `query` matches (no hits are fetched) and reads
    /// their typed results. For aggregations these types do not cover, or sub-aggregations,
    /// use [`search_with_aggregations`](Self::search_with_aggregations) and the raw JSON.
    ///
    /// ```no_run
    /// # async fn demo(index: store_search::OpenSearchIndex) -> store_core::Result<()> {
    /// use store_core::search::SearchQuery;
    /// use store_search::{Aggregation, AggregationResult, Aggregations};
    /// let asked = Aggregations::new()
    ///     .add("tags", Aggregation::terms("tag", 10))
    ///     .add("price", Aggregation::stats("price"));
    /// let results = index.aggregate(&SearchQuery::MatchAll, &asked).await?;
    /// if let Some(AggregationResult::Terms { buckets, .. }) = results.get("tags") {
    ///     for bucket in buckets {
    ///         println!("{:?}: {}", bucket.key, bucket.doc_count);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn aggregate(
        &self,
        query: &SearchQuery,
        aggregations: &Aggregations,
    ) -> Result<AggregationResults> {
        SearchRequest::new(query.clone())
            .validate()
            .map_err(|e| self.invalid(e, "aggregate"))?;
        let body = json!({
            "query": query_dsl(query),
            "size": 0,
            "track_total_hits": true,
            "aggs": aggregations.to_dsl(),
        });
        let target = self.target("");
        let value = self
            .send(
                Method::Post,
                &self.path("/_search"),
                &[],
                Some(Body::json(&body)),
                "aggregate",
                &target,
            )
            .await?
            .check(ConflictMeaning::Auto, "aggregate", &target)?;
        AggregationResults::from_response(&value, aggregations)
            .map_err(|e| e.with_operation("aggregate").with_target(target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response as OpenSearch 2.19 gave it, trimmed: a long key beyond 2^53 stays exact.
    #[test]
    fn results_are_read_from_the_exact_response() {
        let text = br#"{"hits":{"total":{"value":5,"relation":"eq"},"hits":[]},
          "aggregations":{
            "ids":{"doc_count_error_upper_bound":0,"sum_other_doc_count":1,
                   "buckets":[{"key":9007199254740993,"doc_count":3}]},
            "price":{"count":0,"min":null,"max":null,"avg":null,"sum":0.0},
            "bands":{"buckets":[{"key":"*-10.0","to":10.0,"doc_count":2},
                                {"key":"10.0-*","from":10.0,"doc_count":3}]},
            "days":{"buckets":[{"key_as_string":"2024-01-01T00:00:00.000Z","key":1704067200000,"doc_count":5}]},
            "users":{"value":4}}}"#;
        let response = crate::json::parse(text).unwrap();
        let asked = Aggregations::new()
            .add("ids", Aggregation::terms("id", 1))
            .add("price", Aggregation::stats("price"))
            .add(
                "bands",
                Aggregation::range("price", vec![(None, Some(10.0)), (Some(10.0), None)]),
            )
            .add(
                "days",
                Aggregation::date_histogram("at", DateInterval::Calendar("day".into())),
            )
            .add("users", Aggregation::cardinality("user"));
        let results = AggregationResults::from_response(&response, &asked).unwrap();
        assert_eq!(results.total, 5);
        let Some(AggregationResult::Terms {
            buckets,
            sum_other_doc_count,
        }) = results.get("ids")
        else {
            panic!("{results:?}")
        };
        assert_eq!(
            buckets[0].key.as_number().unwrap().to_string(),
            "9007199254740993"
        );
        assert_eq!((buckets[0].doc_count, *sum_other_doc_count), (3, 1));
        assert_eq!(
            results.get("price"),
            Some(&AggregationResult::Stats(Stats {
                count: 0,
                min: None,
                max: None,
                avg: None,
                sum: 0.0
            }))
        );
        let Some(AggregationResult::Range(bands)) = results.get("bands") else {
            panic!()
        };
        assert_eq!(
            (bands[0].from, bands[0].to, bands[1].doc_count),
            (None, Some(10.0), 3)
        );
        let Some(AggregationResult::DateHistogram(days)) = results.get("days") else {
            panic!()
        };
        assert_eq!(days[0].key, 1_704_067_200_000);
        assert_eq!(
            results.get("users"),
            Some(&AggregationResult::Cardinality(4))
        );
        assert_eq!(results.iter().count(), 5);

        let missing = Aggregations::new().add("nope", Aggregation::stats("x"));
        let e = AggregationResults::from_response(&response, &missing).unwrap_err();
        assert!(e.to_string().contains("`nope`"), "{e}");
    }

    #[test]
    fn the_dsl_names_each_aggregation_by_kind() {
        let asked = Aggregations::new()
            .add("a", Aggregation::terms("tag", 5))
            .add("b", Aggregation::range("n", vec![(Some(1.0), None)]))
            .add(
                "c",
                Aggregation::date_histogram("at", DateInterval::Fixed("30m".into())),
            );
        assert_eq!(
            asked.to_dsl(),
            json!({
                "a": {"terms": {"field": "tag", "size": 5}},
                "b": {"range": {"field": "n", "ranges": [{"from": 1.0}]}},
                "c": {"date_histogram": {"field": "at", "fixed_interval": "30m", "min_doc_count": 1}},
            })
        );
    }
}
