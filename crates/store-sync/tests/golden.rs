//! A version 1 archive kept in the repository: every build must read it to the same records,
//! ordinary tools must open it, and its manifest must match the published JSON Schema.
//!
//! Regenerate (only when the format version changes) with
//! `STORES_BLESS_GOLDEN=1 cargo test -p store-sync --test golden -- --test-threads=1`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use store_core::{Document, Number, Value};
use store_sync::{ArchiveSink, ArchiveSource, CopyOptions, Partition, Silent, check, copy};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden-v1")
}

/// The records the golden archive holds, written out value by value.
fn golden_records() -> Vec<Document> {
    let n = |s: &str| Value::Number(s.parse::<Number>().unwrap());
    vec![
        Document::new()
            .with("id", "alpha")
            .with("balance", n("12345678901234567890123456789012345678"))
            .with("tiny", n("1E-130"))
            .with("scaled", n("1.50"))
            .with("blob", Value::Bytes(Bytes::from_static(&[0, 1, 2, 255])))
            .with(
                "tags",
                Value::StringSet(["x".to_owned(), "y".to_owned()].into()),
            ),
        Document::new()
            .with("id", "βeta ✓")
            .with("min", i64::MIN)
            .with("max", i64::MAX)
            .with(
                "nested",
                Value::Map(
                    Document::new().with("list", Value::List(vec![Value::Null, Value::Bool(true)])),
                ),
            ),
        Document::new()
            .with("id", "gamma\u{0}nul")
            .with(
                "ns",
                Value::NumberSet([Number::from(-1), "0.5".parse().unwrap()].into()),
            )
            .with("bs", Value::BytesSet([Bytes::from_static(b"a")].into()))
            .with("none", Value::Null),
    ]
}

#[tokio::test]
async fn the_golden_archive_reads_back_to_the_same_records() {
    let (_, expected) = common::documents("golden", &golden_records()).await;
    if std::env::var_os("STORES_BLESS_GOLDEN").is_some() {
        let _ = std::fs::remove_dir_all(golden_dir());
        let sink = ArchiveSink::in_dir(
            golden_dir(),
            "golden-v1",
            "stores 0.1.0",
            Partition::whole(),
        )
        .with_source("mem://golden");
        copy(
            &expected,
            &sink,
            &CopyOptions {
                batch_size: 2,
                ..CopyOptions::default()
            },
            &Silent,
        )
        .await
        .unwrap();
    }
    let archive = ArchiveSource::in_dir(golden_dir(), "golden-v1");
    let verdict = check(&expected, &archive, 10).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
    assert_eq!(verdict.right.count(), 3);
    // The scale of 1.50 is kept, not only its value.
    let (_, restored) = common::documents("restored", &[]).await;
    copy(&archive, &restored, &CopyOptions::default(), &Silent)
        .await
        .unwrap();
    use store_core::DocumentStore;
    let store = restored_store(&restored).await;
    let alpha = store
        .get(&store_core::DocKey::partition("alpha"), Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        alpha
            .get("scaled")
            .unwrap()
            .as_number()
            .unwrap()
            .to_string(),
        "1.50"
    );
}

async fn restored_store(
    collection: &store_sync::DocumentCollection,
) -> std::sync::Arc<dyn store_core::DocumentStore> {
    collection.store()
}

#[test]
fn ordinary_tools_open_the_golden_archive() {
    let sh = |script: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(golden_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`{script}`: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(sh("sha256sum -c SHA256SUMS | grep -c ': OK$'").trim(), "2");
    assert_eq!(
        sh(
            "zstd -dc data/golden/*.ndjson.zst | jq -r 'select(.k.id.S == \"alpha\") | .v.balance.N'"
        ),
        "12345678901234567890123456789012345678\n"
    );
}

#[test]
fn the_manifest_matches_the_published_json_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("/usr/bin/python3")
        .arg(root.join("scripts/validate-json.py"))
        .arg(root.join("docs/archive-manifest.schema.json"))
        .arg(golden_dir().join("manifest.json"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
