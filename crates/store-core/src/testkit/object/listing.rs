//! Listing: prefixes, delimiters, pages and cursors, odd keys.

use std::collections::BTreeSet;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};

use super::{ObjectStoreFactory, expect_kind, fresh, key, lacks, list_names, put, read};
use crate::error::ErrorKind;
use crate::keys::ObjectKey;
use crate::object::{ListEntry, ListOptions, ObjectStore, PutOptions};
use crate::page::Cursor;

/// Puts many small objects, a few at a time.
async fn put_all(store: &dyn ObjectStore, keys: &[ObjectKey]) {
    futures::stream::iter(keys)
        .map(|k| async move {
            store
                .put(k, Bytes::from(k.as_str().to_owned()), PutOptions::new())
                .await
                .unwrap_or_else(|e| panic!("put `{k}`: {e}"))
        })
        .buffer_unordered(16)
        .for_each(|_| async {})
        .await;
}

fn keys(texts: &[&str]) -> Vec<ObjectKey> {
    texts.iter().map(|t| key(t)).collect()
}

/// Sorted by bytes, the order S3 lists in.
fn byte_sorted<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = texts.into_iter().map(str::to_owned).collect();
    out.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    out
}

/// A prefix listing returns exactly the keys under it, in byte order, with their sizes.
pub async fn list_prefix_in_byte_order(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    if lacks(&*store, "list_prefix_in_byte_order", "nested_keys", |c| {
        c.nested_keys
    }) {
        return;
    }
    let all = [
        "a", "a/b", "a/b/c", "a-b", "a.b", "ab", "A", "B/a", "b", "a~", "aé", "a0", "a/", "c/a",
    ];
    put_all(&*store, &keys(&all)).await;
    assert_eq!(
        list_names(&*store, ListOptions::new()).await,
        byte_sorted(all),
        "listing everything, in byte order"
    );
    let under_a = byte_sorted(all.into_iter().filter(|k| k.starts_with('a')));
    assert_eq!(
        list_names(&*store, ListOptions::new().prefix("a")).await,
        under_a
    );
    assert_eq!(
        list_names(&*store, ListOptions::new().prefix("a/")).await,
        ["a/", "a/b", "a/b/c"]
    );
    assert!(
        list_names(&*store, ListOptions::new().prefix("zzz"))
            .await
            .is_empty(),
        "a prefix nothing starts with lists nothing"
    );
    let entries: Vec<ListEntry> = store
        .list(ListOptions::new().prefix("a/b"))
        .try_collect()
        .await
        .expect("list");
    for entry in entries {
        let meta = entry.as_object().expect("no delimiter, so only objects");
        assert_eq!(
            meta.size,
            meta.key.as_str().len() as u64,
            "size of `{}`",
            meta.key
        );
    }
}

/// With a delimiter, keys below the next delimiter roll up into common prefixes that end with
/// it, ordered together with the direct objects.
pub async fn list_with_delimiter(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    if lacks(&*store, "list_with_delimiter", "nested_keys", |c| {
        c.nested_keys
    }) {
        return;
    }
    put_all(
        &*store,
        &keys(&[
            "photos/2024/a.jpg",
            "photos/2024/b.jpg",
            "photos/2024/deep/c.jpg",
            "photos/2025/d.jpg",
            "photos/readme.txt",
            "photos/z/",
            "docs/x.md",
            "top.txt",
        ]),
    )
    .await;
    let options = ListOptions::new().prefix("photos/").delimiter("/");
    assert_eq!(
        list_names(&*store, options.clone()).await,
        [
            "photos/2024/",
            "photos/2025/",
            "photos/readme.txt",
            "photos/z/"
        ],
        "one level under photos/"
    );
    let page = store.list_page(&options, None).await.expect("list_page");
    assert_eq!(
        page.common_prefixes,
        ["photos/2024/", "photos/2025/", "photos/z/"]
    );
    let objects: Vec<&str> = page.objects.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(objects, ["photos/readme.txt"]);
    assert!(page.next.is_none(), "everything fits one page");
    assert_eq!(
        list_names(&*store, ListOptions::new().delimiter("/")).await,
        ["docs/", "photos/", "top.txt"],
        "top level"
    );
    assert_eq!(
        list_names(
            &*store,
            ListOptions::new().prefix("photos/2024/").delimiter("/")
        )
        .await,
        [
            "photos/2024/a.jpg",
            "photos/2024/b.jpg",
            "photos/2024/deep/"
        ],
    );
}

/// Paging with a page size of 7 over 50 keys resumes from each cursor and yields every key
/// exactly once, in order.
pub async fn list_page_resumes_with_cursor(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let all: Vec<ObjectKey> = (0..50).map(|i| key(&format!("paged/{i:03}"))).collect();
    put_all(&*store, &all).await;
    let options = ListOptions::new().prefix("paged/").page_size(7);
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut pages = 0;
    loop {
        let page = store
            .list_page(&options, cursor.take())
            .await
            .expect("list_page");
        pages += 1;
        assert!(
            page.objects.len() <= 7,
            "page {pages} has {} objects",
            page.objects.len()
        );
        seen.extend(page.objects.into_iter().map(|m| m.key));
        match page.next {
            Some(next) => {
                // A cursor survives a trip through text, as a client would hand it back.
                cursor = Some(Cursor::from_token(next.as_token().to_owned()));
            }
            None => break,
        }
        assert!(pages <= 50, "paging does not end");
    }
    assert_eq!(seen, all, "each key exactly once, in order");
    assert_eq!(pages, 8, "50 keys in pages of 7");
}

/// `start_after` lists only the keys after it in byte order (it need not exist), works with
/// a prefix (a `start_after` before the prefix changes nothing) and a delimiter, and pages
/// resume past it.
pub async fn list_start_after(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    if lacks(&*store, "list_start_after", "nested_keys", |c| {
        c.nested_keys
    }) {
        return;
    }
    let texts = ["s/a", "s/b", "s/b/1", "s/c/1", "s/c/2", "s/d", "t/a"];
    put_all(&*store, &keys(&texts)).await;
    let after = |options: ListOptions| list_names(&*store, options);
    assert_eq!(
        after(ListOptions::new().start_after("s/b")).await,
        ["s/b/1", "s/c/1", "s/c/2", "s/d", "t/a"],
        "keys strictly after an existing key"
    );
    assert_eq!(
        after(ListOptions::new().prefix("s/").start_after("s/bz")).await,
        ["s/c/1", "s/c/2", "s/d"],
        "after a key that does not exist, within the prefix"
    );
    assert_eq!(
        after(ListOptions::new().prefix("s/").start_after("a")).await,
        byte_sorted(texts.iter().copied().filter(|t| t.starts_with("s/"))),
        "a start before the prefix changes nothing"
    );
    assert_eq!(
        after(ListOptions::new().prefix("s/").start_after("zzz")).await,
        Vec::<String>::new(),
        "a start past everything lists nothing"
    );
    assert_eq!(
        after(
            ListOptions::new()
                .prefix("s/")
                .delimiter("/")
                .start_after("s/b")
        )
        .await,
        ["s/b/", "s/c/", "s/d"],
        "prefixes roll up from the keys after the start"
    );
    let paged = ListOptions::new().start_after("s/a").page_size(2);
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = store
            .list_page(&paged, cursor.take())
            .await
            .expect("list_page");
        seen.extend(page.objects.into_iter().map(|m| m.key.as_str().to_owned()));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["s/b", "s/b/1", "s/c/1", "s/c/2", "s/d", "t/a"]);
}

/// A listing stream pages by itself over 2,100 keys (more than one page of 1,000).
pub async fn list_stream_spans_pages(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let all: Vec<ObjectKey> = (0..2_100).map(|i| key(&format!("bulk/{i:05}"))).collect();
    put_all(&*store, &all).await;
    let listed = list_names(&*store, ListOptions::new().prefix("bulk/")).await;
    assert_eq!(listed.len(), 2_100, "every key is listed");
    let expected: Vec<String> = all.iter().map(|k| k.as_str().to_owned()).collect();
    assert_eq!(listed, expected, "in order, each once");
}

/// A page size of zero and a cursor this store never issued are `InvalidInput`.
pub async fn list_rejects_bad_input(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    put(&*store, &key("one"), &b"1"[..]).await;
    expect_kind(
        store
            .list_page(&ListOptions::new().page_size(0), None)
            .await,
        ErrorKind::InvalidInput,
        "a page size of zero",
    );
    expect_kind(
        store
            .list_page(
                &ListOptions::new(),
                Some(Cursor::from_token("not a cursor!")),
            )
            .await,
        ErrorKind::InvalidInput,
        "a cursor that is not one the store issued",
    );
}

/// Keys with spaces, `+`, `%`, `?`, `#`, Unicode and runs of slashes round trip and list.
pub async fn odd_keys_round_trip(factory: &ObjectStoreFactory) {
    let store = fresh(factory).await;
    let odd = [
        "with space.txt",
        "plus+sign",
        "percent%20literal",
        "percent%zz",
        "question?mark=1&b=2",
        "hash#fragment",
        "unicode/日本語/ファイル.txt",
        "emoji 🎉 party",
        "many/slashes//in///a////row",
        "/leading-slash",
        "trailing-slash/",
        "semi;colon,comma",
        "quote\"s and 'single'",
        "tilde~and*star",
        "back\\slash",
        "brackets[1]{2}(3)",
    ];
    // Keys starting or ending with `/` or holding `//` need nested keys; the others are
    // kept either way.
    let flat = lacks(
        &*store,
        "odd_keys_round_trip (keys with a leading, trailing or double /)",
        "nested_keys",
        |c| c.nested_keys,
    );
    // Keys holding `%`, `+` or non-ASCII characters need listings that keep them exact.
    let inexact = lacks(
        &*store,
        "odd_keys_round_trip (keys with %, + or non-ASCII characters)",
        "exact_listed_keys",
        |c| c.exact_listed_keys,
    );
    let path_like =
        |text: &str| text.starts_with('/') || text.ends_with('/') || text.contains("//");
    let escaped = |text: &str| text.contains(['%', '+']) || !text.is_ascii();
    let odd: Vec<&str> = odd
        .into_iter()
        .filter(|text| !(flat && path_like(text) || inexact && escaped(text)))
        .collect();
    put_all(&*store, &keys(&odd)).await;
    for &text in &odd {
        let k = key(text);
        assert_eq!(read(&*store, &k).await, text.as_bytes(), "body of `{text}`");
        assert_eq!(
            store.head(&k).await.expect("head").key,
            k,
            "head of `{text}`"
        );
    }
    let listed: BTreeSet<String> = list_names(&*store, ListOptions::new())
        .await
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = odd.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(listed, expected, "odd keys list as they were written");
    if !flat {
        assert_eq!(
            list_names(&*store, ListOptions::new().prefix("many/slashes//")).await,
            ["many/slashes//in///a////row"]
        );
    }
    if !inexact {
        assert_eq!(
            list_names(&*store, ListOptions::new().prefix("unicode/日本語/")).await,
            ["unicode/日本語/ファイル.txt"]
        );
    }
}
