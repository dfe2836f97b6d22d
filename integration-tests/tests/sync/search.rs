//! Search index → archive (a local directory) → a new index, on OpenSearch (read from a point in
//! time) and on Elasticsearch 7.10.2 (read through a scroll: its point in time is x-pack).

use std::sync::Arc;

use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint};
use store_core::SearchIndex;
use store_search::OpenSearchIndex;
use store_sync::{ArchiveSink, ArchiveSource, Partition, SearchCollection, Silent, check, copy};

use crate::data::{dataset, memory_source, options};

fn collection(index: Arc<OpenSearchIndex>, label: &str) -> SearchCollection {
    let pit = index.clone();
    SearchCollection::new(index, label).scanner(Arc::new(move |request| {
        pit.search_pit(request, std::time::Duration::from_secs(60))
    }))
}

#[tokio::test]
async fn an_opensearch_index_backs_up_and_restores_into_a_new_index() {
    backs_up_and_restores(Service::OpenSearch).await;
}

#[tokio::test]
async fn an_elasticsearch_index_backs_up_and_restores_into_a_new_index() {
    backs_up_and_restores(Service::Elasticsearch).await;
}

async fn backs_up_and_restores(server: Service) {
    const N: usize = 3_000;
    let url = endpoint(server).await;
    let name = unique_name("sync-src");
    let index = Arc::new(OpenSearchIndex::builder(&name).url(&url).build().unwrap());
    let source = collection(index.clone(), &name);
    let (_, seed) = memory_source(dataset(N)).await;
    copy(&seed, &source, &options(), &Silent).await.unwrap();
    assert!(check(&seed, &source, 500).await.unwrap().is_equal());

    let dir = tempfile::tempdir().unwrap();
    let sink = ArchiveSink::in_dir(
        dir.path(),
        "file://archive",
        "stores-test",
        Partition::whole(),
    );
    assert_eq!(
        copy(&source, &sink, &options(), &Silent)
            .await
            .unwrap()
            .records,
        N as u64
    );
    let archive = ArchiveSource::in_dir(dir.path(), "file://archive");
    let restored_name = unique_name("sync-restored");
    let restored = Arc::new(
        OpenSearchIndex::builder(&restored_name)
            .url(&url)
            .build()
            .unwrap(),
    );
    let target = collection(restored.clone(), &restored_name);
    copy(&archive, &target, &options(), &Silent).await.unwrap();
    let verdict = check(&source, &target, 500).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
    assert_eq!(verdict.right.count(), N as u64);
    index.drop_index().await.unwrap();
    restored.drop_index().await.unwrap();
}
