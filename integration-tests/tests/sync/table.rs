//! PostgreSQL table → OpenSearch or Elasticsearch index (pgsync's job), checked equal, and read
//! back over plain HTTP with every digit.

use std::process::Command;
use std::sync::Arc;

use integration_tests::services::{Service, endpoint};
use store_core::{SearchIndex, SqlStore};
use store_rds::PgStore;
use store_search::OpenSearchIndex;
use store_sync::{SearchCollection, Silent, check, copy};

use crate::data::{options, postgres_table};

#[tokio::test]
async fn a_postgres_table_copies_into_an_opensearch_index_exactly() {
    copies_into_a_search_index(Service::OpenSearch).await;
}

#[tokio::test]
async fn a_postgres_table_copies_into_an_elasticsearch_index_exactly() {
    copies_into_a_search_index(Service::Elasticsearch).await;
}

async fn copies_into_a_search_index(server: Service) {
    const N: usize = 2_000;
    let pg = Arc::new(PgStore::from_url(&endpoint(Service::Postgres).await).unwrap());
    let (table, source) = postgres_table(&pg, "sync_src", N).await;

    let url = endpoint(server).await;
    let index = Arc::new(OpenSearchIndex::builder(&table).url(&url).build().unwrap());
    let pit_index = index.clone();
    let sink = SearchCollection::new(index.clone(), format!("{url}/{table}"))
        .key_fields(vec!["id".to_owned()])
        .scanner(Arc::new(move |request| {
            pit_index.search_pit(request, std::time::Duration::from_secs(60))
        }));
    let report = copy(&source, &sink, &options(), &Silent).await.unwrap();
    assert_eq!(report.records, N as u64);
    let verdict = check(&source, &sink, 500).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
    assert_eq!(verdict.right.count(), N as u64);

    // Another client sees the exact decimal text in `_source`.
    let id = "ключ-00000-é✓";
    let out = Command::new("curl")
        .args(["-s", "-G", &format!("{url}/{table}/_doc/{}", percent(id))])
        .output()
        .expect("curl runs");
    let body = String::from_utf8(out.stdout).unwrap();
    assert!(
        body.contains("\"n\":12345678901234567890123456789012345678"),
        "{body}"
    );
    index.drop_index().await.unwrap();
    pg.batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
