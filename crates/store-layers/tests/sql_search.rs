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
use store_rusqlite::SqliteStore;

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

/// Rows missing a field: `must_not` keeps them (as OpenSearch keeps documents without the
/// field), a sort puts them last either way, and `search_after` pages up to them and through
/// them with `from`, never skipping one. Prefixes compare case-sensitively.
#[tokio::test]
async fn missing_values_match_must_not_and_sort_last() {
    let store = SqliteStore::memory().await.expect("sqlite");
    store
        .batch_execute("CREATE TABLE bags (id TEXT PRIMARY KEY, tag TEXT, price INTEGER)")
        .await
        .expect("create");
    for (id, tag, price) in [
        ("b1", Some("winter"), Some(5)),
        ("b2", None, Some(7)),
        ("b3", Some("summer"), None),
        ("b4", None, Some(3)),
    ] {
        let tag = tag.map_or(Value::Null, Value::from);
        let price = price.map_or(Value::Null, Value::from);
        store
            .execute(
                "INSERT INTO bags (id, tag, price) VALUES ($1, $2, $3)",
                &[id.into(), tag, price],
            )
            .await
            .expect("insert");
    }
    let bags = SqlSearch::new(
        IndexName::new("bags").expect("name"),
        Arc::new(store),
        "bags",
        "id",
    );
    let not_winter = BoolQuery::default()
        .must_not(Q::term("tag", "winter"))
        .build();
    let request = SearchRequest::new(not_winter).sort(SortField::asc("id"));
    let ids: Vec<String> = bags
        .search(&request)
        .await
        .expect("search")
        .hits
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(ids, ["b2", "b3", "b4"]);
    assert_eq!(
        bags.count(&Q::prefix("tag", "Win")).await.expect("count"),
        0
    );
    assert_eq!(
        bags.count(&Q::prefix("tag", "win")).await.expect("count"),
        1
    );

    for order in [SortField::asc("price"), SortField::desc("price")] {
        let mut request = SearchRequest::new(Q::MatchAll).sort(order.clone()).size(1);
        let mut seen = Vec::new();
        loop {
            let response = bags.search(&request).await.expect("page");
            let Some(hit) = response.hits.into_iter().next() else {
                break;
            };
            seen.push(hit.id.clone());
            if hit.sort == [Value::Null] {
                // The rows without a price come last; the rest is paged with `from`.
                let err = bags
                    .search(&request.clone().search_after(hit.sort))
                    .await
                    .unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
                let rest = bags
                    .search(
                        &SearchRequest::new(Q::MatchAll)
                            .sort(order.clone())
                            .from(seen.len())
                            .size(10),
                    )
                    .await
                    .expect("rest");
                seen.extend(rest.hits.into_iter().map(|h| h.id));
                break;
            }
            request = SearchRequest::new(Q::MatchAll)
                .sort(order.clone())
                .size(1)
                .search_after(hit.sort);
        }
        let expected = if order == SortField::asc("price") {
            ["b4", "b1", "b2", "b3"]
        } else {
            ["b2", "b1", "b4", "b3"]
        };
        assert_eq!(seen, expected, "{order:?}");
    }
}
