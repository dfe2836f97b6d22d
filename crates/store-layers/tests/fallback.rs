//! Degradation: reads the primary cannot answer are served by the secondary and marked so;
//! writes never go there; an open breaker sends reads there at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use store_core::document::{GetItemOptions, PutItemOptions, Query, Scan};
use store_core::memory::{MemoryDocumentStore, MemoryObjectStore, MemorySearchIndex};
use store_core::object::ListOptions;
use store_core::search::{IndexOptions, SearchQuery, SearchRequest};
use store_core::sql::{IsolationLevel, SqlStore, SqlStoreExt, SqlTransaction};
use store_core::{
    DocKey, Document, DocumentStore, ErrorKind, Health, HealthReport, KeySchema, KeyType,
    ObjectKey, ObjectStore, ObjectStoreExt, Result, SearchIndex, StoreError, Value,
};
use store_layers::{
    BreakerConfig, BreakerLayer, BreakerState, FallbackLayer, Fault, FaultLayer, LayerExt, Layers,
    Served, Source, observe_served,
};

fn down() -> FaultLayer {
    FaultLayer::seeded(1).with(Fault::error(ErrorKind::Unavailable, 1.0))
}

fn table() -> MemoryDocumentStore {
    MemoryDocumentStore::new("users", KeySchema::partition("id", KeyType::String)).expect("table")
}

const SECONDARY: Served = Served {
    from: Source::Secondary,
    stale: true,
};

async fn replica_with_ada() -> Arc<MemoryDocumentStore> {
    let replica = Arc::new(table());
    replica
        .put(
            Document::new().with("id", "ada").with("from", "replica"),
            PutItemOptions::new(),
        )
        .await
        .expect("seed the replica");
    replica
}

#[tokio::test(start_paused = true)]
async fn document_reads_fall_back_and_say_so() {
    let replica = replica_with_ada().await;
    let fallback = FallbackLayer::documents(replica.clone());
    let store: Arc<dyn DocumentStore> =
        Arc::new(table().layer(Layers::new().fallback(fallback.clone()).faults(down())));
    let key = DocKey::partition("ada");

    let (got, served) = observe_served(store.get(&key, GetItemOptions::new())).await;
    let got = got
        .expect("served by the replica")
        .expect("the replica has ada");
    assert_eq!(got.get("from").and_then(Value::as_str), Some("replica"));
    assert_eq!(served, Some(SECONDARY));

    let (items, served) = observe_served(async {
        let q: Vec<Document> = store.query(Query::partition("ada")).try_collect().await?;
        let s: Vec<Document> = store.scan(Scan::new()).try_collect().await?;
        let b = store
            .batch_get(std::slice::from_ref(&key), GetItemOptions::new())
            .await?;
        Ok::<_, StoreError>((q.len(), s.len(), b.len()))
    })
    .await;
    assert_eq!(items.expect("all three fell back"), (1, 1, 1));
    assert_eq!(served, Some(SECONDARY));
    assert_eq!(fallback.served_by_secondary(), 4);
    assert_eq!(fallback.served_by_primary(), 0);
}

#[tokio::test(start_paused = true)]
async fn writes_fail_with_the_primary_error_and_never_reach_the_secondary() {
    let replica = Arc::new(table());
    let store = table().layer(
        Layers::new()
            .fallback(FallbackLayer::documents(replica.clone()))
            .faults(down()),
    );
    let (err, served) =
        observe_served(store.put(Document::new().with("id", "ada"), PutItemOptions::new())).await;
    let err = err.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.message().contains("injected fault"), "{err}");
    assert_eq!(served, None, "no read was served");
    assert_eq!(
        replica
            .get(&DocKey::partition("ada"), GetItemOptions::new())
            .await
            .expect("replica"),
        None,
        "the write did not go to the secondary"
    );
}

#[tokio::test(start_paused = true)]
async fn a_healthy_primary_answers_and_input_errors_do_not_fall_back() {
    let replica = replica_with_ada().await;
    let faults = FaultLayer::seeded(1);
    let fallback = FallbackLayer::documents(replica);
    let store = table().layer(
        Layers::new()
            .fallback(fallback.clone())
            .faults(faults.clone()),
    );
    let key = DocKey::partition("ada");
    let (got, served) = observe_served(store.get(&key, GetItemOptions::new())).await;
    assert_eq!(got.expect("primary"), None, "the primary's (empty) answer");
    assert_eq!(
        served,
        Some(Served {
            from: Source::Primary,
            stale: false
        })
    );

    faults.fail_next(1, ErrorKind::InvalidInput);
    let err = store.get(&key, GetItemOptions::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(fallback.served_by_secondary(), 0);
}

#[tokio::test(start_paused = true)]
async fn when_both_fail_the_primary_error_comes_back() {
    let sick_replica =
        table().layer(FaultLayer::seeded(2).with(Fault::error(ErrorKind::Throttled, 1.0)));
    let store = table().layer(
        Layers::new()
            .fallback(FallbackLayer::documents(Arc::new(sick_replica)))
            .faults(down()),
    );
    let (err, served) =
        observe_served(store.get(&DocKey::partition("ada"), GetItemOptions::new())).await;
    assert_eq!(err.unwrap_err().kind(), ErrorKind::Unavailable);
    assert_eq!(served, None);
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_sends_reads_to_the_secondary_without_calling_the_primary() {
    let replica = replica_with_ada().await;
    let breaker = BreakerLayer::new(BreakerConfig {
        window: 4,
        min_calls: 2,
        failure_rate: 0.5,
        open_for: Duration::from_secs(30),
        probes: 1,
    });
    let faults = FaultLayer::seeded(1);
    let store = table().layer(
        Layers::new()
            .fallback(FallbackLayer::documents(replica).fresh())
            .breaker(breaker.clone())
            .faults(faults.clone()),
    );
    let key = DocKey::partition("ada");
    faults.fail_next(2, ErrorKind::Unavailable);
    for _ in 0..2 {
        store
            .get(&key, GetItemOptions::new())
            .await
            .expect("the replica answers");
    }
    assert!(matches!(breaker.state(), BreakerState::Open { .. }));
    let (got, served) = observe_served(store.get(&key, GetItemOptions::new())).await;
    assert!(got.expect("replica").is_some());
    assert_eq!(
        served,
        Some(Served {
            from: Source::Secondary,
            stale: false
        }),
        "a fresh secondary is not stale"
    );
    assert_eq!(
        faults.injected(),
        2,
        "the primary was not called while open"
    );
}

#[tokio::test(start_paused = true)]
async fn object_reads_fall_back() {
    let replica = MemoryObjectStore::new();
    let key = ObjectKey::new("docs/a.txt").expect("key");
    replica.put_str(&key, "replica body").await.expect("seed");
    let fallback = FallbackLayer::objects(Arc::new(replica));
    let store: Arc<dyn ObjectStore> = Arc::new(
        MemoryObjectStore::new().layer(Layers::new().fallback(fallback.clone()).faults(down())),
    );
    let (outcome, served) = observe_served(async {
        let body = store.get_string(&key).await?;
        let meta = store.head(&key).await?;
        let listed: Vec<_> = store.list(ListOptions::new()).try_collect().await?;
        Ok::<_, StoreError>((body, meta.size, listed.len()))
    })
    .await;
    assert_eq!(outcome.expect("served"), ("replica body".to_owned(), 12, 1));
    assert_eq!(served, Some(SECONDARY));
    assert_eq!(fallback.served_by_secondary(), 3);
    assert_eq!(
        store.put_str(&key, "new").await.unwrap_err().kind(),
        ErrorKind::Unavailable
    );
}

#[tokio::test(start_paused = true)]
async fn search_reads_fall_back() {
    let replica = MemorySearchIndex::new("articles").expect("index");
    replica
        .index(
            "1",
            Document::new().with("title", "hello world"),
            IndexOptions::default(),
        )
        .await
        .expect("seed");
    replica.refresh().await.expect("refresh");
    let fallback = FallbackLayer::search(Arc::new(replica));
    let index: Arc<dyn SearchIndex> = Arc::new(
        MemorySearchIndex::new("articles")
            .expect("index")
            .layer(Layers::new().fallback(fallback.clone()).faults(down())),
    );
    let (outcome, served) = observe_served(async {
        let hits = index
            .search(&SearchRequest::new(SearchQuery::matches("title", "hello")))
            .await?;
        let doc = index.get("1").await?;
        let count = index.count(&SearchQuery::MatchAll).await?;
        Ok::<_, StoreError>((hits.hits.len(), doc.is_some(), count))
    })
    .await;
    assert_eq!(outcome.expect("served"), (1, true, 1));
    assert_eq!(served, Some(SECONDARY));
    assert_eq!(fallback.served_by_secondary(), 3);
    let err = index
        .index("2", Document::new(), IndexOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

/// A SQL store answering every query with its rows, or with an error first when down, or
/// with an error after the first row when `break_after_first`.
#[derive(Debug, Default)]
struct FakeSql {
    rows: Vec<Document>,
    down: bool,
    break_after_first: bool,
    queries: AtomicUsize,
}

#[async_trait]
impl Health for FakeSql {
    async fn health(&self) -> Result<HealthReport> {
        Ok(HealthReport {
            backend: "fake",
            latency: Duration::ZERO,
            detail: None,
        })
    }
}

#[async_trait]
impl SqlStore for FakeSql {
    fn backend(&self) -> &'static str {
        "fake"
    }
    async fn execute(&self, _sql: &str, _params: &[Value]) -> Result<u64> {
        if self.down {
            return Err(StoreError::unavailable("primary down"));
        }
        Ok(1)
    }
    async fn batch_execute(&self, _sql: &str) -> Result<()> {
        Ok(())
    }
    fn query<'a>(&'a self, _sql: &'a str, _params: &'a [Value]) -> BoxStream<'a, Result<Document>> {
        self.queries.fetch_add(1, Ordering::SeqCst);
        if self.down {
            return futures::stream::iter([Err(StoreError::unavailable("primary down"))]).boxed();
        }
        let mut rows: Vec<Result<Document>> = self.rows.iter().cloned().map(Ok).collect();
        if self.break_after_first {
            rows.truncate(1);
            rows.push(Err(StoreError::unavailable("connection lost mid-stream")));
        }
        futures::stream::iter(rows).boxed()
    }
    async fn begin(&self, _isolation: IsolationLevel) -> Result<Box<dyn SqlTransaction>> {
        Err(StoreError::unsupported("no transactions"))
    }
}

fn rows(from: &str) -> Vec<Document> {
    (0..3)
        .map(|i| Document::new().with("n", i).with("from", from))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn sql_queries_fall_back_before_the_first_row_only() {
    let secondary = Arc::new(FakeSql {
        rows: rows("secondary"),
        ..FakeSql::default()
    });
    let fallback = FallbackLayer::sql(secondary.clone());
    let primary = FakeSql {
        down: true,
        ..FakeSql::default()
    }
    .layer(Layers::new().fallback(fallback.clone()));
    let (got, served) = observe_served(primary.query_all("SELECT n FROM t", &[])).await;
    let got = got.expect("the secondary's rows");
    assert_eq!(got, rows("secondary"));
    assert_eq!(served, Some(SECONDARY));
    let err = primary.execute("DELETE FROM t", &[]).await.unwrap_err();
    assert_eq!(err.message(), "primary down", "writes stay on the primary");

    // A stream that broke after a row was read is not switched (rows would repeat).
    let breaking = FakeSql {
        rows: rows("primary"),
        break_after_first: true,
        ..FakeSql::default()
    }
    .layer(Layers::new().fallback(fallback.clone()));
    let streamed = breaking
        .query("SELECT n FROM t", &[])
        .try_collect::<Vec<_>>();
    let (got, served) = observe_served(streamed).await;
    assert_eq!(got.unwrap_err().kind(), ErrorKind::Unavailable);
    assert_eq!(served.map(|s| s.from), Some(Source::Primary));
    assert_eq!(secondary.queries.load(Ordering::SeqCst), 1);

    // Collected rows are one answer: a primary that broke halfway gives none of its rows,
    // and the secondary answers the whole query.
    let (got, served) = observe_served(breaking.query_all("SELECT n FROM t", &[])).await;
    assert_eq!(got.expect("the secondary's rows"), rows("secondary"));
    assert_eq!(served, Some(SECONDARY));
    assert_eq!(secondary.queries.load(Ordering::SeqCst), 2);

    // A statement that may write stays on the primary, collected or streamed.
    let insert = "INSERT INTO t (n) VALUES (1) RETURNING n";
    let err = primary.query_one(insert, &[]).await.unwrap_err();
    assert_eq!(err.message(), "primary down");
    let streamed = primary.query(insert, &[]).try_collect::<Vec<_>>().await;
    assert_eq!(streamed.unwrap_err().message(), "primary down");
    assert_eq!(
        secondary.queries.load(Ordering::SeqCst),
        2,
        "the secondary never saw the insert"
    );
}

/// Six users in `store`, each saying where it lives.
async fn six_users(store: &dyn DocumentStore, from: &str) {
    for i in 0..6 {
        let user = Document::new()
            .with("id", format!("u{i}"))
            .with("from", from);
        store
            .put(user, PutItemOptions::new())
            .await
            .expect("seed a user");
    }
}

/// A listing's pages come from the store that served its first page: a primary failing
/// midway fails the listing (its cursor means nothing to the secondary), and a listing the
/// secondary began goes on there even once the primary is back.
#[tokio::test(start_paused = true)]
async fn the_pages_of_one_listing_come_from_one_store() {
    let replica = Arc::new(table());
    six_users(replica.as_ref(), "replica").await;
    let primary = table();
    six_users(&primary, "primary").await;
    let faults = FaultLayer::seeded(1);
    let fallback = FallbackLayer::documents(replica.clone());
    let store = primary.layer(
        Layers::new()
            .fallback(fallback.clone())
            .faults(faults.clone()),
    );
    let scan = Scan::new().page_size(2);

    let first = store.scan_page(&scan, None).await.expect("page 1");
    faults.fail_next(1, ErrorKind::Unavailable);
    let err = store.scan_page(&scan, first.next).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Unavailable,
        "the primary's own error"
    );
    assert_eq!(fallback.served_by_secondary(), 0);

    faults.fail_next(1, ErrorKind::Unavailable);
    let (froms, served) = observe_served(where_from(&store, &scan)).await;
    let froms = froms.expect("every page from the replica");
    assert_eq!(froms, vec![Some("replica".to_owned()); 6]);
    assert_eq!(served, Some(SECONDARY));
}

/// Where each user of a scan, page by page, says it lives.
async fn where_from(
    store: &dyn DocumentStore,
    scan: &Scan,
) -> Result<Vec<Option<String>>, StoreError> {
    let mut froms = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.scan_page(scan, cursor).await?;
        for user in &page.items {
            froms.push(user.get("from").and_then(Value::as_str).map(str::to_owned));
        }
        cursor = page.next;
        if cursor.is_none() {
            return Ok(froms);
        }
    }
}

/// A store layered twice, each layer with its own fallback: each cursor goes back to the
/// store that made it, through the outer layer untouched.
#[tokio::test(start_paused = true)]
async fn each_fallback_reads_its_own_cursors_when_stores_are_layered_twice() {
    let (replica, other) = (Arc::new(table()), Arc::new(table()));
    six_users(replica.as_ref(), "replica").await;
    six_users(other.as_ref(), "other").await;
    let primary = table();
    six_users(&primary, "primary").await;
    let faults = FaultLayer::seeded(1);
    let inner = Layers::new()
        .fallback(FallbackLayer::documents(replica))
        .faults(faults.clone());
    let outer = Layers::new().fallback(FallbackLayer::documents(other));
    let store = primary.layer(inner).layer(outer);

    faults.fail_next(1, ErrorKind::Unavailable);
    let froms = where_from(&store, &Scan::new().page_size(2))
        .await
        .expect("every page from the inner fallback's replica");
    assert_eq!(froms, vec![Some("replica".to_owned()); 6]);
}

/// A read falls back only after its retries, on the stack's fast path and on the engine's
/// own fallback (a subscriber recording spans sends every call there): three attempts, then
/// the secondary, marked.
#[tokio::test(start_paused = true)]
async fn a_read_falls_back_after_its_retries_on_either_path() {
    use store_core::RetryPolicy;
    for engine in [false, true] {
        let _recording =
            engine.then(|| tracing::subscriber::set_default(tracing_subscriber::registry()));
        let replica = replica_with_ada().await;
        let fallback = FallbackLayer::documents(replica);
        let faults = down();
        let policy = RetryPolicy::default()
            .base_delay(Duration::from_millis(10))
            .max_attempts(3)
            .without_jitter();
        let layers = Layers::new().fallback(fallback.clone()).retry(policy);
        let store = table().layer(faults.clone()).layer(layers);
        let started = tokio::time::Instant::now();
        let (got, served) =
            observe_served(store.get(&DocKey::partition("ada"), GetItemOptions::new())).await;
        let got = got.expect("the replica answers").expect("ada");
        assert_eq!(got.get("from").and_then(Value::as_str), Some("replica"));
        assert_eq!(served, Some(SECONDARY), "engine: {engine}");
        assert_eq!(faults.calls(), 3, "three attempts first (engine: {engine})");
        assert_eq!(
            started.elapsed(),
            Duration::from_millis(30),
            "backoffs of 10 and 20 ms"
        );
        assert_eq!(
            (fallback.served_by_primary(), fallback.served_by_secondary()),
            (0, 1)
        );
    }
}
