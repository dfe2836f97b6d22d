//! An answer some shards could not give is an error, not a partial answer: two indexes behind
//! one alias, a query only one of them can run (a text bound on a numeric field).

use serde_json::json;
use store_core::search::{FieldType, IndexOptions, IndexSpec};
use store_core::{Document, ErrorKind, SearchIndex};
use store_search::AliasAction;

use super::support::{fresh, open};

#[tokio::test]
async fn a_search_some_shards_could_not_answer_is_unavailable() {
    let (numbers, words) = (fresh("partial-n").await, fresh("partial-w").await);
    let spec = |kind| IndexSpec::new().shards(1).replicas(0).field("n", kind);
    numbers.create(&spec(FieldType::Long)).await.unwrap();
    words.create(&spec(FieldType::Keyword)).await.unwrap();
    for (index, value) in [(&numbers, json!(7)), (&words, json!("abc"))] {
        let doc = Document::new().with("n", store_core::from_json(value).unwrap());
        index
            .index("d", doc, IndexOptions::default())
            .await
            .unwrap();
        index.refresh().await.unwrap();
    }
    let alias = format!("{}-both", numbers.name().as_str());
    let both = [&numbers, &words].map(|index| AliasAction::Add {
        index: index.name().as_str().to_owned(),
        alias: alias.clone(),
    });
    numbers.update_aliases(&both).await.unwrap();

    // The keyword index answers; the long one fails to read "abc" as a number.
    let body = json!({"query": {"range": {"n": {"gte": "abc"}}}});
    let err = open(&alias).await.search_dsl(&body).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.message().contains("1 shard(s) failed"), "{err}");
    // Each index alone answers whole.
    assert_eq!(words.search_dsl(&body).await.unwrap().hits.len(), 1);

    numbers.drop_index().await.unwrap();
    words.drop_index().await.unwrap();
}
