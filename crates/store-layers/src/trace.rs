//! [`TraceLayer`]: one client span per call, with the OpenTelemetry database conventions.

use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;
use futures::future::BoxFuture;
use tracing::Instrument;

use crate::layer::{Call, Layer};
use crate::meta::OpMeta;

/// Opens one `tracing` span per call (named `db`; its OpenTelemetry name, in `otel.name`, is
/// `{operation} {target}`, the target being the collection, else the namespace, else the
/// server's `address:port`), with the OpenTelemetry database attributes:
///
/// | attribute | value |
/// |---|---|
/// | `otel.kind` | `client` |
/// | `db.system.name` | the backend, by its OpenTelemetry name (`postgresql`, `aws.dynamodb`, `opensearch`, `sqlite`; others as the backend names itself) |
/// | `db.operation.name` | the operation (`get`, `batch_write`, `execute`…) |
/// | `db.collection.name` | the bucket, table or index, when the store names one |
/// | `db.namespace` | the database or schema, when [`namespace`](Self::namespace) set one |
/// | `server.address`, `server.port` | when [`server`](Self::server) set them |
/// | `db.query.text` | the statement (with its `$n` placeholders, never the parameters), only when [`query_text`](Self::query_text) opted in |
/// | `error.type`, `otel.status_code = "ERROR"` | on failure: the error kind |
/// | `db.response.status_code` | on failure, when the server answered: its status ([`StoreError::status_code`](store_core::StoreError::status_code): an HTTP status, a SQLSTATE) |
/// | `db.client.operation.duration` | the call's duration in seconds, retries included |
///
/// The layers inside the span record what they do as events of it: each retry is a
/// `retrying` event (attempt, delay, error). No key, parameter, credential or (unless opted
/// in) query text is recorded. A library never installs a subscriber or exporter: the
/// application chooses (for example `tracing-opentelemetry`).
///
/// ```
/// use store_layers::TraceLayer;
/// let trace = TraceLayer::new()
///     .namespace("app")
///     .server("db.internal", 5432)
///     .query_text(true);
/// # let _ = trace;
/// ```
#[derive(Debug, Clone, Default)]
pub struct TraceLayer {
    namespace: Option<Arc<str>>,
    server: Option<(Arc<str>, u16)>,
    query_text: bool,
}

impl TraceLayer {
    /// A span per call at `INFO` level, with no namespace, server or query text.
    pub fn new() -> Self {
        Self::default()
    }

    /// The database, schema or keyspace the store works in (`db.namespace`).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        let namespace = namespace.into();
        self.namespace = (!namespace.is_empty()).then(|| namespace.into());
        self
    }

    /// The server the store talks to (`server.address`, `server.port`).
    pub fn server(mut self, address: impl Into<String>, port: u16) -> Self {
        self.server = Some((address.into().into(), port));
        self
    }

    /// Records the statement of SQL calls as `db.query.text` (off by default). Parameters are
    /// bound, never spliced, so the text holds placeholders, not values; still, a literal
    /// written into the statement would be recorded, hence the opt-in.
    pub fn query_text(mut self, on: bool) -> Self {
        self.query_text = on;
        self
    }

    /// The span's OpenTelemetry name: `{operation} {target}`.
    fn span_name(&self, meta: &OpMeta<'_>) -> String {
        if meta.collection.is_some() {
            return meta.to_string();
        }
        match (&self.namespace, &self.server) {
            (Some(namespace), _) => format!("{} {namespace}", meta.operation),
            (None, Some((address, port))) => format!("{} {address}:{port}", meta.operation),
            (None, None) => meta.operation.to_owned(),
        }
    }
}

/// The OpenTelemetry `db.system.name` of a backend: the well-known name where there is one.
pub(crate) fn system_name(backend: &'static str) -> &'static str {
    match backend {
        "postgres" | "postgresql" => "postgresql",
        "dynamodb" => "aws.dynamodb",
        other => other,
    }
}

impl TraceLayer {
    /// Runs `call` inside the call's span, with its attributes, duration and error; when no
    /// subscriber wants the span, just runs it.
    pub(crate) async fn run<T, Fut>(
        &self,
        meta: &OpMeta<'_>,
        call: impl FnOnce() -> Fut,
    ) -> store_core::Result<T>
    where
        Fut: Future<Output = store_core::Result<T>>,
    {
        let span = tracing::info_span!(
            "db",
            otel.name = tracing::field::Empty,
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            db.system.name = system_name(meta.backend),
            db.operation.name = meta.operation,
            db.collection.name = tracing::field::Empty,
            db.namespace = tracing::field::Empty,
            db.query.text = tracing::field::Empty,
            server.address = tracing::field::Empty,
            server.port = tracing::field::Empty,
            error.type = tracing::field::Empty,
            db.response.status_code = tracing::field::Empty,
            db.client.operation.duration = tracing::field::Empty,
        );
        if span.is_disabled() {
            // No subscriber wants it: the call runs as if the layer were not there.
            return call().await;
        }
        span.record("otel.name", self.span_name(meta));
        if let Some(collection) = &meta.collection {
            span.record("db.collection.name", *collection);
        }
        if let Some(namespace) = &self.namespace {
            span.record("db.namespace", &**namespace);
        }
        if let Some((address, port)) = &self.server {
            span.record("server.address", &**address);
            span.record("server.port", port);
        }
        if self.query_text
            && let Some(text) = &meta.query_text
        {
            span.record("db.query.text", *text);
        }
        let recorder = span.clone();
        // Boxed: only traced calls carry the instrumented future.
        Box::pin(
            async move {
                let started = Instant::now();
                let outcome = call().await;
                recorder.record(
                    "db.client.operation.duration",
                    started.elapsed().as_secs_f64(),
                );
                if let Err(e) = &outcome {
                    recorder.record("error.type", e.kind().as_str());
                    if let Some(code) = e.status_code() {
                        recorder.record("db.response.status_code", code);
                    }
                    recorder.record("otel.status_code", "ERROR");
                }
                outcome
            }
            .instrument(span),
        )
        .await
    }
}

impl Layer for TraceLayer {
    /// Runs each call at most once.
    fn may_repeat(&self, _meta: &OpMeta<'_>) -> bool {
        false
    }

    fn around<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        self.run(meta, call).boxed()
    }

    fn observed<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        self.around(meta, call)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{Access, StoreKind};

    #[test]
    fn span_names_fall_back_from_collection_to_namespace_to_server() {
        let put = OpMeta::new(StoreKind::Object, "s3", "put", Access::Write);
        assert_eq!(TraceLayer::new().span_name(&put), "put");
        let traced = TraceLayer::new().server("minio", 9000);
        assert_eq!(traced.span_name(&put), "put minio:9000");
        assert_eq!(traced.clone().namespace("app").span_name(&put), "put app");
        let put = put.collection("photos");
        assert_eq!(traced.namespace("app").span_name(&put), "put photos");
    }

    #[test]
    fn systems_get_their_opentelemetry_names() {
        assert_eq!(system_name("postgres"), "postgresql");
        assert_eq!(system_name("dynamodb"), "aws.dynamodb");
        assert_eq!(system_name("opensearch"), "opensearch");
        assert_eq!(system_name("memory"), "memory");
    }
}
