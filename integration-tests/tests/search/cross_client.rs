//! What store-search writes, another client reads exactly: documents indexed one by one and in
//! bulk are fetched with curl over plain HTTP, and their `_source` text holds every digit.

use std::process::Command;

use futures::StreamExt;
use store_core::search::{BulkOp, FieldType, IndexOptions, IndexSpec};
use store_core::{Document, Number, SearchIndex, Value};
use store_search::BulkOptions;

use super::support::{fresh, url};

/// Numbers a client going through `f64` would change: beyond 2^53, `i64::MAX`, `u64::MAX`, a
/// 38-digit integer, and a decimal with more digits than a double holds. Each is the exact JSON
/// text the server must hand back.
const NUMBERS: [&str; 6] = [
    "9007199254740993",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "12345678901234567890123456789012345678",
    "0.1000000000000000055511151231257827021181583404541015625",
];

fn document(i: usize) -> Document {
    let mut doc = Document::new()
        .with("i", i as i64)
        .with("name", format!("doc {i}"));
    for (k, text) in NUMBERS.iter().enumerate() {
        let n: Number = text.parse().unwrap();
        doc.insert(format!("n{k}"), Value::Number(n));
    }
    doc
}

/// The body of `GET /<index>/_doc/<id>` over plain HTTP.
fn curl_get(url: &str, index: &str, id: &str) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--fail", &format!("{url}/{index}/_doc/{id}")])
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn documents_read_back_over_plain_http_with_exact_numbers() {
    let index = fresh("xclient").await;
    // Mapped as keyword, so the server keeps the text and indexes it without range checks.
    let mut spec = IndexSpec::new().replicas(0);
    for k in 0..NUMBERS.len() {
        spec = spec.field(format!("n{k}"), FieldType::Keyword);
    }
    index.create(&spec).await.unwrap();
    index
        .index("single", document(0), IndexOptions::new().refresh())
        .await
        .unwrap();
    let ops = futures::stream::iter(1..=50usize).map(|i| BulkOp::Index {
        id: format!("bulk-{i}"),
        doc: document(i),
    });
    let report = index
        .bulk_stream(ops, &BulkOptions::default().with_refresh(true))
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");

    let url = url().await;
    for id in ["single", "bulk-1", "bulk-50"] {
        let body = curl_get(&url, index.name().as_str(), id);
        for (k, text) in NUMBERS.iter().enumerate() {
            let field = format!("\"n{k}\":{text}");
            assert!(body.contains(&field), "{id}: {field} not in {body}");
        }
    }
    let count = Command::new("curl")
        .args(["-sS", &format!("{url}/{}/_count", index.name())])
        .output()
        .expect("curl runs");
    let count = String::from_utf8(count.stdout).unwrap();
    assert!(count.contains("\"count\":51"), "{count}");
    index.drop_index().await.unwrap();
}
