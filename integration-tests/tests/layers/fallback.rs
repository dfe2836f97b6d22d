//! The seed's degradation case on the real servers: searches served by OpenSearch, and by a
//! PostgreSQL query ([`SqlSearch`]) while the cluster is unreachable (the fault proxy resets
//! every connection), marked as such; writes refused, never sent to PostgreSQL.

use std::sync::Arc;

use integration_tests::fault_proxy::FaultProxy;
use integration_tests::names::{unique_ident, unique_name};
use integration_tests::services::{Service, endpoint};
use store_core::search::{BoolQuery, BulkOp, IndexOptions, SearchQuery as Q, SearchRequest};
use store_core::{Document, ErrorKind, IndexName, SearchIndex, SqlStore, SqlStoreExt};
use store_layers::{FallbackLayer, LayerExt, Layers, Source, SqlSearch, observe_served};
use store_rds::{PgConfig, PgStore};
use store_search::OpenSearchIndex;

const PRODUCTS: [(&str, &str, &str, i64); 6] = [
    ("p1", "Red wool scarf", "winter", 25),
    ("p2", "Blue cotton shirt", "summer", 30),
    ("p3", "Red cotton shirt", "summer", 32),
    ("p4", "Green wool hat", "winter", 18),
    ("p5", "Black leather boots", "winter", 120),
    ("p6", "Red sandals", "summer", 50),
];

async fn postgres(table: &str) -> PgStore {
    let url = endpoint(Service::Postgres).await;
    let store = PgConfig::from_url(&url)
        .expect("the harness URL parses")
        .pool_size(2)
        .build()
        .expect("the store builds");
    store
        .batch_execute(&format!(
            "CREATE TABLE {table} (id text PRIMARY KEY, title text NOT NULL, tag text, price bigint)"
        ))
        .await
        .expect("create the table");
    for (id, title, tag, price) in PRODUCTS {
        store
            .execute(
                &format!("INSERT INTO {table} (id, title, tag, price) VALUES ($1, $2, $3, $4)"),
                &[id.into(), title.into(), tag.into(), price.into()],
            )
            .await
            .expect("insert");
    }
    store
}

async fn opensearch(name: &str) -> String {
    let url = endpoint(Service::OpenSearch).await;
    let direct = OpenSearchIndex::builder(name)
        .url(&url)
        .build()
        .expect("index");
    let ops = PRODUCTS
        .iter()
        .map(|(id, title, tag, price)| BulkOp::Index {
            id: (*id).to_owned(),
            doc: Document::new()
                .with("id", *id)
                .with("title", *title)
                .with("tag", *tag)
                .with("price", *price),
        })
        .collect();
    let report = direct.bulk(ops).await.expect("bulk");
    assert!(report.failed.is_empty(), "{report:?}");
    direct.refresh().await.expect("refresh");
    url
}

fn sorted_ids(hits: Vec<store_core::search::Hit>) -> Vec<String> {
    let mut ids: Vec<String> = hits.into_iter().map(|h| h.id).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn search_falls_back_to_postgres_while_opensearch_is_unreachable() {
    let (name, table) = (unique_name("degrade"), unique_ident("degrade"));
    let pg = Arc::new(postgres(&table).await);
    let url = opensearch(&name).await;
    let proxy = FaultProxy::http(&url).await.expect("proxy");
    let secondary = Arc::new(SqlSearch::new(
        IndexName::new(&name).expect("name"),
        pg.clone(),
        &table,
        "id",
    ));
    // PostgreSQL answers the portable queries with the ids OpenSearch gives.
    let direct = OpenSearchIndex::builder(&name)
        .url(&url)
        .build()
        .expect("index");
    for query in [
        Q::matches("title", "red shirt"),
        Q::matches_all("title", "RED cotton"),
        Q::phrase("title", "wool scarf"),
        Q::term("tag", "winter"),
        Q::terms("tag", ["summer"]),
        Q::range("price").gte(30),
        Q::prefix("tag", "win"),
        Q::prefix("tag", "Win"),
        Q::exists("tag"),
        BoolQuery::default()
            .must(Q::matches("title", "red"))
            .must_not(Q::term("tag", "summer"))
            .build(),
        BoolQuery::default()
            .should(Q::term("tag", "winter"))
            .should(Q::range("price").gte(50))
            .build(),
    ] {
        let request = SearchRequest::new(query.clone()).size(50);
        let from_pg = secondary.search(&request).await.expect("PostgreSQL");
        let from_os = direct.search(&request).await.expect("OpenSearch");
        assert_eq!(
            sorted_ids(from_pg.hits),
            sorted_ids(from_os.hits),
            "{query:?}"
        );
        assert_eq!(from_pg.total, from_os.total, "{query:?}");
    }
    let fallback = FallbackLayer::search(secondary);
    let index = OpenSearchIndex::builder(&name)
        .url(proxy.url())
        .build()
        .expect("index")
        .layer(
            Layers::new()
                .fallback(fallback.clone())
                .timeout(std::time::Duration::from_secs(5)),
        );
    let red = SearchRequest::new(Q::matches("title", "red")).size(50);

    // Cluster up: OpenSearch answers.
    let (response, served) = observe_served(index.search(&red)).await;
    assert_eq!(
        sorted_ids(response.expect("search").hits),
        ["p1", "p3", "p6"]
    );
    assert_eq!(served.expect("marked").from, Source::Primary);

    // Cluster unreachable: every connection to it is reset.
    proxy.set_reset_new_connections(true);
    proxy.reset_connections();
    let (response, served) = observe_served(index.search(&red)).await;
    let response = response.expect("served by PostgreSQL");
    assert_eq!(sorted_ids(response.hits), ["p1", "p3", "p6"]);
    assert_eq!(response.total, 3);
    let served = served.expect("marked");
    assert_eq!((served.from, served.stale), (Source::Secondary, true));
    let (count, served) = observe_served(index.count(&Q::range("price").gte(30))).await;
    assert_eq!(count.expect("count from PostgreSQL"), 4);
    assert_eq!(served.expect("marked").from, Source::Secondary);
    let doc = index.get("p5").await.expect("get").expect("p5");
    assert_eq!(doc.source.get("title"), Some(&"Black leather boots".into()));

    // A write fails with the cluster's error and never reaches PostgreSQL.
    let err = index
        .index(
            "p7",
            Document::new().with("title", "Red hat"),
            IndexOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let rows = pg
        .query_all(&format!("SELECT count(*) AS n FROM {table}"), &[])
        .await
        .expect("count rows");
    assert_eq!(rows[0].get("n"), Some(&6i64.into()));

    // The cluster is back: OpenSearch answers again.
    proxy.set_reset_new_connections(false);
    let (response, served) = observe_served(index.search(&red)).await;
    assert_eq!(
        sorted_ids(response.expect("search").hits),
        ["p1", "p3", "p6"]
    );
    assert_eq!(served.expect("marked").from, Source::Primary);
    assert_eq!(fallback.served_by_secondary(), 3);

    pg.batch_execute(&format!("DROP TABLE {table}"))
        .await
        .expect("drop");
    direct.drop_index().await.expect("drop index");
}
