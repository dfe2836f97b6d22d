//! Index lifecycle: typed and raw creation, mappings, aliases, bulk-load mode, reindex.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use futures::StreamExt;
use serde_json::json;
use store_core::search::{BulkOp, FieldType, IndexSpec, SearchQuery as Q, SearchRequest};
use store_core::{Document, ErrorKind, SearchIndex, StoreError};
use store_search::{AliasAction, BulkOptions, ReindexSource};

use super::support::fresh;

/// Typed creation maps dotted fields as nested properties; exists, mapping, aliases, delete.
#[tokio::test]
async fn create_mapping_aliases_delete() {
    let index = fresh("life").await;
    assert!(!index.exists().await.unwrap());
    index
        .create(
            &IndexSpec::new()
                .shards(1)
                .replicas(0)
                .field("title", FieldType::Text)
                .field("address.city", FieldType::Keyword)
                .field("at", FieldType::Date),
        )
        .await
        .unwrap();
    assert!(index.exists().await.unwrap());
    let mapping = index.mapping().await.unwrap();
    let props = &mapping[index.name().as_str()]["mappings"]["properties"];
    assert_eq!(props["title"]["type"], "text");
    assert_eq!(props["address"]["properties"]["city"]["type"], "keyword");
    assert_eq!(props["at"]["type"], "date");

    let alias = index.sibling(&format!("{}-alias", index.name())).unwrap();
    assert!(alias.alias_targets().await.unwrap().is_empty());
    alias
        .update_aliases(&[AliasAction::Add {
            index: index.name().as_str().to_owned(),
            alias: alias.name().as_str().to_owned(),
        }])
        .await
        .unwrap();
    assert_eq!(
        alias.alias_targets().await.unwrap(),
        [index.name().as_str().to_owned()]
    );
    index.drop_index().await.unwrap();
    assert!(!index.exists().await.unwrap());
    assert!(
        !alias.exists().await.unwrap(),
        "the alias goes with its index"
    );
    assert_eq!(
        index.drop_index().await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

fn flat_setting(settings: &serde_json::Value, key: &str) -> serde_json::Value {
    settings
        .as_object()
        .and_then(|m| m.values().next())
        .map(|v| v["settings"][key].clone())
        .unwrap_or_default()
}

/// Bulk-load mode turns refresh and replicas off and puts the previous values back, even
/// when the load fails.
#[tokio::test]
async fn bulk_load_mode_restores_settings_even_on_failure() {
    let index = fresh("loadmode").await;
    index
        .create_raw(&json!({"settings": {"number_of_replicas": 0, "refresh_interval": "7s"}}))
        .await
        .unwrap();
    let during = index
        .bulk_load_mode(|| async {
            let s = index.settings().await?;
            Ok((
                flat_setting(&s, "index.refresh_interval"),
                flat_setting(&s, "index.number_of_replicas"),
            ))
        })
        .await
        .unwrap();
    assert_eq!(during, (json!("-1"), json!("0")));
    let failed: Result<(), StoreError> = index
        .bulk_load_mode(|| async { Err(StoreError::internal("the load broke")) })
        .await;
    assert_eq!(failed.unwrap_err().message(), "the load broke");
    let after = index.settings().await.unwrap();
    assert_eq!(flat_setting(&after, "index.refresh_interval"), json!("7s"));
    assert_eq!(flat_setting(&after, "index.number_of_replicas"), json!("0"));
    index.drop_index().await.unwrap();
}

fn docs(version: usize, count: usize) -> impl futures::Stream<Item = BulkOp> + Send {
    futures::stream::iter(0..count).map(move |n| BulkOp::Index {
        id: format!("d{n}"),
        doc: Document::new()
            .with("n", n as i64)
            .with("version", version as i64),
    })
}

/// Two reindexes with alias swaps while a reader queries the alias in a loop: the reader never
/// sees an error or an empty result, and the old versions are gone.
#[tokio::test]
async fn reindex_swaps_the_alias_without_downtime() {
    let alias = fresh("reidx").await;
    let spec = IndexSpec::new()
        .shards(1)
        .replicas(0)
        .field("n", FieldType::Long)
        .field("version", FieldType::Long);
    let first = alias
        .reindex(
            &spec,
            ReindexSource::stream(docs(1, 2_000), BulkOptions::default()),
        )
        .await
        .unwrap();
    assert_eq!(first.new_index, format!("{}_v1", alias.name()));
    assert_eq!(first.documents, 2_000);
    assert!(first.previous.is_empty());

    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = {
        let alias = alias.clone();
        let stop = stop.clone();
        let reads = reads.clone();
        tokio::spawn(async move {
            let mut versions = std::collections::BTreeSet::new();
            while !stop.load(Ordering::Relaxed) {
                let response = alias
                    .search(&SearchRequest::new(Q::range("n").lt(100)).size(5))
                    .await
                    .expect("a read of the alias must never fail");
                assert!(
                    response.total > 0,
                    "a read of the alias must never be empty"
                );
                let count = alias.count(&Q::MatchAll).await.expect("count never fails");
                assert!(count >= 2_000, "count {count}");
                if let Some(v) = response.hits[0]
                    .source
                    .get("version")
                    .and_then(|v| v.as_i64())
                {
                    versions.insert(v);
                }
                reads.fetch_add(1, Ordering::Relaxed);
            }
            versions
        })
    };
    let second = alias
        .reindex(
            &spec,
            ReindexSource::stream(docs(2, 3_000), BulkOptions::default()),
        )
        .await
        .unwrap();
    assert_eq!(second.new_index, format!("{}_v2", alias.name()));
    assert_eq!(second.previous, std::slice::from_ref(&first.new_index));
    let third = alias.reindex(&spec, ReindexSource::Current).await.unwrap();
    assert_eq!(third.new_index, format!("{}_v3", alias.name()));
    assert_eq!(
        third.documents, 3_000,
        "_reindex copies the current version"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let versions = reader.await.expect("the reader never failed");
    assert!(reads.load(Ordering::Relaxed) > 3, "the reader ran");
    assert!(
        versions.contains(&2),
        "the reader saw the new version: {versions:?}"
    );
    assert_eq!(
        alias.alias_targets().await.unwrap(),
        std::slice::from_ref(&third.new_index)
    );
    for old in [&first.new_index, &second.new_index] {
        assert!(
            !alias.sibling(old).unwrap().exists().await.unwrap(),
            "{old} deleted"
        );
    }
    alias
        .sibling(&third.new_index)
        .unwrap()
        .drop_index()
        .await
        .unwrap();
}

/// A stream load with failures aborts the reindex: the new index is removed, the alias kept.
#[tokio::test]
async fn failed_reindex_leaves_the_alias_alone() {
    let alias = fresh("reidxfail").await;
    let spec = IndexSpec::new()
        .shards(1)
        .replicas(0)
        .field("n", FieldType::Long);
    let first = alias
        .reindex(
            &spec,
            ReindexSource::stream(docs(1, 10), BulkOptions::default()),
        )
        .await
        .unwrap();
    let broken = futures::stream::iter(vec![BulkOp::Index {
        id: "x".into(),
        doc: Document::new().with("n", "NaN-text"),
    }]);
    let e = alias
        .reindex(&spec, ReindexSource::stream(broken, BulkOptions::default()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("failed to load"), "{e}");
    assert_eq!(
        alias.alias_targets().await.unwrap(),
        std::slice::from_ref(&first.new_index)
    );
    assert!(
        !alias
            .sibling(&format!("{}_v2", alias.name()))
            .unwrap()
            .exists()
            .await
            .unwrap()
    );
    assert_eq!(alias.count(&Q::MatchAll).await.unwrap(), 10);
    alias
        .sibling(&first.new_index)
        .unwrap()
        .drop_index()
        .await
        .unwrap();
}
