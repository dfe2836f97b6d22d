use std::io::Write;
use std::path::PathBuf;

use store_core::ErrorKind;

use super::*;

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "store-fs-record-{name}-{}-{}",
        std::process::id(),
        bytes.len()
    ));
    std::fs::File::create(&path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
    path
}

fn object_file(body: &[u8], key: &str) -> Vec<u8> {
    object_file_with(body, key, "v")
}

fn object_file_with(body: &[u8], key: &str, value: &str) -> Vec<u8> {
    use sha2::Digest;
    let trailer = Trailer::now(
        &ObjectKey::new(key).unwrap(),
        body.len() as u64,
        hex(&sha2::Sha256::digest(body)),
        Some("text/plain".into()),
        BTreeMap::from([("k".to_owned(), value.to_owned())]),
    );
    let mut out = body.to_vec();
    out.extend(trailer.encode().unwrap());
    out
}

#[test]
fn small_and_large_files_read_back_with_their_metadata() {
    for len in [0usize, 10, 200_000] {
        let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let path = scratch("roundtrip", &object_file(&body, "a/b"));
        let mut opened = open(&path, "a/b").unwrap();
        assert_eq!(opened.trailer.size, len as u64);
        assert_eq!(opened.trailer.content_type.as_deref(), Some("text/plain"));
        assert_eq!(opened.trailer.etag().len(), 66, "64 hex digits, quoted");
        let trailer = read_trailer(&path, "a/b").unwrap();
        assert_eq!(trailer.etag(), opened.trailer.etag());
        match opened.whole.take() {
            Some(whole) => assert_eq!(whole, body),
            None => {
                let mut read = Vec::new();
                opened.file.read_to_end(&mut read).unwrap();
                assert_eq!(&read[..len], &body[..], "the file is rewound to the body");
            }
        }
        std::fs::remove_file(path).unwrap();
    }
}

#[test]
fn the_etag_is_the_sha256_of_the_body() {
    let path = scratch("etag", &object_file(b"abc", "k"));
    let opened = open(&path, "k").unwrap();
    assert_eq!(
        opened.trailer.etag(),
        "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\""
    );
    std::fs::remove_file(path).unwrap();
}

#[test]
fn damaged_files_are_internal_errors_never_panics() {
    let good = object_file(b"hello world", "k");
    let mut cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"short".to_vec(),
        good[..good.len() - 1].to_vec(),
        good[1..].to_vec(),
    ];
    let mut bad_len = good.clone();
    let at = bad_len.len() - FOOTER;
    bad_len[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    cases.push(bad_len);
    let mut bad_json = good.clone();
    bad_json[12] = b'#';
    cases.push(bad_json);
    for (i, bytes) in cases.into_iter().enumerate() {
        let path = scratch(&format!("damaged{i}"), &bytes);
        let err = open(&path, "k").err().expect("a damaged file is an error");
        assert_eq!(err.kind(), ErrorKind::Internal, "case {i}: {err}");
        let err = read_trailer(&path, "k").expect_err("a damaged file is an error");
        assert_eq!(err.kind(), ErrorKind::Internal, "case {i}: {err}");
        std::fs::remove_file(path).unwrap();
    }
    let path = scratch("wrongkey", &good);
    let err = open(&path, "other").err().expect("another key's file");
    assert!(err.message().contains("holds key `k`"), "{err}");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn oversized_metadata_is_invalid_input() {
    let trailer = Trailer::now(
        &ObjectKey::new("k").unwrap(),
        0,
        String::new(),
        None,
        BTreeMap::from([("big".to_owned(), "x".repeat(MAX_TRAILER))]),
    );
    assert_eq!(
        trailer.encode().unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn metadata_larger_than_the_first_tail_read_is_read_in_full() {
    let value = "m".repeat(10_000);
    for len in [5usize, 300_000] {
        let path = scratch("bigmeta", &object_file_with(&vec![1u8; len], "k", &value));
        let trailer = read_trailer(&path, "k").unwrap();
        assert_eq!(trailer.metadata["k"], value);
        assert_eq!(trailer.size, len as u64);
        assert_eq!(open(&path, "k").unwrap().trailer.metadata["k"], value);
        std::fs::remove_file(path).unwrap();
    }
}
