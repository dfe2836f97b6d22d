//! Search index → archive (a local directory) → a new index, on OpenSearch (read from a point in
//! time) and on Elasticsearch 7.10.2 (read through a scroll: its point in time is x-pack), both
//! read by `_seq_no` then `_id` as the `stores` command reads them; and a read resumed from a
//! cursor of that order.

use std::sync::Arc;

use futures::{StreamExt as _, TryStreamExt};
use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint};
use store_core::Document;
use store_core::SearchIndex;
use store_core::search::IndexOptions;
use store_search::{OpenSearchIndex, PitSlices};
use store_sync::{
    ArchiveSink, ArchiveSource, Comparison, DocumentCollection, Partition, ReadOrder, RecordSource,
    SearchCollection, Silent, SlicedHit, check, copy,
};

use crate::data::{dataset, memory_source, options};

fn collection(index: Arc<OpenSearchIndex>, label: &str) -> SearchCollection {
    let pit = index.clone();
    SearchCollection::new(index, label)
        .read_order(ReadOrder::SeqNo)
        .scanner(Arc::new(move |request| {
            pit.search_pit(request, std::time::Duration::from_secs(60))
        }))
}

/// [`collection`] read in two slices at once, as the `stores` command reads it.
fn sliced(index: Arc<OpenSearchIndex>, label: &str) -> SearchCollection {
    let pit = index.clone();
    collection(index, label).slice_scanner(
        Arc::new(move |request, starts| {
            let slices = PitSlices::from_starts(starts)
                .by_field("_seq_no")
                .page_bytes(store_sync::BATCH_BYTES);
            pit.search_pit_slices(request, std::time::Duration::from_secs(60), slices)
                .map(|hit| hit.map(|(of, hit)| SlicedHit::new(of.slice, of.slices, hit)))
                .boxed()
        }),
        2,
    )
}

/// A new index on a server, filled with a dataset copied from an in-memory store.
struct Seeded {
    url: String,
    index: Arc<OpenSearchIndex>,
    /// The index, read as the `stores` command reads it.
    source: SearchCollection,
    /// The in-memory store it was copied from.
    seed: DocumentCollection,
}

/// A new index named after `prefix` on `server`, holding `dataset(n)`.
async fn seeded(server: Service, prefix: &str, n: usize) -> Seeded {
    let url = endpoint(server).await;
    let name = unique_name(prefix);
    let index = Arc::new(OpenSearchIndex::builder(&name).url(&url).build().unwrap());
    let source = collection(index.clone(), &name);
    let (_, seed) = memory_source(dataset(n)).await;
    copy(&seed, &source, &options(), &Silent).await.unwrap();
    Seeded {
        url,
        index,
        source,
        seed,
    }
}

#[tokio::test]
async fn an_opensearch_read_resumes_after_its_cursor_and_meets_documents_changed_since() {
    resumes_after_its_cursor(Service::OpenSearch, false).await;
}

#[tokio::test]
async fn an_elasticsearch_read_resumes_after_its_cursor_and_meets_documents_changed_since() {
    resumes_after_its_cursor(Service::Elasticsearch, false).await;
}

#[tokio::test]
async fn an_opensearch_read_in_slices_resumes_each_slice_after_its_cursor() {
    resumes_after_its_cursor(Service::OpenSearch, true).await;
}

#[tokio::test]
async fn an_elasticsearch_read_in_slices_resumes_after_its_cursor() {
    resumes_after_its_cursor(Service::Elasticsearch, true).await;
}

/// Two batches of a read by `_seq_no`, then a document of the first batch changed, then the
/// read resumed from the second batch's cursor (as a killed `stores backup` resumes): every
/// other document comes exactly once, and the changed one again, as changed. `in_slices`:
/// read in two slices, the cursor holding where each stands.
async fn resumes_after_its_cursor(server: Service, in_slices: bool) {
    const N: usize = 1_000;
    const BATCH: usize = 100;
    let Seeded { index, source, .. } = seeded(server, "sync-resume", N).await;
    let source = if in_slices {
        sliced(index.clone(), "sliced")
    } else {
        source
    };

    let mut first = source.read(Partition::whole(), None, BATCH);
    let one = first.try_next().await.unwrap().expect("a first batch");
    let two = first.try_next().await.unwrap().expect("a second batch");
    drop(first);
    let cursor = two.resume.clone().expect("a cursor");
    let mark = if in_slices { "seqs:[" } else { "seq:" };
    assert!(cursor.starts_with(mark), "{cursor}");
    let changed = one.records[3].key.to_string();
    index
        .index(
            &changed,
            Document::new().with("changed", true),
            IndexOptions::default(),
        )
        .await
        .unwrap();

    let rest: Vec<_> = source
        .read(Partition::whole(), Some(cursor), BATCH)
        .try_collect()
        .await
        .unwrap();
    let mut seen: Vec<String> = one
        .records
        .iter()
        .chain(&two.records)
        .chain(rest.iter().flat_map(|b| &b.records))
        .map(|r| r.key.to_string())
        .collect();
    let again: Vec<_> = rest
        .iter()
        .flat_map(|b| &b.records)
        .filter(|r| r.key.to_string() == changed)
        .collect();
    assert_eq!(again.len(), 1, "the changed document is read again");
    assert_eq!(again[0].doc, Document::new().with("changed", true));
    assert_eq!(seen.len(), N + 1);
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen.len(),
        N,
        "every document, none twice but the changed one"
    );
    index.drop_index().await.unwrap();
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
    let Seeded {
        url,
        index,
        source,
        seed,
    } = seeded(server, "sync-src", N).await;
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
    // OpenSearch gives sources back as JSON (bytes as base64 text): compared as such.
    assert_eq!(verdict.comparison, Comparison::Json);
    index.drop_index().await.unwrap();
    restored.drop_index().await.unwrap();
}

#[tokio::test]
async fn an_opensearch_index_with_no_mapping_yet_backs_up_as_empty() {
    backs_up_an_unmapped_index(Service::OpenSearch).await;
}

#[tokio::test]
async fn an_elasticsearch_index_with_no_mapping_yet_backs_up_as_empty() {
    backs_up_an_unmapped_index(Service::Elasticsearch).await;
}

/// An index created without a mapping, into which nothing was ever written (the server then
/// refuses a sort on `_seq_no` unless told its type), backs up as an empty archive.
async fn backs_up_an_unmapped_index(server: Service) {
    let url = endpoint(server).await;
    let name = unique_name("sync-unmapped");
    let index = Arc::new(OpenSearchIndex::builder(&name).url(&url).build().unwrap());
    let created = index
        .client()
        .indices()
        .create(store_search::sdk::indices::IndicesCreateParts::Index(&name))
        .send()
        .await
        .unwrap();
    assert!(created.status_code().is_success());
    let dir = tempfile::tempdir().unwrap();
    let sink = ArchiveSink::in_dir(
        dir.path(),
        "file://archive",
        "stores-test",
        Partition::whole(),
    );
    let source = collection(index.clone(), &name);
    let report = copy(&source, &sink, &options(), &Silent).await.unwrap();
    assert_eq!(report.records, 0);
    let archive = ArchiveSource::in_dir(dir.path(), "file://archive");
    let verdict = check(&source, &archive, 500).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
    index.drop_index().await.unwrap();
}
