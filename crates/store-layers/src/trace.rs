//! [`TraceLayer`]: one client span per call, with the OpenTelemetry database conventions.

use std::time::Instant;

use futures::FutureExt;
use futures::future::BoxFuture;
use tracing::Instrument;

use crate::layer::{Call, Layer};
use crate::meta::OpMeta;

/// Opens one `tracing` span per call, named `{operation} {collection}` (in `otel.name`), with
/// the OpenTelemetry database attributes `db.system.name`, `db.operation.name`,
/// `db.collection.name`, `otel.kind = "client"`, and on failure `error.type` (the error kind)
/// and `otel.status_code = "ERROR"`; the call's duration in seconds is recorded as
/// `db.client.operation.duration`. No query text, key or secret is recorded. A library never
/// installs a subscriber or exporter: the application chooses (for example
/// `tracing-opentelemetry`).
#[derive(Debug, Clone, Default)]
pub struct TraceLayer {
    _private: (),
}

impl TraceLayer {
    /// A span per call at `INFO` level.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Layer for TraceLayer {
    fn around<'a, T: Send + 'a>(
        &'a self,
        meta: &'a OpMeta,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        let span = tracing::info_span!(
            "db",
            otel.name = %meta,
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            db.system.name = meta.backend,
            db.operation.name = meta.operation,
            db.collection.name = meta.collection.as_deref().unwrap_or(""),
            error.type = tracing::field::Empty,
            db.client.operation.duration = tracing::field::Empty,
        );
        async move {
            if span.is_disabled() {
                // No subscriber wants it: the call runs as if the layer were not there.
                return call().await;
            }
            let recorder = span.clone();
            async move {
                let started = Instant::now();
                let outcome = call().await;
                recorder.record(
                    "db.client.operation.duration",
                    started.elapsed().as_secs_f64(),
                );
                if let Err(e) = &outcome {
                    recorder.record("error.type", e.kind().as_str());
                    recorder.record("otel.status_code", "ERROR");
                }
                outcome
            }
            .instrument(span)
            .await
        }
        .boxed()
    }
}
