//! Benchmark: `TantivyIndex::bulk` of many ~500-byte documents (then a refresh) against a
//! plain tantivy writer loop indexing the same documents (text fields, a fast numeric field,
//! and the JSON source stored) and committing once; then match-query latency over them.
//!
//! ```text
//! cargo run -p store-tantivy --release --example tantivy_bench -- --docs 100000 --rounds 3
//! ```
//!
//! `--only ours` (or `plain`) runs one contender alone, for a profiler.
//!
//! The documents are generated once. Each contender runs once as a warm-up, then the rounds
//! interleave them, the order alternating; each run uses a fresh directory. Lines give the
//! median and the min–max of the rounds, and the ratio ours / baseline (below 1 is faster).
//! The query latencies are taken over one index of each, built first, warmed up with
//! untimed queries, then queried in turns.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use store_core::search::{BulkOp, FieldType, IndexSpec, SearchQuery, SearchRequest};
use store_core::testkit::bench::{Measure, Samples, rotation};
use store_core::{Document, SearchIndex};
use store_tantivy::TantivyIndex;
use tantivy::schema::{FAST, INDEXED, STORED, STRING, Schema, TEXT};
use tantivy::{Index, TantivyDocument};

const WORDS: &[&str] = &[
    "storage",
    "object",
    "bucket",
    "table",
    "search",
    "index",
    "query",
    "shard",
    "replica",
    "snapshot",
    "backup",
    "restore",
    "stream",
    "record",
    "digest",
    "latency",
    "throughput",
    "cluster",
    "region",
    "partition",
    "segment",
    "commit",
    "refresh",
    "mapping",
    "field",
    "number",
    "decimal",
    "unicode",
    "checksum",
    "archive",
    "manifest",
    "cursor",
    "batch",
];

struct Args {
    docs: usize,
    rounds: usize,
    dir: PathBuf,
    /// `ours` or `plain`: run that contender alone (for a profiler), no comparison.
    only: Option<String>,
}

fn args() -> Args {
    let mut out = Args {
        docs: 100_000,
        rounds: 3,
        dir: std::env::temp_dir().join(format!("store-tantivy-bench-{}", std::process::id())),
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--docs" => out.docs = value.parse().expect("--docs N"),
            "--rounds" => out.rounds = value.parse().expect("--rounds N"),
            "--dir" => out.dir = value.into(),
            "--only" => out.only = Some(value),
            other => panic!("unknown flag {other}; use --docs, --rounds, --dir, --only"),
        }
    }
    out
}

/// A deterministic document of about 500 bytes of JSON.
fn doc(i: usize) -> Document {
    let mut state = i as u64 * 2_654_435_761 + 1;
    let mut word = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        WORDS[(state % WORDS.len() as u64) as usize]
    };
    let title: Vec<&str> = (0..6).map(|_| word()).collect();
    let body: Vec<&str> = (0..50).map(|_| word()).collect();
    Document::new()
        .with("title", title.join(" "))
        .with("body", body.join(" "))
        .with("year", 1990 + (i % 35) as i64)
        .with("views", (i * 7919 % 100_000) as i64)
}

fn fresh(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let _ = std::fs::remove_dir_all(&path);
    std::fs::create_dir_all(&path).unwrap();
    path
}

async fn ours(dir: &Path, docs: &[Document]) -> (Duration, TantivyIndex) {
    let root = fresh(dir, "ours");
    let index = TantivyIndex::open(&root, "bench").await.unwrap();
    index
        .create(
            &IndexSpec::new()
                .field("title", FieldType::Text)
                .field("body", FieldType::Text)
                .field("year", FieldType::Long)
                .field("views", FieldType::Long),
        )
        .await
        .unwrap();
    let started = Instant::now();
    for (n, chunk) in docs.chunks(1_000).enumerate() {
        let ops = chunk
            .iter()
            .enumerate()
            .map(|(i, doc)| BulkOp::Index {
                id: (n * 1_000 + i).to_string(),
                doc: doc.clone(),
            })
            .collect();
        let report = index.bulk(ops).await.unwrap();
        assert!(report.is_complete());
    }
    index.refresh().await.unwrap();
    (started.elapsed(), index)
}

fn plain(dir: &Path, docs: &[Document]) -> (Duration, Index) {
    let root = fresh(dir, "plain");
    let mut builder = Schema::builder();
    let id = builder.add_text_field("_id", STRING | STORED);
    let title = builder.add_text_field("title", TEXT);
    let body = builder.add_text_field("body", TEXT);
    let year = builder.add_i64_field("year", INDEXED | FAST);
    let views = builder.add_i64_field("views", INDEXED | FAST);
    let source = builder.add_text_field("_source", STORED);
    let index = Index::create_in_dir(&root, builder.build()).unwrap();
    let started = Instant::now();
    // The same writer settings as ours: one indexing thread, a 64 MiB budget.
    let mut writer = index
        .writer_with_num_threads::<TantivyDocument>(1, 64 << 20)
        .unwrap();
    for (i, d) in docs.iter().enumerate() {
        let mut t = TantivyDocument::default();
        t.add_text(id, i.to_string());
        let text = |name| {
            d.get(name)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        t.add_text(title, text("title"));
        t.add_text(body, text("body"));
        let number = |name| {
            d.get(name)
                .and_then(|v| v.as_number())
                .and_then(|n| n.to_i64())
                .unwrap_or_default()
        };
        t.add_i64(year, number("year"));
        t.add_i64(views, number("views"));
        t.add_text(
            source,
            store_core::to_json(&store_core::Value::Map(d.clone())).to_string(),
        );
        writer.add_document(t).unwrap();
    }
    writer.commit().unwrap();
    (started.elapsed(), index)
}

/// Match queries timed per contender, after [`QUERY_WARM_UP`] untimed ones each.
const QUERIES: usize = 500;

/// Untimed match queries per contender before the timed ones.
const QUERY_WARM_UP: usize = 300;

/// Seconds as milliseconds.
fn ms(seconds: Option<f64>) -> f64 {
    seconds.unwrap_or_default() * 1e3
}

#[tokio::main]
async fn main() {
    let args = args();
    let docs: Vec<Document> = (0..args.docs).map(doc).collect();
    let bytes: usize = docs
        .iter()
        .map(|d| {
            store_core::to_json(&store_core::Value::Map(d.clone()))
                .to_string()
                .len()
        })
        .sum();
    println!(
        "{} documents, {} bytes of JSON on average; {} rounds after a warm-up of each",
        docs.len(),
        bytes / docs.len().max(1),
        args.rounds
    );
    match args.only.as_deref() {
        Some("ours") => {
            for _ in 0..args.rounds {
                let (took, _) = ours(&args.dir, &docs).await;
                println!("ours alone: {:.3} s", took.as_secs_f64());
            }
            return;
        }
        Some("plain") => {
            for _ in 0..args.rounds {
                println!(
                    "plain alone: {:.3} s",
                    plain(&args.dir, &docs).0.as_secs_f64()
                );
            }
            return;
        }
        Some(other) => panic!("--only takes ours or plain, not {other}"),
        None => {}
    }
    // Round 0 warms both and is not counted; then the order alternates.
    let mut bulk = [Samples::new("ours"), Samples::new("plain tantivy loop")];
    for round in 0..=args.rounds.max(1) {
        for at in rotation(round, 2) {
            let took = match at {
                0 => ours(&args.dir, &docs).await.0,
                _ => plain(&args.dir, &docs).0,
            };
            if round > 0 {
                bulk[at].push_time(took);
            }
        }
    }
    let name = format!("tantivy_bulk {} docs (target <= 1.3x)", docs.len());
    Measure::Time.report_rounds(&name, &bulk[0], &bulk[1]);

    // Query latency: match queries for one word on the body (top 10 with their sources and
    // the exact total) over the last index each contender built. Both indexes are built
    // first; each gets warm-up queries (its background merges and frees finish meanwhile), then
    // the two take turns, query by query.
    let (_, index) = ours(&args.dir, &docs).await;
    let (_, plain_index) = plain(&args.dir, &docs);
    let reader = plain_index.reader().unwrap();
    let searcher = reader.searcher();
    let body = plain_index.schema().get_field("body").unwrap();
    let parser = tantivy::query::QueryParser::for_index(&plain_index, vec![body]);
    let ours_query = |word: &'static str| {
        let index = &index;
        async move {
            let request = SearchRequest::new(SearchQuery::matches("body", word)).size(10);
            let started = Instant::now();
            let found = index.search(&request).await.unwrap();
            assert!(!found.hits.is_empty());
            started.elapsed()
        }
    };
    let plain_query = |word: &str| {
        let started = Instant::now();
        let query = parser.parse_query(word).unwrap();
        // A search response carries the exact total, so the baseline counts too.
        let (top, _total) = searcher
            .search(
                &query,
                &(
                    tantivy::collector::TopDocs::with_limit(10).order_by_score(),
                    tantivy::collector::Count,
                ),
            )
            .unwrap();
        for (_, address) in &top {
            let _: TantivyDocument = searcher.doc(*address).unwrap();
        }
        started.elapsed()
    };
    for i in 0..QUERY_WARM_UP {
        ours_query(WORDS[i % WORDS.len()]).await;
        plain_query(WORDS[i % WORDS.len()]);
    }
    let mut latencies = Samples::new("ours");
    let mut plain_latencies = Samples::new("plain");
    for i in 0..QUERIES {
        let word = WORDS[i % WORDS.len()];
        latencies.push_time(ours_query(word).await);
        plain_latencies.push_time(plain_query(word));
    }
    println!(
        "bench tantivy_match_query: ours p50 {:.3} ms p99 {:.3} ms vs plain tantivy p50 {:.3} ms p99 {:.3} ms",
        ms(latencies.percentile(0.5)),
        ms(latencies.percentile(0.99)),
        ms(plain_latencies.percentile(0.5)),
        ms(plain_latencies.percentile(0.99)),
    );
    let _ = std::fs::remove_dir_all(&args.dir);
}
