//! `SqlSearch`: the portable queries answered from a SQL table (SQLite here; the integration
//! tests run it on PostgreSQL) as the in-memory search index answers them, and searches
//! falling back from a failing index to the table.

use std::sync::Arc;

use store_core::memory::MemorySearchIndex;
use store_core::search::{BoolQuery, IndexOptions, SearchQuery as Q, SearchRequest, SortField};
use store_core::{Document, ErrorKind, IndexName, SearchIndex, SqlStore, Value};
use store_layers::{
    FallbackLayer, Fault, FaultLayer, LayerExt, Layers, Source, SqlSearch, observe_served,
};
use store_sqlite::SqliteStore;

/// (id, title, tag, price): titles made of whole words, so "contains the word" and "has the
/// token" agree.
const PRODUCTS: [(&str, &str, &str, i64); 8] = [
    ("p1", "Red wool scarf", "winter", 25),
    ("p2", "Blue cotton shirt", "summer", 30),
    ("p3", "Red cotton shirt", "summer", 32),
    ("p4", "Green wool hat", "winter", 18),
    ("p5", "Black leather boots", "winter", 120),
    ("p6", "Sandals", "summer", 45),
    ("p7", "Red sandals", "summer", 50),
    ("p8", "Wool socks", "all", 9),
];

async fn table() -> SqlSearch {
    let sql = SqliteStore::memory().await.expect("sqlite");
    sql.batch_execute(
        "CREATE TABLE products (id TEXT PRIMARY KEY, title TEXT NOT NULL, tag TEXT, price INTEGER)",
    )
    .await
    .expect("create");
    for (id, title, tag, price) in PRODUCTS {
        sql.execute(
            "INSERT INTO products (id, title, tag, price) VALUES ($1, $2, $3, $4)",
            &[id.into(), title.into(), tag.into(), price.into()],
        )
        .await
        .expect("insert");
    }
    SqlSearch::new(
        IndexName::new("products").expect("name"),
        Arc::new(sql),
        "products",
        "id",
    )
}

fn document(id: &str, title: &str, tag: &str, price: i64) -> Document {
    Document::new()
        .with("id", id)
        .with("title", title)
        .with("tag", tag)
        .with("price", price)
}

async fn index() -> MemorySearchIndex {
    let index = MemorySearchIndex::new("products").expect("index");
    for (id, title, tag, price) in PRODUCTS {
        index
            .index(id, document(id, title, tag, price), IndexOptions::default())
            .await
            .expect("index");
    }
    index.refresh().await.expect("refresh");
    index
}

fn queries() -> Vec<Q> {
    vec![
        Q::MatchAll,
        Q::matches("title", "red"),
        Q::matches("title", "wool shirt"),
        Q::matches_all("title", "RED cotton"),
        Q::phrase("title", "cotton shirt"),
        Q::term("tag", "winter"),
        Q::terms("tag", ["summer", "all"]),
        Q::range("price").gte(25),
        Q::range("price").lt(30),
        Q::prefix("tag", "win"),
        Q::exists("tag"),
        BoolQuery::default()
            .must(Q::matches("title", "red"))
            .must_not(Q::term("tag", "summer"))
            .build(),
        BoolQuery::default()
            .should(Q::term("tag", "all"))
            .should(Q::range("price").gte(100))
            .build(),
        BoolQuery::default()
            .filter(Q::term("tag", "summer"))
            .should(Q::matches("title", "red"))
            .build(),
    ]
}

#[tokio::test]
async fn portable_queries_find_what_the_memory_index_finds() {
    let (sql, memory) = (table().await, index().await);
    for query in queries() {
        // No sort: the memory index orders by score, the table by id; compare the sets.
        let request = SearchRequest::new(query.clone()).size(100);
        let from_sql = sql.search(&request).await.expect("sql search");
        let from_memory = memory.search(&request).await.expect("memory search");
        let ids = |hits: &[store_core::search::Hit]| -> Vec<String> {
            let mut ids: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
            ids.sort();
            ids
        };
        assert_eq!(ids(&from_sql.hits), ids(&from_memory.hits), "{query:?}");
        assert!(!from_memory.hits.is_empty() || query != Q::MatchAll);
        assert_eq!(from_sql.total, from_memory.total, "{query:?}");
        assert_eq!(
            sql.count(&query).await.expect("count"),
            from_memory.total,
            "{query:?}"
        );
    }
}

#[tokio::test]
async fn sorting_pages_and_search_after_walk_every_row_once() {
    let sql = table().await;
    let request = SearchRequest::new(Q::MatchAll)
        .sort(SortField::desc("price"))
        .size(3);
    let mut seen = Vec::new();
    let mut after: Option<Vec<Value>> = None;
    loop {
        let mut page = request.clone();
        if let Some(after) = after.take() {
            page = page.search_after(after);
        }
        let response = sql.search(&page).await.expect("page");
        assert_eq!(response.total, PRODUCTS.len() as u64);
        let Some(last) = response.hits.last() else {
            break;
        };
        after = Some(last.sort.clone());
        seen.extend(response.hits.iter().map(|h| h.source.get("price").cloned()));
    }
    let mut prices: Vec<i64> = PRODUCTS.iter().map(|p| p.3).collect();
    prices.sort_by(|a, b| b.cmp(a));
    let expected: Vec<Option<Value>> = prices.into_iter().map(|p| Some(p.into())).collect();
    assert_eq!(seen, expected);
    let page = sql
        .search(
            &SearchRequest::new(Q::MatchAll)
                .sort(SortField::asc("id"))
                .from(6)
                .size(5),
        )
        .await
        .expect("from");
    let ids: Vec<&str> = page.hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["p7", "p8"]);
}

#[tokio::test]
async fn get_reads_a_row_and_writes_are_refused() {
    let sql = table().await;
    let doc = sql.get("p5").await.expect("get").expect("p5 is there");
    assert_eq!(
        doc.source.get("title"),
        Some(&Value::from("Black leather boots"))
    );
    assert_eq!(doc.source.get("price"), Some(&Value::from(120)));
    assert!(sql.get("nope").await.expect("get").is_none());
    let err = sql
        .index("p9", Document::new(), IndexOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.message().contains("read-only"), "{err}");
    let err = sql.count(&Q::exists("meta.color")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "nested fields: {err}");
    // Query text is bound, never spliced into the SQL.
    let hostile = Q::matches("title", "'); DROP TABLE products; --");
    assert_eq!(sql.count(&hostile).await.expect("count"), 0);
    assert_eq!(sql.count(&Q::MatchAll).await.expect("count"), 8);
}

#[tokio::test]
async fn a_failing_index_falls_back_to_the_table_and_says_so() {
    let down = FaultLayer::seeded(3).with(Fault::error(ErrorKind::Unavailable, 1.0));
    let index = index().await.layer(
        Layers::new()
            .fallback(FallbackLayer::search(Arc::new(table().await)))
            .faults(down),
    );
    let request = SearchRequest::new(Q::matches("title", "red")).sort(SortField::asc("id"));
    let (response, served) = observe_served(index.search(&request)).await;
    let ids: Vec<String> = response
        .expect("served")
        .hits
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(ids, ["p1", "p3", "p7"]);
    let served = served.expect("a fallback read");
    assert_eq!(served.from, Source::Secondary);
    assert!(served.stale);
    let (count, _) = observe_served(index.count(&Q::term("tag", "winter"))).await;
    assert_eq!(count.expect("count"), 3);
    // Writes never go to the table: they fail with the index's error.
    let err = index
        .index("p9", Document::new(), IndexOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}
