//! The retry layer on a paused clock: exact counts and schedule, idempotency decides, the
//! budget stops a storm.

use std::time::Duration;

use store_core::document::{GetItemOptions, Path, PutItemOptions, Update, UpdateOptions};
use store_core::memory::MemoryDocumentStore;
use store_core::{DocKey, Document, DocumentStore, ErrorKind, KeySchema, KeyType, RetryPolicy};
use store_layers::{Fault, FaultLayer, LayerExt, Layers, RetryBudget, RetryLayer};

fn table() -> MemoryDocumentStore {
    MemoryDocumentStore::new("items", KeySchema::partition("id", KeyType::String)).expect("table")
}

fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(100))
        .max_attempts(4)
        .without_jitter()
}

#[tokio::test(start_paused = true)]
async fn retries_follow_the_policy_schedule_exactly() {
    let faults = FaultLayer::seeded(1);
    let store = table().layer(Layers::new().retry(policy()).faults(faults.clone()));
    faults.fail_next(3, ErrorKind::Unavailable);
    let started = tokio::time::Instant::now();
    let got = store
        .get(&DocKey::partition("a"), GetItemOptions::new())
        .await
        .expect("the fourth attempt succeeds");
    assert_eq!(got, None);
    assert_eq!(faults.injected(), 3);
    // 100 + 200 + 400 ms of backoff, nothing else.
    assert_eq!(started.elapsed(), Duration::from_millis(700));

    faults.fail_next(4, ErrorKind::Throttled);
    let err = store
        .get(&DocKey::partition("a"), GetItemOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Throttled,
        "the last error comes back"
    );
    assert_eq!(faults.injected(), 7, "four attempts, no more");
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_are_not_retried() {
    let faults = FaultLayer::seeded(1);
    let store = table().layer(Layers::new().retry(policy()).faults(faults.clone()));
    faults.fail_next(2, ErrorKind::InvalidInput);
    let err = store
        .get(&DocKey::partition("a"), GetItemOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(faults.injected(), 1, "one attempt only");
}

#[tokio::test(start_paused = true)]
async fn non_idempotent_updates_run_once_unless_told_otherwise() {
    let faults = FaultLayer::seeded(1);
    let store = table().layer(Layers::new().retry(policy()).faults(faults.clone()));
    store
        .put(
            Document::new().with("id", "a").with("n", 0),
            PutItemOptions::new(),
        )
        .await
        .expect("put");
    let add = Update::new().add("n", 1);
    faults.fail_next(1, ErrorKind::Unavailable);
    let err = store
        .update(&DocKey::partition("a"), &add, UpdateOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Unavailable,
        "ADD to a number is not repeated"
    );
    // `set` is idempotent: retried.
    faults.fail_next(1, ErrorKind::Unavailable);
    store
        .update(
            &DocKey::partition("a"),
            &Update::new().set("s", "x"),
            UpdateOptions::new(),
        )
        .await
        .expect("a set is retried");
    // An explicit override makes `update` repeatable.
    let forced = table().layer(
        Layers::new()
            .retry_layer(RetryLayer::new(policy()).idempotent("update", true))
            .faults(faults.clone()),
    );
    faults.fail_next(1, ErrorKind::Unavailable);
    forced
        .update(&DocKey::partition("b"), &add, UpdateOptions::new())
        .await
        .expect("retried by override");
}

/// A list element's removal written but answered with an error is not run again: a second
/// run would remove the element that moved into its place.
#[tokio::test(start_paused = true)]
async fn removing_a_list_element_is_not_repeated_after_it_was_written() {
    let faults = FaultLayer::seeded(1).with(
        Fault::error(ErrorKind::Unavailable, 1.0)
            .after_success()
            .operations(&["update"]),
    );
    let store = table().layer(Layers::new().retry(policy()).faults(faults.clone()));
    let queue = vec!["a".into(), "b".into(), "c".into()];
    store
        .put(
            Document::new()
                .with("id", "q")
                .with("queue", store_core::Value::List(queue)),
            PutItemOptions::new(),
        )
        .await
        .expect("put");
    let pop = Update::new().remove(Path::attr("queue").index(0));
    let err = store
        .update(&DocKey::partition("q"), &pop, UpdateOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(faults.injected_after_success(), 1, "run once, not retried");
    let item = store
        .get(&DocKey::partition("q"), GetItemOptions::new())
        .await
        .expect("get")
        .expect("the item");
    let left = vec!["b".into(), "c".into()];
    assert_eq!(item.get("queue"), Some(&store_core::Value::List(left)));
}

#[tokio::test(start_paused = true)]
async fn a_budget_stops_a_retry_storm() {
    let faults = FaultLayer::seeded(1);
    let budget = RetryBudget::new(0.1, 5);
    let store = table().layer(
        Layers::new()
            .retry_layer(RetryLayer::new(policy()).budget(budget.clone()))
            .faults(faults.clone()),
    );
    // Every call fails: without a budget, 100 calls would make 400 attempts.
    faults.fail_next(10_000, ErrorKind::Unavailable);
    for _ in 0..100 {
        let _ = store
            .get(&DocKey::partition("a"), GetItemOptions::new())
            .await;
    }
    let attempts = faults.injected();
    // 100 first attempts, the reserve of 5, and 0.1 earned per call (at most 10 more).
    assert!(
        (100..=115).contains(&attempts),
        "{attempts} attempts for 100 calls"
    );
    assert_eq!(budget.available(), 0);
}

/// A SQL store whose every query answers one row, counting the queries.
#[derive(Debug, Default)]
struct OneRow {
    queries: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl store_core::Health for OneRow {
    async fn health(&self) -> store_core::Result<store_core::HealthReport> {
        Ok(store_core::HealthReport {
            backend: "one-row",
            latency: Duration::ZERO,
            detail: None,
        })
    }
}

#[async_trait::async_trait]
impl store_core::SqlStore for OneRow {
    fn backend(&self) -> &'static str {
        "one-row"
    }
    async fn execute(&self, _sql: &str, _params: &[store_core::Value]) -> store_core::Result<u64> {
        Ok(1)
    }
    async fn batch_execute(&self, _sql: &str) -> store_core::Result<()> {
        Ok(())
    }
    fn query<'a>(
        &'a self,
        _sql: &'a str,
        _params: &'a [store_core::Value],
    ) -> futures::stream::BoxStream<'a, store_core::Result<Document>> {
        use futures::StreamExt;
        self.queries
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        futures::stream::iter([Ok(Document::new().with("id", 1))]).boxed()
    }
    async fn begin(
        &self,
        _isolation: store_core::sql::IsolationLevel,
    ) -> store_core::Result<Box<dyn store_core::sql::SqlTransaction>> {
        Err(store_core::StoreError::unsupported("no transactions"))
    }
}

#[tokio::test(start_paused = true)]
async fn collected_queries_are_retried_only_when_they_only_read() {
    use store_core::sql::SqlStoreExt;
    let faults = FaultLayer::seeded(1);
    let store = OneRow::default().layer(Layers::new().retry(policy()).faults(faults.clone()));
    for select in [
        "SELECT id FROM t WHERE id = $1",
        "  -- the newest\n (select id FROM t)",
        "/* a note */ VALUES (1)",
    ] {
        faults.fail_next(2, ErrorKind::Unavailable);
        let row = store
            .query_one(select, &[1.into()])
            .await
            .unwrap_or_else(|e| panic!("`{select}` is retried: {e}"));
        assert_eq!(row.get("id"), Some(&1.into()));
    }
    assert_eq!(faults.injected(), 6);
    for write in [
        "INSERT INTO t (id) VALUES ($1) RETURNING id",
        "WITH gone AS (DELETE FROM t RETURNING id) SELECT id FROM gone",
    ] {
        faults.fail_next(1, ErrorKind::Unavailable);
        let err = store.query_one(write, &[1.into()]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "`{write}` runs once");
    }
    assert_eq!(faults.injected(), 8);
    assert_eq!(
        store
            .inner()
            .queries
            .load(std::sync::atomic::Ordering::SeqCst),
        3,
        "three reads answered, the failed writes never reached the store"
    );
}

#[tokio::test(start_paused = true)]
async fn a_collected_query_that_may_write_is_a_write_to_the_layers() {
    use store_core::sql::SqlStoreExt;
    let writes = FaultLayer::seeded(1)
        .with(Fault::error(ErrorKind::Unavailable, 1.0).access(store_layers::Access::Write));
    let store = OneRow::default().layer(Layers::new().faults(writes));
    store
        .query_one("SELECT id FROM t", &[])
        .await
        .expect("a read is not a write");
    let err = store
        .query_one("INSERT INTO t (id) VALUES (1) RETURNING id", &[])
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Unavailable,
        "faults on writes hit it"
    );
}
