//! Opening, reopening, refresh visibility, exact sources, the format check and the one-writer
//! rule (in this process and from another one).

#[path = "support/temp.rs"]
mod temp;

use std::process::Command;

use serde_json::json;
use store_core::search::{
    FieldType, IndexOptions, IndexSpec, SearchQuery as Q, SearchRequest, SortField,
};
use store_core::{Document, ErrorKind, Number, SearchIndex, Value, from_json};
use store_tantivy::{FORMAT_VERSION, TantivyIndex};
use temp::TempDir;

fn doc(json: serde_json::Value) -> Document {
    match from_json(json).unwrap() {
        Value::Map(d) => d,
        other => panic!("not a map: {other:?}"),
    }
}

fn num(text: &str) -> Value {
    Value::Number(text.parse::<Number>().unwrap())
}

/// Set in the child of `a_second_process_gets_conflict`: the root to open.
const CHILD_ENV: &str = "STORE_TANTIVY_SECOND_WRITER_ROOT";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_searchable_after_refresh_and_get_is_real_time() {
    let dir = TempDir::new("refresh");
    let index = TantivyIndex::open(dir.path(), "visible").await.unwrap();
    index
        .create(&IndexSpec::new().field("n", FieldType::Long))
        .await
        .unwrap();
    index
        .index("a", doc(json!({"n": 1})), IndexOptions::new())
        .await
        .unwrap();
    assert!(index.get("a").await.unwrap().is_some(), "get is real time");
    assert_eq!(
        index.count(&Q::MatchAll).await.unwrap(),
        0,
        "not searchable before a refresh"
    );
    let hits = index
        .search(&SearchRequest::new(Q::MatchAll))
        .await
        .unwrap();
    assert_eq!(hits.total, 0);
    index.refresh().await.unwrap();
    assert_eq!(index.count(&Q::MatchAll).await.unwrap(), 1);
    // A delete is also invisible to search until the refresh, but visible to get at once.
    assert!(index.delete("a", IndexOptions::new()).await.unwrap());
    assert_eq!(index.get("a").await.unwrap(), None);
    assert_eq!(index.count(&Q::MatchAll).await.unwrap(), 1);
    index
        .index("b", doc(json!({"n": 2})), IndexOptions::new().refresh())
        .await
        .unwrap();
    assert_eq!(
        index.count(&Q::MatchAll).await.unwrap(),
        1,
        "a write with refresh commits everything before it"
    );
    assert_eq!(index.count(&Q::term("n", 2)).await.unwrap(), 1);
    index.drop_index().await.unwrap();
    assert!(
        !dir.path().join("visible").exists(),
        "drop removes the directory"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_documents_mapping_and_versions_survive_reopening() {
    let dir = TempDir::new("reopen");
    let index = TantivyIndex::open(dir.path(), "books").await.unwrap();
    let v1 = index
        .index(
            "a",
            doc(json!({"title": "Rust in depth", "year": 2021, "tags": ["db", "rust"]})),
            IndexOptions::new().refresh(),
        )
        .await
        .unwrap();
    index
        .index("lost", doc(json!({"year": 1})), IndexOptions::new())
        .await
        .unwrap();
    index.close().await.unwrap();

    let again = TantivyIndex::open(dir.path(), "books").await.unwrap();
    let stored = again.get("a").await.unwrap().expect("committed document");
    assert_eq!(stored.version, v1);
    assert!(
        again.get("lost").await.unwrap().is_some(),
        "close commits pending writes"
    );
    // Dynamic fields are still mapped: text with its keyword sub-field, a sortable long.
    assert_eq!(again.count(&Q::matches("title", "DEPTH")).await.unwrap(), 1);
    assert_eq!(
        again
            .count(&Q::term("title.keyword", "Rust in depth"))
            .await
            .unwrap(),
        1
    );
    let sorted = again
        .search(&SearchRequest::new(Q::MatchAll).sort(SortField::desc("year")))
        .await
        .unwrap();
    let ids: Vec<_> = sorted.hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["a", "lost"]);
    // Versions go on: a higher seq_no, and a new primary term for the new writer.
    let v2 = again
        .index("b", doc(json!({"year": 2})), IndexOptions::new())
        .await
        .unwrap();
    assert!(v2.seq_no > v1.seq_no, "{v1:?} then {v2:?}");
    assert!(v2.primary_term > v1.primary_term, "{v1:?} then {v2:?}");
    again
        .index(
            "a",
            doc(json!({"year": 3})),
            IndexOptions::new().if_version(v1),
        )
        .await
        .expect("the version of a committed document still matches after reopening");
    again.drop_index().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_are_exact_and_big_numbers_are_approximate_only_in_queries() {
    let dir = TempDir::new("exact");
    let index = TantivyIndex::open(dir.path(), "exact").await.unwrap();
    index
        .create(&IndexSpec::new().field("x", FieldType::Double))
        .await
        .unwrap();
    let big = "12345678901234567890123456789012345678";
    let bigger = "12345678901234567890123456789012345679";
    let a = Document::new()
        .with("x", num(big))
        .with("price", num("1.50"))
        .with("raw", Value::Bytes(vec![0u8, 1, 255].into()));
    let b = Document::new().with("x", num(bigger));
    index
        .index("a", a.clone(), IndexOptions::new())
        .await
        .unwrap();
    index
        .index("b", b.clone(), IndexOptions::new().refresh())
        .await
        .unwrap();
    let stored = index.get("a").await.unwrap().unwrap().source;
    assert_eq!(stored, a);
    assert_eq!(stored.get("price").unwrap(), &num("1.50"));
    let Some(Value::Number(x)) = stored.get("x") else {
        panic!("x")
    };
    assert_eq!(x.to_string(), big, "every digit kept");
    // Both values round to the same f64: a range query cannot tell them apart...
    assert_eq!(index.count(&Q::range("x").gt(num(big))).await.unwrap(), 0);
    assert_eq!(index.count(&Q::range("x").gte(num(big))).await.unwrap(), 2);
    // ...but sorting compares the exact decimals, and hits return them.
    let hits = index
        .search(&SearchRequest::new(Q::MatchAll).sort(SortField::desc("x")))
        .await
        .unwrap()
        .hits;
    assert_eq!(hits[0].id, "b");
    assert_eq!(hits[0].sort, [num(bigger)]);
    assert_eq!(hits[0].source, b);
    index.drop_index().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_in_this_process_gets_conflict() {
    let dir = TempDir::new("second");
    let first = TantivyIndex::open(dir.path(), "shared").await.unwrap();
    first.create(&IndexSpec::new()).await.unwrap();
    let err = TantivyIndex::open(dir.path(), "shared").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.message().contains("already open for writing"), "{err}");
    // A handle made before the index existed conflicts at its first call.
    let dir2 = TempDir::new("second-late");
    let early = TantivyIndex::open(dir2.path(), "late").await.unwrap();
    let creator = TantivyIndex::open(dir2.path(), "late").await.unwrap();
    creator.create(&IndexSpec::new()).await.unwrap();
    let err = early.get("a").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    // Once the first writer is closed, another may open.
    first.close().await.unwrap();
    let next = TantivyIndex::open(dir.path(), "shared").await.unwrap();
    assert!(next.exists().await.unwrap());
}

#[test]
fn a_second_process_gets_conflict() {
    if let Ok(root) = std::env::var(CHILD_ENV) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let kind = runtime.block_on(async {
            match TantivyIndex::open(&root, "contended").await {
                Ok(_) => "opened".to_owned(),
                Err(e) => format!("{}: {}", e.kind(), e.message()),
            }
        });
        println!("child-result {kind}");
        return;
    }
    let dir = TempDir::new("second-process");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let index = runtime.block_on(async {
        let index = TantivyIndex::open(dir.path(), "contended").await.unwrap();
        index.create(&IndexSpec::new()).await.unwrap();
        index
    });
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_second_process_gets_conflict", "--nocapture"])
        .env(CHILD_ENV, dir.path())
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("child-result "))
        .unwrap_or_else(|| panic!("no result from the child: {stdout}"));
    assert!(
        line.starts_with(&ErrorKind::Conflict.to_string()),
        "the second process must get Conflict, got {line}"
    );
    drop(index);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_formats_and_foreign_indexes_are_refused() {
    let dir = TempDir::new("format");
    let index = TantivyIndex::open(dir.path(), "old").await.unwrap();
    index.create(&IndexSpec::new()).await.unwrap();
    index.close().await.unwrap();
    drop(index);
    let meta_path = dir.path().join("old").join("meta.json");
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    let mut payload: serde_json::Value =
        serde_json::from_str(meta["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["format"], json!(FORMAT_VERSION));
    payload["format"] = json!(FORMAT_VERSION + 1);
    meta["payload"] = json!(payload.to_string());
    std::fs::write(&meta_path, meta.to_string()).unwrap();
    let err = TantivyIndex::open(dir.path(), "old").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");

    // A tantivy index some other program wrote.
    use store_tantivy::tantivy::{Index, schema::Schema, schema::TEXT};
    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    let mut schema = Schema::builder();
    schema.add_text_field("body", TEXT);
    Index::create_in_dir(&foreign, schema.build()).unwrap();
    let err = TantivyIndex::open(dir.path(), "foreign").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_of_other_files_is_left_alone() {
    let dir = TempDir::new("others");
    // Someone's folder: the index is not made among its files, and nothing is removed.
    let notes = dir.path().join("notes");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(notes.join("todo.txt"), "important").unwrap();
    let index = TantivyIndex::open(dir.path(), "notes").await.unwrap();
    let err = index.create(&IndexSpec::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("not a tantivy index"), "{err}");
    let doc = Document::new().with("a", 1);
    let err = index
        .index("x", doc, IndexOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let left: Vec<_> = std::fs::read_dir(&notes)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, ["todo.txt"]);
    assert_eq!(
        std::fs::read_to_string(notes.join("todo.txt")).unwrap(),
        "important"
    );

    // A meta.json of its own is named, not quoted.
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("meta.json"),
        r#"{"name":"my project","secret":"s3cr3t"}"#,
    )
    .unwrap();
    let err = TantivyIndex::open(dir.path(), "project").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(!format!("{err:?}").contains("s3cr3t"), "{err:?}");
    assert!(project.join("meta.json").exists());

    // An empty directory is a new index's.
    std::fs::create_dir_all(dir.path().join("fresh")).unwrap();
    let fresh = TantivyIndex::open(dir.path(), "fresh").await.unwrap();
    fresh.create(&IndexSpec::new()).await.unwrap();
}

/// The schema of indexes written before text was packed: `_text` on the `raw` tokenizer,
/// fed pre-tokenized strings. Otherwise the schema of today.
fn schema_before_packing() -> tantivy::schema::Schema {
    use tantivy::schema::{
        FAST, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    };
    let raw = |record: IndexRecordOption, norms: bool| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(record)
                .set_fieldnorms(norms),
        )
    };
    let mut b = Schema::builder();
    b.add_text_field("_id", STRING | STORED | FAST);
    b.add_bytes_field("_source", STORED);
    b.add_u64_field("_seq_no", STORED);
    b.add_u64_field("_primary_term", STORED);
    b.add_text_field("_text", raw(IndexRecordOption::WithFreqsAndPositions, true));
    b.add_text_field("_keyword", raw(IndexRecordOption::WithFreqs, false));
    b.add_text_field("_value", raw(IndexRecordOption::Basic, false));
    b.add_text_field("_fields", raw(IndexRecordOption::Basic, false));
    b.add_bytes_field("_sort", FAST);
    b.build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_from_before_packed_text_still_indexes_and_matches_text() {
    let dir = TempDir::new("before-packing");
    let path = dir.path().join("old");
    std::fs::create_dir_all(&path).unwrap();
    // Created and never committed, as an interrupted creation leaves it: opened as an empty
    // dynamic index, written through the pre-tokenized path.
    tantivy::Index::create_in_dir(&path, schema_before_packing()).unwrap();
    let index = TantivyIndex::open(dir.path(), "old").await.unwrap();
    let texts = [
        ("a", "Quick brown fox", "jumps over", 3),
        ("b", "lazy dog", "quick thinking", 7),
    ];
    for (id, title, body, n) in texts {
        index
            .index(
                id,
                doc(json!({"title": title, "body": body, "n": n})),
                IndexOptions::new(),
            )
            .await
            .unwrap();
    }
    index.refresh().await.unwrap();
    // Its keyword, number and presence terms (one value per term in this layout), and its
    // source (stored bytes) read back.
    assert_eq!(
        index
            .count(&Q::term("title.keyword", "lazy dog"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(index.count(&Q::range("n").gte(5)).await.unwrap(), 1);
    assert_eq!(index.count(&Q::exists("body")).await.unwrap(), 2);
    let stored = index.get("b").await.unwrap().expect("b");
    assert_eq!(
        stored.source,
        doc(json!({"title": "lazy dog", "body": "quick thinking", "n": 7}))
    );
    // It keeps format 1, so a build that knows only format 1 still opens it.
    index.close().await.unwrap();
    drop(index);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path.join("meta.json")).unwrap()).unwrap();
    let payload: serde_json::Value =
        serde_json::from_str(meta["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["format"], json!(1));
    let index = TantivyIndex::open(dir.path(), "old").await.unwrap();
    let ids = |response: store_core::search::SearchResponse| {
        let mut ids: Vec<String> = response.hits.into_iter().map(|h| h.id).collect();
        ids.sort();
        ids
    };
    let quick = index
        .search(&SearchRequest::new(Q::matches("title", "QUICK")))
        .await
        .unwrap();
    assert_eq!(ids(quick), ["a"]);
    let phrase = index
        .search(&SearchRequest::new(Q::phrase("body", "quick thinking")))
        .await
        .unwrap();
    assert_eq!(ids(phrase), ["b"]);
    // Values of different fields never make a phrase together.
    let across = index
        .search(&SearchRequest::new(Q::phrase("title", "fox jumps")))
        .await
        .unwrap();
    assert!(across.hits.is_empty(), "{:?}", across.hits);
}
