//! Listings compared with the in-memory reference store, over keys chosen to stress the
//! on-disk layout: empty segments, long segments cut into continued pieces next to folders of
//! the same start, bytes on both sides of `/`, multi-byte characters and odd delimiters.

#[path = "common/scratch.rs"]
mod scratch;

use bytes::Bytes;
use futures::TryStreamExt;
use scratch::ScratchStore;
use store_core::memory::MemoryObjectStore;
use store_core::object::{ListEntry, ListOptions, ListPage, PutOptions};
use store_core::{Cursor, ObjectKey, ObjectStore};

/// xorshift, so the key sets are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// A long run that crosses the 200-byte piece limit at various points.
fn long(rng: &mut Rng) -> String {
    let unit = rng.pick(&["x", "X", "é", ".", "-"]);
    let count = 60 + (rng.next() % 160) as usize;
    unit.repeat(count)
}

fn random_key(rng: &mut Rng) -> String {
    let parts = 1 + rng.next() % 4;
    let mut key = String::new();
    for i in 0..parts {
        if i > 0 {
            key.push('/');
        }
        match rng.next() % 6 {
            0 => key.push_str(&long(rng)),
            _ => key.push_str(rng.pick(&[
                "", "a", "a-b", "a.b", "a0", "ab", "A", "é", "e\u{301}", "-", "..",
            ])),
        }
    }
    if key.is_empty() || key.len() > 1024 {
        "fallback".to_owned()
    } else {
        key
    }
}

async fn pages(store: &dyn ObjectStore, options: &ListOptions) -> Vec<ListPage> {
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = store
            .list_page(options, cursor.take())
            .await
            .unwrap_or_else(|e| panic!("{} list {options:?}: {e}", store.backend()));
        let next = page.next.clone();
        out.push(page);
        match next {
            // Cursors differ between stores; each resumes its own.
            Some(next) => cursor = Some(next),
            None => return out,
        }
        assert!(out.len() < 10_000, "paging does not end");
    }
}

/// A page without cursors and times: (key, size) of each object, common prefixes, more.
type Shape = (Vec<(String, u64)>, Vec<String>, bool);

/// What the pages say.
fn shape(pages: &[ListPage]) -> Vec<Shape> {
    pages
        .iter()
        .map(|p| {
            (
                p.objects
                    .iter()
                    .map(|m| (m.key.as_str().to_owned(), m.size))
                    .collect(),
                p.common_prefixes.clone(),
                p.next.is_some(),
            )
        })
        .collect()
}

#[tokio::test]
async fn listings_match_the_reference_store() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..3 {
        let fs = ScratchStore::new("listing").await;
        let memory = MemoryObjectStore::new();
        let mut keys: Vec<String> = (0..120).map(|_| random_key(&mut rng)).collect();
        // Long segments sharing a first piece with a folder and an object of exactly that piece.
        let piece = "a".repeat(200);
        keys.extend([
            piece.clone(),
            format!("{piece}/b"),
            format!("{piece}-c"),
            format!("{piece}0"),
            format!("{piece}{piece}"),
            format!("{piece}{piece}/z"),
        ]);
        for key in &keys {
            let k = ObjectKey::new(key.as_str()).unwrap();
            let body = Bytes::from(key.clone().into_bytes());
            for store in [&fs as &dyn ObjectStore, &memory] {
                store
                    .put(&k, body.clone(), PutOptions::new())
                    .await
                    .unwrap_or_else(|e| panic!("{} put {key:?}: {e}", store.backend()));
            }
        }
        let prefixes = ["", "a", "a/", "é", "aaaa", &piece, "-", "x"];
        let delimiters = [None, Some("/"), Some("a"), Some("/a"), Some("é")];
        for prefix in prefixes {
            for delimiter in delimiters {
                for page_size in [1usize, 1000] {
                    let mut options = ListOptions::new().prefix(prefix).page_size(page_size);
                    if let Some(d) = delimiter {
                        options = options.delimiter(d);
                    }
                    let expected = shape(&pages(&memory, &options).await);
                    let actual = shape(&pages(&fs, &options).await);
                    assert_eq!(
                        actual, expected,
                        "round {round}: listing {options:?} differs from the reference"
                    );
                }
            }
        }
        let streamed: Vec<ListEntry> = fs.list(ListOptions::new()).try_collect().await.unwrap();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        let listed: Vec<&str> = streamed
            .iter()
            .map(|e| e.as_object().unwrap().key.as_str())
            .collect();
        assert_eq!(
            listed, sorted,
            "round {round}: every key once, in byte order"
        );
    }
}
