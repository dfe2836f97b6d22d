//! The trace layer's spans, captured in memory by a `tracing-subscriber` layer: one span per
//! call named `{operation} {collection}`, the OpenTelemetry database attributes, `error.type`
//! on failure, retries as events of the span, and no key, parameter, secret or query text
//! unless opted in.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use store_core::memory::{MemoryDocumentStore, MemoryObjectStore, MemorySearchIndex};
use store_core::search::{BulkOp, IndexSpec};
use store_core::sql::{IsolationLevel, SqlStore, SqlTransaction};
use store_core::{
    DocKey, Document, DocumentStore, ErrorKind, Health, HealthReport, KeySchema, KeyType,
    ObjectKey, ObjectStoreExt, RetryPolicy, SearchIndex, StoreError, Value,
};
use store_layers::{FaultLayer, LayerExt, Layers, RetryLayer, TraceLayer};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// One span as the capture saw it: its name, its fields (as recorded, last value wins) and
/// the events emitted inside it.
#[derive(Debug, Clone, Default)]
struct SpanRecord {
    name: &'static str,
    fields: BTreeMap<String, String>,
    events: Vec<BTreeMap<String, String>>,
}

impl SpanRecord {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// Every recorded value, of the span and of its events.
    fn all_values(&self) -> Vec<&str> {
        self.fields
            .values()
            .chain(self.events.iter().flat_map(BTreeMap::values))
            .map(String::as_str)
            .collect()
    }

    fn retries(&self) -> Vec<&BTreeMap<String, String>> {
        self.events
            .iter()
            .filter(|e| e.get("message").map(String::as_str) == Some("retrying"))
            .collect()
    }
}

#[derive(Default)]
struct Captured {
    spans: Vec<SpanRecord>,
    open: HashMap<Id, usize>,
    orphan_events: Vec<BTreeMap<String, String>>,
}

/// A `tracing-subscriber` layer keeping every span and event in memory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Captured>>);

impl Capture {
    fn spans(&self) -> Vec<SpanRecord> {
        self.0.lock().unwrap().spans.clone()
    }

    fn orphan_events(&self) -> usize {
        self.0.lock().unwrap().orphan_events.len()
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
        let mut record = SpanRecord {
            name: attrs.metadata().name(),
            ..SpanRecord::default()
        };
        attrs.record(&mut Fields(&mut record.fields));
        let mut captured = self.0.lock().unwrap();
        captured.spans.push(record);
        let index = captured.spans.len() - 1;
        captured.open.insert(id.clone(), index);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut captured = self.0.lock().unwrap();
        if let Some(&index) = captured.open.get(id) {
            values.record(&mut Fields(&mut captured.spans[index].fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let parent = ctx.event_span(event).map(|span| span.id());
        let mut captured = self.0.lock().unwrap();
        match parent.and_then(|id| captured.open.get(&id).copied()) {
            Some(index) => captured.spans[index].events.push(fields),
            None => captured.orphan_events.push(fields),
        }
    }

    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        // Span ids are reused once closed.
        self.0.lock().unwrap().open.remove(&id);
    }
}

/// Runs `test` with the capture as this thread's subscriber (the tests run on a
/// current-thread runtime, so every span of the calls is seen).
fn captured<F: Future<Output = ()>>(test: impl FnOnce(Capture) -> F) -> Capture {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(test(capture.clone()));
    capture
}

fn quick() -> RetryPolicy {
    RetryPolicy::default().base_delay(Duration::from_millis(1))
}

fn users() -> MemoryDocumentStore {
    MemoryDocumentStore::new("users", KeySchema::partition("id", KeyType::String)).unwrap()
}

/// A SQL store that answers every statement with one affected row (there is no in-memory
/// SQL backend), calling itself `postgres`.
#[derive(Debug, Default)]
struct FakeSql;

#[async_trait]
impl Health for FakeSql {
    async fn health(&self) -> store_core::Result<HealthReport> {
        Ok(HealthReport {
            backend: "postgres",
            latency: Duration::ZERO,
            detail: None,
        })
    }
}

#[async_trait]
impl SqlStore for FakeSql {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn execute(&self, sql: &str, _params: &[Value]) -> store_core::Result<u64> {
        if sql.contains("duplicate") {
            // What store-rds returns for a unique violation: the SQLSTATE as the status.
            return Err(StoreError::already_exists("duplicate key").with_status_code("23505"));
        }
        Ok(1)
    }

    async fn batch_execute(&self, _sql: &str) -> store_core::Result<()> {
        Ok(())
    }

    fn query<'a>(
        &'a self,
        _sql: &'a str,
        _params: &'a [Value],
    ) -> BoxStream<'a, store_core::Result<Document>> {
        Box::pin(futures::stream::empty())
    }

    async fn begin(
        &self,
        _isolation: IsolationLevel,
    ) -> store_core::Result<Box<dyn SqlTransaction>> {
        Err(StoreError::unsupported("no transactions in the fake"))
    }
}

#[test]
fn one_span_per_call_with_the_database_attributes() {
    let capture = captured(|_| async {
        let faults = FaultLayer::seeded(1);
        let store = users().layer(Layers::new().trace().retry(quick()).faults(faults.clone()));
        // Two failed attempts, then success: still one span, with two retry events.
        faults.fail_next(2, ErrorKind::Unavailable);
        let item = Document::new().with("id", "u1").with("name", "Ada");
        store.put(item, Default::default()).await.unwrap();
        let key = DocKey::partition("u1");
        let got = store.get(&key, Default::default()).await.unwrap();
        assert!(got.is_some());
        assert_eq!(
            faults.calls(),
            4,
            "two failed attempts of put, then put, then get"
        );
    });
    let spans = capture.spans();
    assert_eq!(
        spans.len(),
        2,
        "one span per call, not per attempt: {spans:#?}"
    );
    let (put, get) = (&spans[0], &spans[1]);
    for (span, operation) in [(put, "put"), (get, "get")] {
        assert_eq!(span.name, "db");
        assert_eq!(
            span.field("otel.name"),
            Some(&*format!("{operation} users"))
        );
        assert_eq!(span.field("otel.kind"), Some("client"));
        assert_eq!(span.field("db.system.name"), Some("memory"));
        assert_eq!(span.field("db.operation.name"), Some(operation));
        assert_eq!(span.field("db.collection.name"), Some("users"));
        let seconds: f64 = span
            .field("db.client.operation.duration")
            .expect("the duration")
            .parse()
            .unwrap();
        assert!(seconds >= 0.0);
        assert_eq!(span.field("error.type"), None, "{span:?}");
        assert_eq!(span.field("otel.status_code"), None);
        // Nothing that was not asked for.
        for absent in [
            "db.namespace",
            "server.address",
            "server.port",
            "db.query.text",
        ] {
            assert_eq!(span.field(absent), None, "{absent} in {span:?}");
        }
    }
    let retries = put.retries();
    assert_eq!(retries.len(), 2, "{put:#?}");
    for (n, retry) in retries.iter().enumerate() {
        assert_eq!(
            retry.get("attempt").map(String::as_str),
            Some(&*(n + 1).to_string())
        );
        assert_eq!(retry.get("operation").map(String::as_str), Some("put"));
        assert!(retry.contains_key("delay"), "{retry:?}");
        assert!(retry["error"].contains("unavailable"), "{retry:?}");
    }
    assert!(get.events.is_empty(), "{get:?}");
    assert_eq!(capture.orphan_events(), 0);
}

#[test]
fn a_server_status_is_recorded_as_the_response_status_code() {
    let capture = captured(|_| async {
        let store = FakeSql.layer(Layers::new().trace());
        let err = store
            .execute("INSERT INTO t VALUES (1) -- duplicate", &[])
            .await
            .unwrap_err();
        assert_eq!(err.status_code(), Some("23505"));
        store
            .execute("INSERT INTO t VALUES (2)", &[])
            .await
            .unwrap();
    });
    let spans = capture.spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    assert_eq!(spans[0].field("db.response.status_code"), Some("23505"));
    assert_eq!(spans[0].field("error.type"), Some("already exists"));
    assert_eq!(spans[1].field("db.response.status_code"), None);
}

#[test]
fn failures_record_error_type() {
    let capture = captured(|_| async {
        let faults = FaultLayer::seeded(2);
        let store = users().layer(
            Layers::new()
                .trace()
                .retry(quick().max_attempts(3))
                .faults(faults.clone()),
        );
        let key = DocKey::partition("u1");
        // Not retryable: one attempt, no retry event.
        faults.fail_next(1, ErrorKind::InvalidInput);
        let err = store.get(&key, Default::default()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        // Retryable, but more failures than attempts: two retries, then the error.
        faults.fail_next(5, ErrorKind::Throttled);
        let err = store.delete(&key, Default::default()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Throttled);
    });
    let spans = capture.spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let (get, delete) = (&spans[0], &spans[1]);
    assert_eq!(get.field("otel.name"), Some("get users"));
    assert_eq!(get.field("error.type"), Some("invalid input"));
    assert_eq!(get.field("otel.status_code"), Some("ERROR"));
    // An error the server did not answer with has no response status.
    assert_eq!(get.field("db.response.status_code"), None);
    assert!(get.retries().is_empty());
    assert_eq!(delete.field("otel.name"), Some("delete users"));
    assert_eq!(delete.field("error.type"), Some("throttled"));
    assert_eq!(delete.field("otel.status_code"), Some("ERROR"));
    assert_eq!(delete.retries().len(), 2);
}

#[test]
fn every_kind_of_store_gets_its_span() {
    let capture = captured(|_| async {
        let layers = || Layers::new().trace();
        let objects = MemoryObjectStore::new().layer(layers());
        objects
            .put_str(&ObjectKey::new("a.txt").unwrap(), "x")
            .await
            .unwrap();
        let documents = users().layer(layers());
        documents
            .put(Document::new().with("id", "u1"), Default::default())
            .await
            .unwrap();
        let index = MemorySearchIndex::new("articles").unwrap().layer(layers());
        index.create(&IndexSpec::new()).await.unwrap();
        let ops = vec![BulkOp::Index {
            id: "a1".into(),
            doc: Document::new().with("title", "hello"),
        }];
        index.bulk(ops).await.unwrap();
        let sql = FakeSql.layer(layers());
        sql.execute("DELETE FROM t WHERE id = $1", &[Value::from(1)])
            .await
            .unwrap();
    });
    let names: Vec<(String, String, String)> = capture
        .spans()
        .iter()
        .map(|s| {
            let field = |k: &str| s.field(k).unwrap_or("-").to_owned();
            (
                field("otel.name"),
                field("db.system.name"),
                field("db.operation.name"),
            )
        })
        .collect();
    let expected = [
        ("put", "memory", "put"),
        ("put users", "memory", "put"),
        ("create articles", "memory", "create"),
        ("bulk articles", "memory", "bulk"),
        ("execute", "postgresql", "execute"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn namespace_and_server_when_configured() {
    let capture = captured(|_| async {
        let trace = TraceLayer::new()
            .namespace("app")
            .server("db.internal", 5432);
        let sql = FakeSql.layer(Layers::new().trace_layer(trace));
        sql.execute("UPDATE t SET a = $1", &[Value::from(1)])
            .await
            .unwrap();
        let trace = TraceLayer::new().server("db.internal", 5432);
        let sql = FakeSql.layer(Layers::new().trace_layer(trace));
        sql.batch_execute("CREATE TABLE t (a int)").await.unwrap();
    });
    let spans = capture.spans();
    assert_eq!(spans.len(), 2);
    let execute = &spans[0];
    assert_eq!(execute.field("otel.name"), Some("execute app"));
    assert_eq!(execute.field("db.system.name"), Some("postgresql"));
    assert_eq!(execute.field("db.namespace"), Some("app"));
    assert_eq!(execute.field("server.address"), Some("db.internal"));
    assert_eq!(execute.field("server.port"), Some("5432"));
    assert_eq!(execute.field("db.collection.name"), None);
    assert_eq!(
        spans[1].field("otel.name"),
        Some("batch_execute db.internal:5432")
    );
}

const STATEMENT: &str = "INSERT INTO accounts (name, password) VALUES ($1, $2)";

/// A SQL insert (retried once) and an object put with a telling key and body, traced.
async fn secrets(trace: TraceLayer) {
    let faults = FaultLayer::seeded(3);
    let retry = RetryLayer::new(quick()).idempotent("execute", true);
    let layers = Layers::new()
        .trace_layer(trace.clone())
        .retry_layer(retry)
        .faults(faults.clone());
    let sql = FakeSql.layer(layers);
    faults.fail_next(1, ErrorKind::Unavailable);
    let params = [Value::from("alice"), Value::from("hunter2")];
    sql.execute(STATEMENT, &params).await.unwrap();
    let objects = MemoryObjectStore::new().layer(Layers::new().trace_layer(trace));
    let key = ObjectKey::new("private/alice-credentials.txt").unwrap();
    objects.put_str(&key, "s3cr3t-token").await.unwrap();
}

fn assert_no_secrets(spans: &[SpanRecord]) {
    for span in spans {
        for value in span.all_values() {
            for secret in ["alice", "hunter2", "s3cr3t", "credentials"] {
                assert!(
                    !value.contains(secret),
                    "`{secret}` recorded in {value:?} of {span:#?}"
                );
            }
        }
    }
}

#[test]
fn no_query_text_or_secret_by_default() {
    let capture = captured(|_| secrets(TraceLayer::new()));
    let spans = capture.spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    assert_eq!(spans[0].retries().len(), 1, "the insert was retried once");
    assert_no_secrets(&spans);
    for span in &spans {
        assert_eq!(span.field("db.query.text"), None);
        for value in span.all_values() {
            assert!(!value.contains("INSERT"), "query text in {value:?}");
        }
    }
}

#[test]
fn query_text_only_when_opted_in_and_never_the_parameters() {
    let capture = captured(|_| secrets(TraceLayer::new().query_text(true)));
    let spans = capture.spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    assert_eq!(spans[0].field("db.query.text"), Some(STATEMENT));
    assert_eq!(
        spans[1].field("db.query.text"),
        None,
        "an object put has none"
    );
    assert_no_secrets(&spans);
}

#[test]
fn no_subscriber_no_span_and_the_call_still_runs() {
    // Nothing installed on this thread: the layer steps aside.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let store = users().layer(Layers::new().trace());
    runtime.block_on(async {
        store
            .put(Document::new().with("id", "u1"), Default::default())
            .await
            .unwrap();
        assert!(
            store
                .get(&DocKey::partition("u1"), Default::default())
                .await
                .unwrap()
                .is_some()
        );
    });
}

#[test]
fn every_page_a_fallback_serves_is_one_span_of_its_own() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let pages = Arc::new(AtomicUsize::new(0));
    let counted = pages.clone();
    let capture = captured(|_| async move {
        let (primary, replica) = (users(), Arc::new(users()));
        for i in 0..6 {
            let user = Document::new().with("id", format!("u{i}"));
            primary.put(user.clone(), Default::default()).await.unwrap();
            replica.put(user, Default::default()).await.unwrap();
        }
        let faults = FaultLayer::seeded(1);
        let layers = Layers::new()
            .trace()
            .fallback(store_layers::FallbackLayer::documents(replica))
            .faults(faults.clone());
        let store = primary.layer(layers);
        // The first page falls back; every later one is read on the replica by its cursor.
        faults.fail_next(1, ErrorKind::Unavailable);
        let scan = store_core::document::Scan::new().page_size(2);
        let mut cursor = None;
        loop {
            let page = store.scan_page(&scan, cursor).await.unwrap();
            counted.fetch_add(1, Ordering::Relaxed);
            cursor = page.next;
            if cursor.is_none() {
                break;
            }
        }
    });
    let pages = pages.load(Ordering::Relaxed);
    assert!(pages >= 3, "six users in pages of two");
    let spans = capture.spans();
    assert_eq!(spans.len(), pages, "one span a page: {spans:#?}");
    for span in &spans {
        assert_eq!(span.field("otel.name"), Some("scan users"));
    }
}

#[test]
fn object_calls_are_named_by_their_bucket() {
    let capture = captured(|_| async {
        let photos = MemoryObjectStore::new()
            .with_bucket("photos")
            .layer(Layers::new().trace());
        let key = ObjectKey::new("cat.jpg").unwrap();
        photos.put_str(&key, "meow").await.unwrap();
        assert_eq!(photos.get_bytes(&key).await.unwrap(), "meow");
    });
    let spans = capture.spans();
    let names: Vec<_> = spans.iter().map(|s| s.field("otel.name")).collect();
    assert_eq!(names, [Some("put photos"), Some("get photos")]);
    for span in &spans {
        assert_eq!(span.field("db.collection.name"), Some("photos"));
    }
}
