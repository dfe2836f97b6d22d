//! OpenSearch killed (SIGKILL) during a 100,000-document bulk and started again on its data.

use std::process::Command;
use std::time::Duration;

use futures::StreamExt;
use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint, restart};
use store_core::search::{BulkOp, FieldType, IndexSpec};
use store_core::{Document, SearchIndex};
use store_search::{BulkOptions, OpenSearchIndex};

use crate::serial;

const DOCS: usize = 100_000;

fn op(n: usize) -> BulkOp {
    BulkOp::Index {
        id: format!("d{n}"),
        doc: Document::new()
            .with("n", n as i64)
            .with("title", format!("document number {n}")),
    }
}

/// `GET path` on the node with curl, as JSON.
fn get(url: &str, path: &str) -> serde_json::Value {
    curl(&["-sS", "--max-time", "60", &format!("{url}{path}")], path)
}

/// `POST path` with a JSON `body`, with curl, as JSON.
fn post(url: &str, path: &str, body: &str) -> serde_json::Value {
    let target = format!("{url}{path}");
    let args = [
        "-sS",
        "--max-time",
        "60",
        "-H",
        "content-type: application/json",
    ];
    curl(
        &[&args[..], &["--data-binary", body, &target]].concat(),
        path,
    )
}

fn curl(args: &[&str], path: &str) -> serde_json::Value {
    let out = Command::new("curl").args(args).output().expect("curl runs");
    assert!(
        out.status.success(),
        "curl {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{path}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test]
async fn a_bulk_cut_by_a_crash_ends_with_every_document_indexed_exactly_once() {
    let _turn = serial().await;
    let url = endpoint(Service::OpenSearch).await;
    let name = unique_name("restart-bulk");
    let index = OpenSearchIndex::builder(&name).url(&url).build().unwrap();
    index
        .create(
            &IndexSpec::new()
                .shards(1)
                .replicas(0)
                .field("n", FieldType::Long),
        )
        .await
        .unwrap();

    // The node is killed once a third of the documents went out, while the bulk runs on.
    let (crash, crash_now) = tokio::sync::oneshot::channel::<()>();
    let restarting = tokio::spawn(async move {
        if crash_now.await.is_ok() {
            restart(Service::OpenSearch).await;
        }
    });
    let mut crash = Some(crash);
    let ops = futures::stream::iter(0..DOCS).map(move |n| {
        if n == DOCS / 3
            && let Some(crash) = crash.take()
        {
            let _ = crash.send(());
        }
        op(n)
    });
    let options = BulkOptions::default().with_max_docs(500);
    let report = index
        .bulk_stream(ops, &options)
        .await
        .expect("the bulk reports");
    restarting.await.expect("the node restarted");
    assert!(
        !report.failed.is_empty(),
        "the crash cut the bulk: {} succeeded",
        report.succeeded
    );
    assert_eq!(
        report.succeeded + report.failed.len(),
        DOCS,
        "every operation is accounted for"
    );
    for failure in &report.failed {
        assert!(
            matches!(failure.status, 0 | 429 | 503),
            "a crash fails items as unreachable or unavailable, not {failure:?}"
        );
    }
    let cut = report.failed.len();

    // After the restart: the index recovers from its translog; what failed is sent again
    // (documents keep their ids, so a resend of one that did land replaces it).
    let health = get(
        &url,
        &format!("/_cluster/health/{name}?wait_for_status=yellow&timeout=60s"),
    );
    assert_eq!(health["timed_out"], false, "{health}");
    let mut missing: Vec<usize> = report
        .failed
        .iter()
        .map(|f| f.id.trim_start_matches('d').parse().unwrap())
        .collect();
    for round in 0..5 {
        if missing.is_empty() {
            break;
        }
        let again = index
            .bulk_stream(futures::stream::iter(missing.clone()).map(op), &options)
            .await
            .unwrap();
        missing = again
            .failed
            .iter()
            .map(|f| f.id.trim_start_matches('d').parse().unwrap())
            .collect();
        if !missing.is_empty() {
            println!("round {round}: {} still failed, retrying", missing.len());
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    assert!(
        missing.is_empty(),
        "{} documents never landed",
        missing.len()
    );
    index.refresh().await.unwrap();

    // Exactly once, read over plain HTTP: the count, and the sums of n and of n² (a
    // duplicate, a loss or a changed value moves at least one of them).
    let count = get(&url, &format!("/{name}/_count"));
    assert_eq!(count["count"], DOCS as u64, "{count}");
    let sums = post(
        &url,
        &format!("/{name}/_search"),
        r#"{"size": 0, "aggs": {"n": {"sum": {"field": "n"}},
            "n2": {"sum": {"script": {"source": "doc['n'].value * doc['n'].value"}}}}}"#,
    );
    let n: u128 = (0..DOCS as u128).sum();
    let n2: u128 = (0..DOCS as u128).map(|n| n * n).sum();
    assert_eq!(
        sums["aggregations"]["n"]["value"].as_f64(),
        Some(n as f64),
        "{sums}"
    );
    assert_eq!(
        sums["aggregations"]["n2"]["value"].as_f64(),
        Some(n2 as f64),
        "{sums}"
    );
    println!(
        "bulk of {DOCS}: the crash failed {cut} items (sent before it: {}); after resending, \
         count {DOCS}, sum(n) {n}, sum(n²) {n2}",
        DOCS / 3
    );
    index.drop_index().await.unwrap();
}
