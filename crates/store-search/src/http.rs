//! The one place requests are sent: raw bytes in, status and exactly-parsed JSON out.

use std::time::{Duration, Instant};

use bytes::Bytes;
use opensearch::OpenSearch;
use opensearch::http::Method;
use opensearch::http::headers::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use store_core::{Result, StoreError, Value};

use crate::error::{BACKEND, ConflictMeaning, response_error, transport_error};
use crate::json::lookup;

/// A request body.
pub(crate) enum Body {
    /// JSON.
    Json(Bytes),
    /// Newline-delimited JSON (`_bulk`).
    NdJson(Bytes),
}

impl Body {
    /// A JSON body from a `serde_json` value.
    pub(crate) fn json(value: &serde_json::Value) -> Self {
        Body::Json(Bytes::from(serde_json::to_vec(value).unwrap_or_default()))
    }
}

/// A response: its status, its `Retry-After` hint and its body read exactly.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) fn is_success(&self) -> bool {
        success(self.status)
    }

    /// The body when the status is a success, else the mapped error.
    pub(crate) fn check(
        self,
        conflict: ConflictMeaning,
        operation: &'static str,
        target: &str,
    ) -> Result<Value> {
        if self.is_success() {
            Ok(self.body)
        } else {
            Err(self.error(conflict, operation, target))
        }
    }

    /// The error this (failed) response stands for.
    pub(crate) fn error(
        &self,
        conflict: ConflictMeaning,
        operation: &'static str,
        target: &str,
    ) -> StoreError {
        response_error(
            self.status,
            Some(&self.body),
            self.retry_after,
            conflict,
            operation,
            target,
        )
    }

    /// A member of the body by path.
    pub(crate) fn get(&self, path: &[&str]) -> Option<&Value> {
        lookup(&self.body, path)
    }
}

/// Sends one request and reads the whole response.
pub(crate) async fn send(
    client: &OpenSearch,
    method: Method,
    path: &str,
    query: &[(&str, String)],
    body: Option<Body>,
    operation: &'static str,
    target: &str,
) -> Result<Reply> {
    send_raw(client, method, path, query, body, operation, target)
        .await?
        .parse(method, operation, target)
}

/// Sends a request and reads its response's bytes, unparsed.
pub(crate) async fn send_raw(
    client: &OpenSearch,
    method: Method,
    path: &str,
    query: &[(&str, String)],
    body: Option<Body>,
    operation: &'static str,
    target: &str,
) -> Result<RawReply> {
    let started = Instant::now();
    let mut headers = HeaderMap::new();
    let bytes = match body {
        Some(Body::Json(b)) => Some(b),
        Some(Body::NdJson(b)) => {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            );
            Some(b)
        }
        None => None,
    };
    let sent = bytes.as_ref().map_or(0, Bytes::len);
    let response = client
        .transport()
        .send(method, path, headers, Some(query), bytes, None)
        .await
        .map_err(|e| transport_error(e, operation, target))?;
    let status = response.status_code().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let raw = response
        .bytes()
        .await
        .map_err(|e| transport_error(e, operation, target))?;
    tracing::debug!(
        backend = BACKEND,
        operation,
        target,
        status,
        bytes_sent = sent,
        bytes_received = raw.len(),
        latency_ms = started.elapsed().as_millis() as u64,
        "opensearch request"
    );
    Ok(RawReply {
        status,
        retry_after,
        raw,
    })
}

/// A response whose body is still its bytes: what [`send_raw`] returns, for callers that look
/// into the text before parsing it.
pub(crate) struct RawReply {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) raw: Bytes,
}

impl RawReply {
    /// Whether the status is a success (2xx).
    pub(crate) fn is_success(&self) -> bool {
        success(self.status)
    }

    /// The reply with its body parsed exactly (a failed response's text kept as its reason).
    pub(crate) fn parse(
        self,
        method: Method,
        operation: &'static str,
        target: &str,
    ) -> Result<Reply> {
        let body = if self.raw.is_empty() || method == Method::Head {
            Value::Null
        } else {
            match crate::json::parse(&self.raw) {
                Ok(v) => v,
                // A proxy or load balancer may answer with text; keep it as the reason.
                Err(_) if !self.is_success() => {
                    let text: String = String::from_utf8_lossy(&self.raw)
                        .chars()
                        .take(500)
                        .collect();
                    let mut doc = store_core::Document::new();
                    doc.insert("error", text);
                    Value::Map(doc)
                }
                Err(e) => {
                    return Err(e
                        .with_backend(BACKEND)
                        .with_operation(operation)
                        .with_target(target.to_owned()));
                }
            }
        };
        Ok(Reply {
            status: self.status,
            retry_after: self.retry_after,
            body,
        })
    }
}

/// Whether an HTTP status is a success (2xx).
fn success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Percent-encodes one path segment (an id or an index name).
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
