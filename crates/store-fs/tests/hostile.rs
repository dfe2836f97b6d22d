//! Hostile keys: each is either refused with a typed error or stored faithfully (put, get,
//! head, list and copy give the same key and bytes back), and nothing is ever written outside
//! the store's folder.

#[path = "common/scratch.rs"]
mod scratch;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::TryStreamExt;
use scratch::{Cleanup, unique_dir};
use store_core::memory::MemoryObjectStore;
use store_core::object::{GetOptions, ListEntry, ListOptions, PutOptions};
use store_core::{ErrorKind, ObjectKey, ObjectStore};
use store_fs::FsStore;

/// Keys that a file system mapping could get wrong.
fn hostile_keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        // Climbing out, absolute paths, dots.
        "..",
        ".",
        "...",
        "../escape",
        "../../../../../../etc/passwd",
        "a/../../b",
        "./a",
        "a/./b",
        "/etc/passwd",
        "/",
        "//",
        "a/",
        "a//b",
        ".hidden",
        // The store's own names.
        ".tmp-0000000000000000-1",
        ".store-fs.json",
        ".store-fs.lock",
        "objects",
        "objects/a~",
        "a~",
        "a+",
        "~",
        "+",
        "%",
        "%2e",
        "%41",
        "a%2fb",
        // Windows-isms.
        "C:\\Windows\\system32",
        "\\\\server\\share",
        "con",
        "CON",
        "nul.txt",
        "trailing. ",
        " ",
        // Control characters.
        "\u{1}\u{2}\u{3}",
        "line\nbreak",
        "cr\r\nlf",
        "tab\there",
        "\u{1b}[31mred\u{1b}[0m",
        "\u{7f}",
        // Case and Unicode normalisation: all different keys.
        "A",
        "a",
        "README",
        "readme",
        "caf\u{e9}",
        "cafe\u{301}",
        "\u{c5}",
        "\u{212b}",
        "A\u{30a}",
        "\u{fb01}",
        "\u{200b}",
        "\u{202e}evil",
        "\u{feff}bom",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    // Longest keys: 1,024 bytes, escaped or not, one segment or many.
    keys.extend([
        "x".repeat(1024),
        "X".repeat(1024),
        "\u{e9}".repeat(512),
        "\u{1f600}".repeat(256),
        "/".repeat(1024),
        "a/".repeat(512),
        ".".repeat(1024),
        "%".repeat(1024),
        format!("{}/{}", "y".repeat(300), "Z".repeat(700)),
    ]);
    keys
}

/// Every file and folder under `dir`, not following links.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            assert!(!kind.is_symlink(), "a link: {}", entry.path().display());
            if kind.is_dir() {
                stack.push(entry.path());
            }
            out.push(entry.path());
        }
    }
    out
}

#[tokio::test]
async fn hostile_keys_round_trip_or_fail_typed_and_stay_inside_the_root() {
    let base = unique_dir("hostile");
    let _cleanup = Cleanup(base.clone());
    std::fs::create_dir_all(&base).unwrap();
    std::fs::write(base.join("sentinel"), b"untouched").unwrap();
    let root = base.join("store");
    let store = FsStore::open(&root).await.unwrap();
    let memory = MemoryObjectStore::new();

    // Refused by the key type itself, before any store sees them.
    for (bad, why) in [
        ("x".repeat(2000), "2,000 bytes"),
        ("\u{e9}".repeat(513), "1,026 bytes of UTF-8"),
        ("nul\0byte".to_owned(), "NUL"),
        (String::new(), "empty"),
    ] {
        let err = ObjectKey::new(bad).expect_err(why);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{why}");
    }

    let keys = hostile_keys();
    let unique: BTreeSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "the hostile keys are distinct");
    for (i, text) in keys.iter().enumerate() {
        let key = ObjectKey::new(text.as_str()).unwrap();
        let body = Bytes::from(format!("{i}:{text}"));
        let options = PutOptions::new().metadata("index", i.to_string());
        store
            .put(&key, body.clone(), options.clone())
            .await
            .unwrap_or_else(|e| panic!("put {text:?}: {e}"));
        memory.put(&key, body.clone(), options).await.unwrap();
        let got = store.get(&key, GetOptions::new()).await.unwrap();
        assert_eq!(got.meta.key, key, "get names the key {text:?}");
        assert_eq!(got.bytes().await.unwrap(), body, "body of {text:?}");
        assert_eq!(store.head(&key).await.unwrap().key, key, "head of {text:?}");
    }
    // Every key reads back its own body: no two keys share a file.
    for (i, text) in keys.iter().enumerate() {
        let key = ObjectKey::new(text.as_str()).unwrap();
        let body = store
            .get(&key, GetOptions::new())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(body, format!("{i}:{text}").as_bytes(), "{text:?}");
    }

    // Listings give every key back exactly, in byte order, as the reference store does.
    for options in [
        ListOptions::new(),
        ListOptions::new().delimiter("/"),
        ListOptions::new().prefix("a").delimiter("/"),
        ListOptions::new().prefix("/").delimiter("/"),
        ListOptions::new().prefix(".").page_size(2),
    ] {
        let names = |entries: Vec<ListEntry>| -> Vec<String> {
            entries
                .into_iter()
                .map(|e| match e {
                    ListEntry::Object(m) => m.key.as_str().to_owned(),
                    ListEntry::Prefix(p) => p,
                })
                .collect()
        };
        let ours = names(store.list(options.clone()).try_collect().await.unwrap());
        let reference = names(memory.list(options.clone()).try_collect().await.unwrap());
        assert_eq!(ours, reference, "listing {options:?}");
    }
    let all: Vec<ListEntry> = store.list(ListOptions::new()).try_collect().await.unwrap();
    let mut sorted = keys.clone();
    sorted.sort();
    let listed: Vec<String> = all
        .iter()
        .map(|e| e.as_object().unwrap().key.as_str().to_owned())
        .collect();
    assert_eq!(listed, sorted);

    // Copies between hostile keys.
    for (from, to) in [("..", "/"), ("caf\u{e9}", "cafe\u{301}"), ("a~", "A")] {
        let (from, to) = (ObjectKey::new(from).unwrap(), ObjectKey::new(to).unwrap());
        store.copy(&from, &to).await.unwrap();
        assert_eq!(
            store
                .get(&to, GetOptions::new())
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
            store
                .get(&from, GetOptions::new())
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        );
    }

    // Nothing outside the root, no name over 255 bytes, only ASCII names.
    let outside: Vec<String> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        outside,
        ["sentinel", "store"],
        "the base folder is untouched"
    );
    assert_eq!(std::fs::read(base.join("sentinel")).unwrap(), b"untouched");
    // The walk follows no links and fails on any, and `read_dir` never yields `.` or `..`,
    // so everything it finds is inside the root.
    for path in walk(&root) {
        let name = path.file_name().unwrap();
        assert!(name.len() <= 255, "{}", path.display());
        assert!(name.to_str().is_some_and(|n| n.is_ascii()), "{path:?}");
    }

    // Deleting everything leaves an empty object folder: emptied folders are pruned.
    let all_keys: Vec<ObjectKey> = keys
        .iter()
        .map(|k| ObjectKey::new(k.as_str()).unwrap())
        .collect();
    let failures = store.delete_many(&all_keys).await.unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    let left: Vec<PathBuf> = walk(&root.join("objects"));
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_path_too_long_for_the_os_is_invalid_input_not_a_crash() {
    // A root about 1,300 bytes deep: the longest escaped keys then pass Linux's 4 KiB limit.
    let base = unique_dir("deep");
    let _cleanup = Cleanup(base.clone());
    let mut root = base.clone();
    for _ in 0..12 {
        root.push("d".repeat(100));
    }
    let store = FsStore::open(&root).await.unwrap();
    let mut refused = 0;
    for text in ["X".repeat(1024), "%".repeat(1024), "\u{1f600}".repeat(256)] {
        let key = ObjectKey::new(text.as_str()).unwrap();
        match store
            .put(&key, Bytes::from_static(b"deep"), PutOptions::new())
            .await
        {
            Ok(_) => {
                let body = store
                    .get(&key, GetOptions::new())
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                assert_eq!(body, &b"deep"[..]);
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
                assert!(e.message().contains("too long"), "{e}");
                refused += 1;
            }
        }
        match store.get(&key, GetOptions::new()).await {
            Ok(_) => {}
            Err(e) => assert!(
                matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::NotFound),
                "{e}"
            ),
        }
    }
    assert_eq!(refused, 3, "on Linux these paths pass PATH_MAX");
    let listed: Vec<ListEntry> = store.list(ListOptions::new()).try_collect().await.unwrap();
    assert!(listed.is_empty(), "{listed:?}");
}
