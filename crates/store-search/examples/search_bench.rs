//! Bulk-load benchmark: store-search's bulk helper against opensearch-py's `helpers.bulk` and
//! `helpers.parallel_bulk` (4 threads), a raw loop posting pre-serialized `_bulk` bodies of the
//! same chunk size (sequential and 4 in flight), and one request per document (the first 2,000,
//! measured as a rate). Run it with `crates/store-search/bench/run.sh [COUNT [ROUNDS]]` (one
//! command from a clean clone). Every loader runs once at full size to warm the node, then
//! ROUNDS (default 3) rounds run them in rotated order; each comparison prints as
//! `bench <name>: ours <median> [min–max] vs <baseline> <median> [min–max] = <ratio>x`, in
//! documents per second (higher is better).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt;
use store_core::search::{BulkOp, IndexOptions, IndexSpec, SearchQuery};
use store_core::testkit::bench::{Measure, Samples, rotation};
use store_core::{Document, SearchIndex, Value};
use store_search::sdk::http::Method;
use store_search::sdk::http::Url;
use store_search::sdk::http::headers::{CONTENT_TYPE, HeaderMap, HeaderValue};
use store_search::{BulkOptions, OpenSearchIndex};

const WORDS: [&str; 26] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
    "uniform", "victor", "whiskey", "xray", "yankee", "zulu",
];
const CHUNK: usize = 1_000;
const PER_DOC_SAMPLE: usize = 2_000;

/// The same document as bench/baseline.py, about 500 bytes of JSON.
fn doc(n: usize) -> Document {
    let body: Vec<&str> = (0..52).map(|i| WORDS[(n * 7 + i * 3) % 26]).collect();
    Document::new()
        .with("id", n as i64)
        .with("title", format!("Document number {n}"))
        .with("body", body.join(" "))
        .with(
            "tags",
            vec![
                Value::from(WORDS[n % 26]),
                Value::from(WORDS[(n / 26) % 26]),
            ],
        )
        .with(
            "price",
            store_core::Number::try_from(n as f64 * 1.25).expect("finite"),
        )
        .with("in_stock", n.is_multiple_of(3))
        .with(
            "created",
            format!("2024-{:02}-{:02}T12:00:00Z", n % 12 + 1, n % 28 + 1),
        )
}

fn serde_doc(n: usize) -> serde_json::Value {
    store_core::to_json(&Value::Map(doc(n)))
}

async fn fresh(base: &OpenSearchIndex, label: &str) -> OpenSearchIndex {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let index = base
        .sibling(&format!("bench-rs-{label}-{nanos}"))
        .expect("index name");
    index
        .create(&IndexSpec::new().shards(1).replicas(0))
        .await
        .expect("create the bench index");
    index
}

async fn verify_and_drop(index: &OpenSearchIndex, expected: usize) {
    index.refresh().await.expect("refresh");
    let count = index.count(&SearchQuery::MatchAll).await.expect("count");
    assert_eq!(
        count as usize,
        expected,
        "{}: documents landed",
        index.name()
    );
    index.drop_index().await.expect("drop");
}

async fn ours(base: &OpenSearchIndex, count: usize) -> Duration {
    let index = fresh(base, "ours").await;
    let ops = futures::stream::iter(0..count).map(|n| BulkOp::Index {
        id: format!("d{n}"),
        doc: doc(n),
    });
    let started = Instant::now();
    let report = index
        .bulk_stream(ops, &BulkOptions::default())
        .await
        .expect("bulk");
    let elapsed = started.elapsed();
    assert!(report.is_complete(), "{:?}", report.failed.first());
    verify_and_drop(&index, count).await;
    elapsed
}

/// Pre-serialized `_bulk` bodies (built before the clock starts), posted `in_flight` at a time.
async fn raw(base: &OpenSearchIndex, count: usize, in_flight: usize) -> Duration {
    let index = fresh(base, &format!("raw{in_flight}")).await;
    let bodies: Vec<bytes::Bytes> = (0..count)
        .collect::<Vec<_>>()
        .chunks(CHUNK)
        .map(|chunk| {
            let mut body = Vec::new();
            for &n in chunk {
                body.extend_from_slice(format!("{{\"index\":{{\"_id\":\"d{n}\"}}}}\n").as_bytes());
                serde_json::to_writer(&mut body, &serde_doc(n)).expect("serialize");
                body.push(b'\n');
            }
            bytes::Bytes::from(body)
        })
        .collect();
    let path = format!("/{}/_bulk", index.name());
    let client = index.client().clone();
    let started = Instant::now();
    futures::stream::iter(bodies)
        .map(|body| {
            let client = client.clone();
            let path = path.clone();
            async move {
                let mut headers = HeaderMap::new();
                headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-ndjson"),
                );
                let response = client
                    .transport()
                    .send(Method::Post, &path, headers, None::<&()>, Some(body), None)
                    .await
                    .expect("raw bulk");
                let value: serde_json::Value = response.json().await.expect("bulk response");
                assert_eq!(value["errors"], false, "raw bulk errors");
            }
        })
        .buffer_unordered(in_flight)
        .collect::<Vec<()>>()
        .await;
    let elapsed = started.elapsed();
    verify_and_drop(&index, count).await;
    elapsed
}

/// One index request per document, on the first `sample` documents.
async fn per_doc(base: &OpenSearchIndex, sample: usize) -> Duration {
    let index = fresh(base, "perdoc").await;
    let started = Instant::now();
    for n in 0..sample {
        index
            .index(&format!("d{n}"), doc(n), IndexOptions::new())
            .await
            .expect("index");
    }
    let elapsed = started.elapsed();
    verify_and_drop(&index, sample).await;
    elapsed
}

fn python(url: &str, mode: &str, count: usize) -> Option<Duration> {
    let python = std::env::var("STORES_BENCH_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/baseline.py");
    let output = Command::new(&python)
        .arg(&script)
        .args([url, mode, &count.to_string(), &CHUNK.to_string(), "4"])
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "baseline {mode} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    let line: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    Some(Duration::from_secs_f64(line["seconds"].as_f64()?))
}

/// The ways of loading the same documents into a fresh index.
#[derive(Clone, Copy)]
enum Loader {
    /// store-search's bulk helper with its default options.
    Ours,
    /// opensearch-py's `helpers.bulk`.
    HelpersBulk,
    /// opensearch-py's `helpers.parallel_bulk` with 4 threads.
    ParallelBulk,
    /// Pre-serialized `_bulk` bodies posted one after the other.
    RawLoop,
    /// Pre-serialized `_bulk` bodies, 4 in flight.
    Raw4,
    /// One index request per document (on the first `PER_DOC_SAMPLE`).
    PerDoc,
}

impl Loader {
    fn label(self) -> &'static str {
        match self {
            Loader::Ours => "ours",
            Loader::HelpersBulk => "helpers.bulk",
            Loader::ParallelBulk => "helpers.parallel_bulk(4)",
            Loader::RawLoop => "raw pre-serialized loop",
            Loader::Raw4 => "raw pre-serialized, 4 in flight",
            Loader::PerDoc => "one request per doc",
        }
    }

    /// Loads `count` documents (or the per-document sample); returns how many and the time.
    async fn run(self, base: &OpenSearchIndex, url: &str, count: usize) -> (usize, Duration) {
        let took = match self {
            Loader::Ours => ours(base, count).await,
            Loader::HelpersBulk => python(url, "bulk", count).expect("helpers.bulk"),
            Loader::ParallelBulk => python(url, "parallel_bulk", count).expect("parallel_bulk"),
            Loader::RawLoop => raw(base, count, 1).await,
            Loader::Raw4 => raw(base, count, 4).await,
            Loader::PerDoc => {
                let sample = PER_DOC_SAMPLE.min(count);
                return (sample, per_doc(base, sample).await);
            }
        };
        (count, took)
    }
}

#[tokio::main]
async fn main() {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.replace('_', "").parse().ok())
            .unwrap_or(default)
    };
    let (count, rounds) = (arg(1, 100_000), arg(2, 3).max(1));
    let base = OpenSearchIndex::from_env("bench-rs").expect("OpenSearch config");
    // The URL `from_env` reads, without credentials, for the Python baselines.
    let mut url = std::env::var("STORES_OPENSEARCH_URL")
        .or_else(|_| std::env::var("OPENSEARCH_URL"))
        .ok()
        .and_then(|u| Url::parse(&u).ok())
        .unwrap_or_else(|| Url::parse("http://localhost:9200").expect("valid URL"));
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let url = url.as_str().trim_end_matches('/').to_owned();
    println!(
        "bench opensearch bulk: {count} documents of about 500 bytes against {url}; {rounds} \
         rounds after a warm-up run of each loader"
    );
    let mut loaders = vec![Loader::Ours];
    if std::env::var_os("STORES_BENCH_SKIP_PYTHON").is_none() {
        loaders.extend([Loader::HelpersBulk, Loader::ParallelBulk]);
    }
    loaders.extend([Loader::RawLoop, Loader::Raw4, Loader::PerDoc]);
    let mut rates: Vec<Samples> = loaders.iter().map(|l| Samples::new(l.label())).collect();
    for round in 0..=rounds {
        for at in rotation(round, loaders.len()) {
            let (docs, took) = loaders[at].run(&base, &url, count).await;
            if round > 0 {
                rates[at].push_rate(docs as f64, took);
            }
        }
    }
    for baseline in &rates[1..] {
        Measure::Rate("docs/s").report_rounds(&format!("bulk_{count}"), &rates[0], baseline);
    }
}
