//! A handle opened for reading only, beside the writer: it takes no lock, reads the commit
//! it loaded (moving to the newest on refresh, with the mapping of that commit), and refuses
//! every write.

#[path = "support/temp.rs"]
mod temp;

use serde_json::json;
use store_core::search::{BulkOp, FieldType, IndexOptions, IndexSpec, SearchQuery as Q};
use store_core::{Document, ErrorKind, SearchIndex, Value, from_json};
use store_tantivy::TantivyIndex;
use temp::TempDir;

fn doc(json: serde_json::Value) -> Document {
    match from_json(json).unwrap() {
        Value::Map(d) => d,
        other => panic!("not a map: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_opens_beside_the_writer_and_sees_commits_as_it_refreshes() {
    let dir = TempDir::new("read-only");
    let writer = TantivyIndex::open(dir.path(), "books").await.unwrap();
    writer
        .create(&IndexSpec::new().field("n", FieldType::Long))
        .await
        .unwrap();
    for (id, n) in [("a", 1), ("b", 2)] {
        writer
            .index(id, doc(json!({"n": n})), IndexOptions::new())
            .await
            .unwrap();
    }
    writer.refresh().await.unwrap();

    // A second writer is refused; a reader is not.
    let err = TantivyIndex::open(dir.path(), "books").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let reader = TantivyIndex::open_read_only(dir.path(), "books")
        .await
        .unwrap();
    assert_eq!(reader.count(&Q::MatchAll).await.unwrap(), 2);
    assert_eq!(reader.count(&Q::term("n", 2)).await.unwrap(), 1);
    let a = reader.get("a").await.unwrap().expect("a is committed");
    assert_eq!(a.source, doc(json!({"n": 1})));
    assert_eq!(a.version, writer.get("a").await.unwrap().unwrap().version);

    // A write the writer has not committed is not there; nor is a commit the reader has not
    // refreshed to. A new field's mapping comes with the commit that made it.
    writer
        .index(
            "c",
            doc(json!({"n": 3, "title": "new"})),
            IndexOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(reader.get("c").await.unwrap(), None);
    writer.refresh().await.unwrap();
    assert_eq!(reader.count(&Q::MatchAll).await.unwrap(), 2);
    reader.refresh().await.unwrap();
    assert_eq!(reader.count(&Q::MatchAll).await.unwrap(), 3);
    assert_eq!(reader.count(&Q::term("title", "new")).await.unwrap(), 1);
    assert!(reader.get("c").await.unwrap().is_some());
    assert!(reader.exists().await.unwrap());

    // Every write is refused, and nothing changes.
    let spec = IndexSpec::new();
    let refusals = [
        reader
            .index("d", doc(json!({"n": 4})), IndexOptions::new())
            .await
            .map(|_| ()),
        reader
            .update("a", doc(json!({"n": 9})), IndexOptions::new())
            .await
            .map(|_| ()),
        reader.delete("a", IndexOptions::new()).await.map(|_| ()),
        reader
            .bulk(vec![BulkOp::Delete { id: "b".into() }])
            .await
            .map(|_| ()),
        reader.create(&spec).await,
        reader.drop_index().await,
    ];
    for refused in refusals {
        let err = refused.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        assert!(err.message().contains("open for reading only"), "{err}");
    }
    writer.refresh().await.unwrap();
    reader.refresh().await.unwrap();
    assert_eq!(reader.count(&Q::MatchAll).await.unwrap(), 3);
    assert!(dir.path().join("books").is_dir());
    reader.close().await.unwrap();
    writer.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_of_a_missing_index_is_not_found_and_makes_nothing() {
    let dir = TempDir::new("read-only-missing");
    let err = TantivyIndex::open_read_only(dir.path(), "absent")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.message().contains("no such index `absent`"), "{err}");
    assert!(!dir.path().join("absent").exists());
}
