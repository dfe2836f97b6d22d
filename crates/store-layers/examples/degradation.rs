//! Degradation, the seed's case: search served from a primary index, falling back to a
//! secondary while the primary is down, with every answer marked by who gave it.
//!
//! The primary is an in-memory index behind a fault layer (standing in for an OpenSearch
//! cluster that goes down), guarded by a circuit breaker; the secondary is the system of
//! record, a SQL table (embedded SQLite here, PostgreSQL in production, the same SQL), searched
//! through [`SqlSearch`]. Run with `cargo run -p store-layers --example degradation`.

use std::sync::Arc;
use std::time::Duration;

use store_core::memory::MemorySearchIndex;
use store_core::search::{IndexOptions, SearchQuery, SearchRequest};
use store_core::{Document, ErrorKind, IndexName, SearchIndex, SqlStore};
use store_layers::{
    BreakerConfig, BreakerLayer, FallbackLayer, FaultLayer, LayerExt, Layers, Served, Source,
    SqlSearch, observe_served,
};
use store_rusqlite::SqliteStore;

const ARTICLES: [(&str, &str); 3] = [
    ("1", "rust layers for every store"),
    ("2", "degradation when the cluster is down"),
    ("3", "circuit breakers and fallbacks"),
];

async fn seeded(name: &str) -> store_core::Result<MemorySearchIndex> {
    let index = MemorySearchIndex::new(name)?;
    for (id, title) in ARTICLES {
        let doc = Document::new().with("title", title);
        index.index(id, doc, IndexOptions::default()).await?;
    }
    index.refresh().await?;
    Ok(index)
}

/// The system of record: the same articles as rows of a SQL table.
async fn system_of_record() -> store_core::Result<SqlSearch> {
    let sql = SqliteStore::memory().await?;
    sql.batch_execute("CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT NOT NULL)")
        .await?;
    for (id, title) in ARTICLES {
        sql.execute(
            "INSERT INTO articles (id, title) VALUES ($1, $2)",
            &[id.into(), title.into()],
        )
        .await?;
    }
    Ok(SqlSearch::new(
        IndexName::new("articles")?,
        Arc::new(sql),
        "articles",
        "id",
    ))
}

fn mark(served: Option<Served>) -> &'static str {
    match served {
        Some(Served {
            from: Source::Secondary,
            stale: true,
        }) => ">>> FALLBACK: served by the SQL table (may be stale)",
        Some(Served {
            from: Source::Secondary,
            stale: false,
        }) => ">>> FALLBACK: served by the SQL table",
        Some(Served {
            from: Source::Primary,
            ..
        }) => "served by the primary",
        None => "no read made",
    }
}

async fn search(index: &dyn SearchIndex, round: &str) {
    let request = SearchRequest::new(SearchQuery::matches("title", "down"));
    let (outcome, served) = observe_served(index.search(&request)).await;
    match outcome {
        Ok(response) => {
            let ids: Vec<&str> = response.hits.iter().map(|h| h.id.as_str()).collect();
            println!("{round:<28} hits {ids:?}  {}", mark(served));
        }
        Err(e) => println!("{round:<28} error: {e}"),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> store_core::Result<()> {
    let cluster = FaultLayer::seeded(7);
    let breaker = BreakerLayer::new(BreakerConfig {
        window: 4,
        min_calls: 3,
        failure_rate: 0.5,
        open_for: Duration::from_millis(200),
        probes: 1,
    });
    let fallback = FallbackLayer::search(Arc::new(system_of_record().await?));
    let index: Arc<dyn SearchIndex> = Arc::new(
        seeded("articles").await?.layer(
            Layers::new()
                .trace()
                .fallback(fallback.clone())
                .breaker(breaker.clone())
                .timeout(Duration::from_secs(1))
                .faults(cluster.clone()),
        ),
    );

    search(&*index, "1. cluster up").await;

    println!("-- the cluster goes down --");
    cluster.fail_next(2, ErrorKind::Unavailable);
    search(&*index, "2. cluster down").await;
    search(&*index, "3. cluster down").await;
    println!("   breaker now: {:?}", breaker.state());
    search(&*index, "4. breaker open").await;
    println!(
        "   the cluster failed {} calls; the open breaker answered the next one at once",
        cluster.injected()
    );

    let write = index
        .index(
            "4",
            Document::new().with("title", "new"),
            IndexOptions::default(),
        )
        .await;
    match write {
        Ok(_) => println!("write while down: accepted"),
        Err(e) => println!("write while down: refused, never sent to the secondary: {e}"),
    }

    println!("-- the cluster comes back --");
    tokio::time::sleep(Duration::from_millis(250)).await;
    search(&*index, "5. after open_for (probe)").await;
    println!("   breaker now: {:?}", breaker.state());
    println!(
        "served by primary: {}, by secondary: {}",
        fallback.served_by_primary(),
        fallback.served_by_secondary()
    );
    Ok(())
}
