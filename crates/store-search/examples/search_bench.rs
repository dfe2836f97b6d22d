//! Bulk-load benchmark: store-search's bulk helper against opensearch-py's `helpers.bulk` and
//! `helpers.parallel_bulk` (4 threads), a raw loop posting pre-serialized `_bulk` bodies of the
//! same chunk size (sequential and 4 in flight), and one request per document (the first 2,000,
//! extrapolated). Run it with `crates/store-search/bench/run.sh` (one command from a clean
//! clone); prints `bench <name>: ours <value> vs <baseline> <value> = <ratio>x` lines, in
//! documents per second (higher is better).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt;
use store_core::search::{BulkOp, IndexOptions, IndexSpec, SearchQuery};
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

fn rate(docs: usize, elapsed: Duration) -> f64 {
    docs as f64 / elapsed.as_secs_f64()
}

fn line(name: &str, ours: f64, baseline: &str, theirs: f64) {
    println!(
        "bench {name}: ours {ours:.0} docs/s vs {baseline} {theirs:.0} docs/s = {:.2}x",
        ours / theirs
    );
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
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
    eprintln!("bulk benchmark: {count} documents of about 500 bytes against {url}");
    // Warm the node (JIT, caches) before measuring.
    let _ = ours(&base, 10_000.min(count)).await;

    // The node is shared: measure ours twice (first and last) and keep the better run.
    let ours_time = ours(&base, count).await;
    eprintln!("ours: {ours_time:?}");
    let skip_python = std::env::var_os("STORES_BENCH_SKIP_PYTHON").is_some();
    let py_bulk = if skip_python {
        None
    } else {
        python(&url, "bulk", count)
    };
    let py_parallel = if skip_python {
        None
    } else {
        python(&url, "parallel_bulk", count)
    };
    let raw_seq = raw(&base, count, 1).await;
    let raw_par = raw(&base, count, 4).await;
    let sample = PER_DOC_SAMPLE.min(count);
    let one = per_doc(&base, sample).await;
    let again = ours(&base, count).await;
    eprintln!("ours again: {again:?}");
    let ours_rate = rate(count, ours_time.min(again));
    if let Some(t) = py_bulk {
        line(
            "bulk_vs_helpers_bulk",
            ours_rate,
            "helpers.bulk",
            rate(count, t),
        );
    }
    if let Some(t) = py_parallel {
        line(
            "bulk_vs_parallel_bulk_4",
            ours_rate,
            "helpers.parallel_bulk(4)",
            rate(count, t),
        );
    }
    line(
        "bulk_vs_raw_loop",
        ours_rate,
        "raw pre-serialized loop",
        rate(count, raw_seq),
    );
    line(
        "bulk_vs_raw_4_in_flight",
        ours_rate,
        "raw pre-serialized, 4 in flight",
        rate(count, raw_par),
    );
    line(
        "bulk_vs_one_request_per_doc",
        ours_rate,
        &format!("one request per doc (first {sample}, extrapolated)"),
        rate(sample, one),
    );
}
