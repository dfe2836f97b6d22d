//! Mapping of OpenSearch responses and transport failures to [`StoreError`], with every URL's
//! credentials kept out of the messages.

use std::time::Duration;

use store_core::{ErrorKind, StoreError, Value};

pub(crate) const BACKEND: &str = "opensearch";

/// The error object of an OpenSearch error response, read leniently.
#[derive(Debug, Default, Clone)]
pub(crate) struct ServerError {
    /// `error.type`, such as `index_not_found_exception`.
    pub(crate) ty: String,
    /// The most specific reason found (root cause, else caused_by, else the top reason).
    pub(crate) reason: String,
    /// `error.index`, when the server names one.
    pub(crate) index: Option<String>,
}

impl ServerError {
    /// Reads the `error` member of a response body (an object, or a plain string).
    pub(crate) fn from_body(body: &Value) -> Option<Self> {
        let error = body.as_map()?.get("error")?;
        Some(Self::from_error_value(error))
    }

    /// Reads an error object as found in a response or in a bulk item.
    pub(crate) fn from_error_value(error: &Value) -> Self {
        match error {
            Value::String(s) => Self {
                ty: String::new(),
                reason: s.clone(),
                index: None,
            },
            Value::Map(map) => {
                let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
                let ty = text(map.get("type")).unwrap_or_default();
                let top = text(map.get("reason")).unwrap_or_default();
                let root = map
                    .get("root_cause")
                    .and_then(Value::as_list)
                    .and_then(|l| l.first())
                    .and_then(Value::as_map);
                let caused = map.get("caused_by").and_then(Value::as_map);
                let mut reason = top.clone();
                // Search errors say "all shards failed" at the top: the useful reason is deeper.
                if ty == "search_phase_execution_exception" || top.is_empty() {
                    let failed = map
                        .get("failed_shards")
                        .and_then(Value::as_list)
                        .and_then(|l| l.first())
                        .and_then(Value::as_map)
                        .and_then(|s| s.get("reason"))
                        .and_then(Value::as_map);
                    for candidate in [failed, caused, root].into_iter().flatten() {
                        if let Some(r) = text(candidate.get("reason")) {
                            let inner_ty = text(candidate.get("type")).unwrap_or_default();
                            reason = if inner_ty.is_empty() {
                                r
                            } else {
                                format!("{inner_ty}: {r}")
                            };
                            break;
                        }
                    }
                } else if let Some(caused) = caused
                    && let Some(r) = text(caused.get("reason"))
                {
                    reason = format!("{top}: {r}");
                }
                let index = text(map.get("index"))
                    .or_else(|| root.and_then(|r| text(r.get("index"))))
                    .filter(|i| !i.is_empty() && i != "_na_");
                Self { ty, reason, index }
            }
            other => Self {
                ty: String::new(),
                reason: format!("{other:?}"),
                index: None,
            },
        }
    }

    /// The root type, or any nested type, equals `ty`.
    fn is(&self, ty: &str) -> bool {
        self.ty == ty
    }
}

/// How a 409 version conflict reads for the calling operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConflictMeaning {
    /// A create-only write: the id already exists.
    AlreadyExists,
    /// A conditional write: the version is stale.
    Precondition,
    /// Let the reason decide.
    Auto,
}

/// The error kind for an HTTP status and server error.
pub(crate) fn kind_for(status: u16, server: &ServerError, conflict: ConflictMeaning) -> ErrorKind {
    // OpenSearch answers 400 for an index that already exists.
    if server.is("resource_already_exists_exception") {
        return ErrorKind::AlreadyExists;
    }
    match status {
        404 => ErrorKind::NotFound,
        409 => {
            if server.is("resource_already_exists_exception") {
                return ErrorKind::AlreadyExists;
            }
            match conflict {
                ConflictMeaning::AlreadyExists => ErrorKind::AlreadyExists,
                ConflictMeaning::Precondition => ErrorKind::PreconditionFailed,
                ConflictMeaning::Auto if server.reason.contains("document already exists") => {
                    ErrorKind::AlreadyExists
                }
                ConflictMeaning::Auto if server.is("version_conflict_engine_exception") => {
                    ErrorKind::PreconditionFailed
                }
                ConflictMeaning::Auto => ErrorKind::Conflict,
            }
        }
        429 => ErrorKind::Throttled,
        400 | 405 | 413 | 414 | 422 => ErrorKind::InvalidInput,
        401 | 403 => ErrorKind::Unauthorized,
        408 | 502 | 503 | 504 => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    }
}

/// Builds the error for a failed response.
pub(crate) fn response_error(
    status: u16,
    body: Option<&Value>,
    retry_after: Option<Duration>,
    conflict: ConflictMeaning,
    operation: &'static str,
    target: &str,
) -> StoreError {
    let server = body.and_then(ServerError::from_body).unwrap_or_default();
    let kind = kind_for(status, &server, conflict);
    let message = if server.ty == "index_not_found_exception" {
        let index = server.index.as_deref().unwrap_or(target);
        format!("no such index `{index}`")
    } else if server.reason.is_empty() && server.ty.is_empty() {
        format!("HTTP {status}")
    } else if server.ty.is_empty() {
        format!("HTTP {status}: {}", server.reason)
    } else {
        format!("HTTP {status} {}: {}", server.ty, server.reason)
    };
    let mut error = StoreError::new(kind, message)
        .with_backend(BACKEND)
        .with_operation(operation)
        .with_target(target.to_owned())
        .with_status_code(status.to_string());
    if let Some(delay) = retry_after {
        error = error.with_retry_after(delay);
    }
    if server.ty == "index_not_found_exception" {
        error = error.with_missing_collection();
    }
    error
}

/// Builds the error for a request that got no response (connection refused or reset, timeout).
pub(crate) fn transport_error(
    source: opensearch::Error,
    operation: &'static str,
    target: &str,
) -> StoreError {
    let status_code = source
        .status_code()
        .map(|status| status.as_u16().to_string());
    let (kind, message) = if let Some(status) = source.status_code() {
        (
            kind_for(
                status.as_u16(),
                &ServerError::default(),
                ConflictMeaning::Auto,
            ),
            format!("HTTP {status}"),
        )
    } else if source.is_timeout() {
        (ErrorKind::Unavailable, "the request timed out".to_owned())
    } else if source.is_json() {
        (
            ErrorKind::Internal,
            "could not encode the request".to_owned(),
        )
    } else {
        (
            ErrorKind::Unavailable,
            "could not reach the server".to_owned(),
        )
    };
    let error = StoreError::new(kind, message)
        .with_backend(BACKEND)
        .with_operation(operation)
        .with_target(target.to_owned());
    match status_code {
        Some(code) => error.with_status_code(code),
        None => error,
    }
    .with_source(Redacted::from(source))
}

/// A transport error shown without the URL's credentials (reqwest errors print the URL).
#[derive(Debug)]
pub(crate) struct Redacted(String);

impl From<opensearch::Error> for Redacted {
    fn from(error: opensearch::Error) -> Self {
        let mut text = String::new();
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(e) = current {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&redact_urls(&e.to_string()));
            current = e.source();
        }
        Redacted(text)
    }
}

impl std::fmt::Display for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Redacted {}

/// Replaces the `user:password@` part of any URL in `text` with `***@`.
pub(crate) fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == ')')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        if let Some(at) = authority.rfind('@') {
            out.push_str("***@");
            out.push_str(&authority[at + 1..]);
        } else {
            out.push_str(authority);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> Value {
        crate::json::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn maps_the_issue_cases() {
        let nf = body(
            r#"{"error":{"root_cause":[],"type":"index_not_found_exception","reason":"no such index [x]","index":"x"},"status":404}"#,
        );
        let e = response_error(404, Some(&nf), None, ConflictMeaning::Auto, "search", "x");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("no such index `x`"), "{e}");
        assert!(
            e.is_missing_collection(),
            "a missing index is the collection missing"
        );
        let vc = body(
            r#"{"error":{"type":"version_conflict_engine_exception","reason":"[a]: version conflict, required seqNo [0]"},"status":409}"#,
        );
        let e = response_error(409, Some(&vc), None, ConflictMeaning::Auto, "index", "x/a");
        assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
        assert!(!e.is_missing_collection());
        let e = response_error(
            429,
            None,
            Some(Duration::from_secs(1)),
            ConflictMeaning::Auto,
            "bulk",
            "x",
        );
        assert_eq!(e.kind(), ErrorKind::Throttled);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
        let mp = body(
            r#"{"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [n] of type [long]","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"x\""}},"status":400}"#,
        );
        let e = response_error(400, Some(&mp), None, ConflictMeaning::Auto, "index", "x/a");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("failed to parse field [n]"), "{e}");
    }
}
