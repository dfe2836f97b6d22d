//! Paging by `_id` with `search_after` (how a copy reads an index) gives what the in-memory
//! reference index gives, page for page: every id once, in byte order, past deletes, with a
//! query and an offset, across several segments.

#[path = "support/temp.rs"]
mod temp;

use store_core::memory::MemorySearchIndex;
use store_core::search::{BulkOp, IndexSpec, SearchQuery as Q, SearchRequest, SortField};
use store_core::{Document, SearchIndex, Value};
use store_tantivy::TantivyIndex;
use temp::TempDir;

/// Ids that sort by their bytes: prefixes of each other, digits, capitals, accents, emoji.
fn ids() -> Vec<String> {
    let mut ids: Vec<String> = (0..400)
        .map(|i| format!("doc-{:03}", (i * 7919) % 400))
        .collect();
    for extra in [
        "a", "a0", "ab", "B", "é", "e\u{301}", "😀", "~", "doc-", "doc-0",
    ] {
        ids.push(extra.to_owned());
    }
    ids
}

async fn load(index: &dyn SearchIndex) {
    index.create(&IndexSpec::new()).await.unwrap();
    // Three bulks, each refreshed: three segments at least.
    for chunk in ids().chunks(150) {
        let ops = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| BulkOp::Index {
                id: id.clone(),
                doc: Document::new()
                    .with("even", Value::Bool(i % 2 == 0))
                    .with("id", id.as_str()),
            })
            .collect();
        assert!(index.bulk(ops).await.unwrap().is_complete());
        index.refresh().await.unwrap();
    }
    let deletes = ["doc-007", "a0", "😀"]
        .map(|id| BulkOp::Delete { id: id.to_owned() })
        .to_vec();
    index.bulk(deletes).await.unwrap();
    index.refresh().await.unwrap();
}

/// Every page of `base` from `search_after`, each page's ids, and each page's total.
async fn pages(index: &dyn SearchIndex, base: &SearchRequest) -> Vec<(Vec<String>, u64)> {
    let mut out = Vec::new();
    let mut request = base.clone();
    loop {
        let response = index.search(&request).await.unwrap();
        let Some(last) = response.hits.last() else {
            break;
        };
        request = base.clone().search_after(last.sort.clone());
        out.push((
            response.hits.iter().map(|h| h.id.clone()).collect(),
            response.total,
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_by_id_match_the_reference_index() {
    let dir = TempDir::new("paging");
    let tantivy = TantivyIndex::open(dir.path(), "pages").await.unwrap();
    let reference = MemorySearchIndex::new("pages").unwrap();
    load(&tantivy).await;
    load(&reference).await;

    let by_id = SearchRequest::new(Q::MatchAll).sort(SortField::asc("_id"));
    for size in [1, 7, 50, 1_000] {
        let base = by_id.clone().size(size);
        let ours = pages(&tantivy, &base).await;
        assert_eq!(ours, pages(&reference, &base).await, "size {size}");
        let mut all: Vec<String> = ours.into_iter().flat_map(|(ids, _)| ids).collect();
        assert_eq!(all.len(), ids().len() - 3, "size {size}");
        let sorted = {
            all.sort();
            all.clone()
        };
        all.dedup();
        assert_eq!(all, sorted, "an id came twice");
    }
    // A query, and an offset into the first page.
    let evens = SearchRequest::new(Q::term("even", true))
        .sort(SortField::asc("_id"))
        .size(13);
    assert_eq!(
        pages(&tantivy, &evens).await,
        pages(&reference, &evens).await
    );
    let offset = by_id.clone().from(5).size(10);
    let ours = tantivy.search(&offset).await.unwrap();
    let theirs = reference.search(&offset).await.unwrap();
    let ids =
        |hits: &[store_core::search::Hit]| hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&ours.hits), ids(&theirs.hits));
    assert_eq!(ours.total, theirs.total);
    // Each hit's sort values are its id, as the cursor a copy keeps.
    assert!(
        ours.hits
            .iter()
            .all(|h| h.sort == [Value::from(h.id.as_str())])
    );
}
