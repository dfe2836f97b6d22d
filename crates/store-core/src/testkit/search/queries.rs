//! Behaviours of the query types: analysis, exact values, ranges, booleans and relevance.

use serde_json::json;

use super::SearchFactory;
use super::support::{finish, id_set, ids, loaded, set, spec};
use crate::search::{FieldType, RangeBounds, SearchQuery as Q, SearchRequest};
use crate::value::Number;

fn decimal(text: &str) -> Number {
    text.parse().expect("a decimal literal")
}

/// Text is analyzed: "Hello, WORLD!" is found by `hello`, `WORLD` and `world` (lowercased
/// words without punctuation), not by a word it lacks.
pub async fn match_is_analyzed_and_case_insensitive(factory: &dyn SearchFactory) {
    let spec = spec().field("title", FieldType::Text);
    let docs = [
        ("a", json!({"title": "Hello, WORLD!"})),
        ("b", json!({"title": "Goodbye"})),
    ];
    let index = loaded(
        factory,
        "match_is_analyzed_and_case_insensitive",
        &spec,
        &docs,
    )
    .await;
    for text in ["hello", "WORLD", "world", "Hello world"] {
        assert_eq!(
            id_set(&index, Q::matches("title", text)).await,
            set(&["a"]),
            "match {text:?}"
        );
    }
    assert!(
        id_set(&index, Q::matches("title", "planet"))
            .await
            .is_empty()
    );
    finish(index).await;
}

/// `match` finds documents with any term by default, and only those with every term with the
/// `and` operator.
pub async fn match_operator_and_requires_every_term(factory: &dyn SearchFactory) {
    let spec = spec().field("t", FieldType::Text);
    let docs = [
        ("a", json!({"t": "quick brown fox"})),
        ("b", json!({"t": "quick red fox"})),
        ("c", json!({"t": "lazy dog"})),
    ];
    let index = loaded(
        factory,
        "match_operator_and_requires_every_term",
        &spec,
        &docs,
    )
    .await;
    assert_eq!(
        id_set(&index, Q::matches("t", "brown dog")).await,
        set(&["a", "c"])
    );
    assert_eq!(
        id_set(&index, Q::matches_all("t", "quick fox")).await,
        set(&["a", "b"])
    );
    assert_eq!(
        id_set(&index, Q::matches_all("t", "brown fox")).await,
        set(&["a"])
    );
    assert!(
        id_set(&index, Q::matches_all("t", "brown dog"))
            .await
            .is_empty()
    );
    finish(index).await;
}

/// `match_phrase` needs the terms adjacent and in order.
pub async fn match_phrase_needs_terms_in_order(factory: &dyn SearchFactory) {
    let spec = spec().field("t", FieldType::Text);
    let docs = [
        ("a", json!({"t": "the quick brown fox"})),
        ("b", json!({"t": "the brown quick fox"})),
    ];
    let index = loaded(factory, "match_phrase_needs_terms_in_order", &spec, &docs).await;
    assert_eq!(
        id_set(&index, Q::phrase("t", "quick brown")).await,
        set(&["a"])
    );
    assert_eq!(
        id_set(&index, Q::phrase("t", "Brown Quick")).await,
        set(&["b"])
    );
    assert_eq!(
        id_set(&index, Q::phrase("t", "quick fox")).await,
        set(&["b"])
    );
    assert!(id_set(&index, Q::phrase("t", "fox quick")).await.is_empty());
    finish(index).await;
}

/// `term` on a keyword field matches the whole value exactly, case-sensitively.
pub async fn term_on_keyword_is_exact(factory: &dyn SearchFactory) {
    let spec = spec().field("status", FieldType::Keyword);
    let docs = [
        ("a", json!({"status": "Published"})),
        ("b", json!({"status": "published"})),
        ("c", json!({"status": "draft copy"})),
    ];
    let index = loaded(factory, "term_on_keyword_is_exact", &spec, &docs).await;
    assert_eq!(
        id_set(&index, Q::term("status", "published")).await,
        set(&["b"])
    );
    assert_eq!(
        id_set(&index, Q::term("status", "Published")).await,
        set(&["a"])
    );
    assert_eq!(
        id_set(&index, Q::term("status", "draft copy")).await,
        set(&["c"])
    );
    assert!(
        id_set(&index, Q::term("status", "draft")).await.is_empty(),
        "no partial match"
    );
    assert_eq!(
        id_set(&index, Q::matches("status", "draft copy")).await,
        set(&["c"])
    );
    finish(index).await;
}

/// `term` on a text field is not analyzed: it matches one token exactly, so `"Hello"` does not
/// match the text "Hello world" (indexed as `hello`, `world`).
pub async fn term_on_text_matches_one_token(factory: &dyn SearchFactory) {
    let spec = spec().field("title", FieldType::Text);
    let docs = [("a", json!({"title": "Hello world"}))];
    let index = loaded(factory, "term_on_text_matches_one_token", &spec, &docs).await;
    assert!(id_set(&index, Q::term("title", "Hello")).await.is_empty());
    assert_eq!(id_set(&index, Q::term("title", "hello")).await, set(&["a"]));
    assert!(
        id_set(&index, Q::term("title", "hello world"))
            .await
            .is_empty()
    );
    finish(index).await;
}

/// An unmapped string is full text and also exact under `<field>.keyword`.
pub async fn dynamic_strings_have_a_keyword_subfield(factory: &dyn SearchFactory) {
    let docs = [
        ("a", json!({"city": "New York"})),
        ("b", json!({"city": "York"})),
        ("c", json!({"city": "new york"})),
    ];
    let index = loaded(
        factory,
        "dynamic_strings_have_a_keyword_subfield",
        &spec(),
        &docs,
    )
    .await;
    assert_eq!(
        id_set(&index, Q::matches("city", "YORK")).await,
        set(&["a", "b", "c"])
    );
    assert_eq!(
        id_set(&index, Q::term("city.keyword", "New York")).await,
        set(&["a"])
    );
    assert!(
        id_set(&index, Q::term("city.keyword", "york"))
            .await
            .is_empty()
    );
    finish(index).await;
}

/// `terms` matches documents having any of the values.
pub async fn terms_matches_any_value(factory: &dyn SearchFactory) {
    let spec = spec()
        .field("color", FieldType::Keyword)
        .field("n", FieldType::Long);
    let docs = [
        ("a", json!({"color": "red", "n": 1})),
        ("b", json!({"color": "green", "n": 2})),
        ("c", json!({"color": "blue", "n": 3})),
        ("d", json!({"color": "red", "n": 4})),
    ];
    let index = loaded(factory, "terms_matches_any_value", &spec, &docs).await;
    assert_eq!(
        id_set(&index, Q::terms("color", ["red", "blue"])).await,
        set(&["a", "c", "d"])
    );
    assert_eq!(
        id_set(&index, Q::terms("n", [2, 4, 9])).await,
        set(&["b", "d"])
    );
    assert!(
        id_set(&index, Q::terms("color", ["purple"]))
            .await
            .is_empty()
    );
    finish(index).await;
}

/// `range` on numbers honours each bound exactly at its edge, for longs and doubles.
pub async fn range_on_numbers_respects_bounds(factory: &dyn SearchFactory) {
    let spec = spec()
        .field("n", FieldType::Long)
        .field("price", FieldType::Double);
    let docs: Vec<_> = (1..=5)
        .map(|n| {
            (
                ["n1", "n2", "n3", "n4", "n5"][n - 1],
                json!({"n": n, "price": n as f64 + 0.5}),
            )
        })
        .collect();
    let index = loaded(factory, "range_on_numbers_respects_bounds", &spec, &docs).await;
    assert_eq!(
        id_set(&index, Q::range("n").gt(2)).await,
        set(&["n3", "n4", "n5"])
    );
    assert_eq!(
        id_set(&index, Q::range("n").gte(2)).await,
        set(&["n2", "n3", "n4", "n5"])
    );
    assert_eq!(
        id_set(&index, Q::range("n").lt(4)).await,
        set(&["n1", "n2", "n3"])
    );
    assert_eq!(
        id_set(&index, Q::range("n").lte(4)).await,
        set(&["n1", "n2", "n3", "n4"])
    );
    let between = RangeBounds {
        gt: Some(1.into()),
        lt: Some(5.into()),
        ..RangeBounds::default()
    };
    assert_eq!(
        id_set(&index, Q::range("n").bounds(between)).await,
        set(&["n2", "n3", "n4"])
    );
    let exactly = RangeBounds {
        gte: Some(2.into()),
        lte: Some(2.into()),
        ..RangeBounds::default()
    };
    assert_eq!(
        id_set(&index, Q::range("n").bounds(exactly)).await,
        set(&["n2"])
    );
    assert_eq!(
        id_set(&index, Q::range("price").gte(decimal("3.5"))).await,
        set(&["n3", "n4", "n5"])
    );
    assert_eq!(
        id_set(&index, Q::range("price").gt(decimal("3.5"))).await,
        set(&["n4", "n5"])
    );
    finish(index).await;
}

/// `range` on a date field compares instants, with date strings as bounds.
pub async fn range_on_dates(factory: &dyn SearchFactory) {
    let spec = spec().field("at", FieldType::Date);
    let docs = [
        ("jan", json!({"at": "2024-01-15"})),
        ("feb", json!({"at": "2024-02-01T10:00:00Z"})),
        ("mar", json!({"at": "2024-03-01T00:00:00Z"})),
    ];
    let index = loaded(factory, "range_on_dates", &spec, &docs).await;
    let february = RangeBounds {
        gte: Some("2024-02-01".into()),
        lt: Some("2024-03-01".into()),
        ..RangeBounds::default()
    };
    assert_eq!(
        id_set(&index, Q::range("at").bounds(february)).await,
        set(&["feb"])
    );
    assert_eq!(
        id_set(&index, Q::range("at").lt("2024-02-01")).await,
        set(&["jan"])
    );
    assert_eq!(
        id_set(&index, Q::range("at").gte("2024-03-01")).await,
        set(&["mar"])
    );
    finish(index).await;
}

/// `prefix` matches keyword values that start with the prefix, case-sensitively.
pub async fn prefix_matches_keyword_starts(factory: &dyn SearchFactory) {
    let spec = spec().field("sku", FieldType::Keyword);
    let docs = [
        ("a", json!({"sku": "ab-1"})),
        ("b", json!({"sku": "ab-2"})),
        ("c", json!({"sku": "abc"})),
        ("d", json!({"sku": "b-ab"})),
    ];
    let index = loaded(factory, "prefix_matches_keyword_starts", &spec, &docs).await;
    assert_eq!(
        id_set(&index, Q::prefix("sku", "ab-")).await,
        set(&["a", "b"])
    );
    assert_eq!(
        id_set(&index, Q::prefix("sku", "ab")).await,
        set(&["a", "b", "c"])
    );
    assert!(id_set(&index, Q::prefix("sku", "AB")).await.is_empty());
    finish(index).await;
}

/// `exists` matches documents whose field has a value (not null, not an empty list), including
/// a nested field by dotted path.
pub async fn exists_matches_fields_with_values(factory: &dyn SearchFactory) {
    let spec = spec()
        .field("email", FieldType::Keyword)
        .field("address.city", FieldType::Keyword);
    let docs = [
        ("a", json!({"email": "a@example.com"})),
        ("b", json!({"email": null})),
        ("c", json!({"email": []})),
        ("d", json!({"other": 1, "address": {"city": "Oslo"}})),
    ];
    let index = loaded(factory, "exists_matches_fields_with_values", &spec, &docs).await;
    assert_eq!(id_set(&index, Q::exists("email")).await, set(&["a"]));
    assert_eq!(id_set(&index, Q::exists("address.city")).await, set(&["d"]));
    let without = Q::bool().must_not(Q::exists("email")).build();
    assert_eq!(id_set(&index, without).await, set(&["b", "c", "d"]));
    finish(index).await;
}

/// `bool` combines must, should, must_not and filter: should is required only without must or
/// filter, and a matching should clause raises the score.
pub async fn bool_combines_clauses(factory: &dyn SearchFactory) {
    let spec = spec()
        .field("title", FieldType::Text)
        .field("status", FieldType::Keyword)
        .field("year", FieldType::Long)
        .field("deleted", FieldType::Keyword);
    let docs = [
        (
            "d1",
            json!({"title": "rust database", "status": "published", "year": 2021}),
        ),
        (
            "d2",
            json!({"title": "rust web", "status": "draft", "year": 2022}),
        ),
        (
            "d3",
            json!({"title": "python database", "status": "published", "year": 2019}),
        ),
        (
            "d4",
            json!({"title": "rust database", "status": "published", "year": 2023, "deleted": "yes"}),
        ),
    ];
    let index = loaded(factory, "bool_combines_clauses", &spec, &docs).await;
    let combined = Q::bool()
        .must(Q::matches("title", "rust"))
        .filter(Q::term("status", "published"))
        .filter(Q::range("year").gte(2020))
        .must_not(Q::exists("deleted"))
        .build();
    assert_eq!(id_set(&index, combined).await, set(&["d1"]));
    let either = Q::bool()
        .should(Q::term("status", "draft"))
        .should(Q::range("year").lt(2020))
        .build();
    assert_eq!(id_set(&index, either).await, set(&["d2", "d3"]));
    let only_not = Q::bool().must_not(Q::term("status", "published")).build();
    assert_eq!(id_set(&index, only_not).await, set(&["d2"]));
    let boosted = Q::bool()
        .must(Q::matches("title", "database"))
        .should(Q::term("year", 2019))
        .build();
    let order = ids(&index, &SearchRequest::new(boosted)).await;
    assert_eq!(order.len(), 3, "should is optional next to must: {order:?}");
    assert_eq!(
        order[0], "d3",
        "the doc matching the should clause ranks first: {order:?}"
    );
    finish(index).await;
}

/// Fields of nested maps are queried by dotted path.
pub async fn nested_fields_by_dotted_path(factory: &dyn SearchFactory) {
    let spec = spec()
        .field("address.city", FieldType::Keyword)
        .field("address.zip", FieldType::Long);
    let docs = [
        ("a", json!({"address": {"city": "Paris", "zip": 75001}})),
        ("b", json!({"address": {"city": "Lyon", "zip": 69001}})),
    ];
    let index = loaded(factory, "nested_fields_by_dotted_path", &spec, &docs).await;
    assert_eq!(
        id_set(&index, Q::term("address.city", "Paris")).await,
        set(&["a"])
    );
    assert_eq!(
        id_set(&index, Q::range("address.zip").lt(70000)).await,
        set(&["b"])
    );
    finish(index).await;
}

/// A list field matches a query on any of its elements.
pub async fn lists_match_any_element(factory: &dyn SearchFactory) {
    let spec = spec()
        .field("tags", FieldType::Keyword)
        .field("notes", FieldType::Text);
    let docs = [
        (
            "a",
            json!({"tags": ["rust", "db"], "notes": ["fast engine", "small"]}),
        ),
        ("b", json!({"tags": ["go"], "notes": ["simple"]})),
    ];
    let index = loaded(factory, "lists_match_any_element", &spec, &docs).await;
    assert_eq!(id_set(&index, Q::term("tags", "db")).await, set(&["a"]));
    assert_eq!(
        id_set(&index, Q::terms("tags", ["go", "db"])).await,
        set(&["a", "b"])
    );
    assert_eq!(
        id_set(&index, Q::matches("notes", "small")).await,
        set(&["a"])
    );
    finish(index).await;
}

/// With BM25, a document where the term occurs more often (at equal length) ranks first, and
/// hits carry decreasing scores.
pub async fn more_occurrences_rank_first(factory: &dyn SearchFactory) {
    let spec = spec().field("t", FieldType::Text);
    let docs = [
        ("once", json!({"t": "rust go go go"})),
        ("thrice", json!({"t": "rust rust rust go"})),
        ("never", json!({"t": "go go go go"})),
    ];
    let index = loaded(factory, "more_occurrences_rank_first", &spec, &docs).await;
    let response = index
        .search(&SearchRequest::new(Q::matches("t", "rust")))
        .await
        .unwrap();
    let order: Vec<_> = response.hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(order, ["thrice", "once"]);
    let scores: Vec<f64> = response
        .hits
        .iter()
        .map(|h| h.score.expect("scored hit"))
        .collect();
    assert!(
        scores[0] > scores[1] && scores[1] > 0.0,
        "scores {scores:?}"
    );
    finish(index).await;
}
