//! Mapping of SDK errors onto [`StoreError`] kinds.

use std::time::Duration;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use store_core::{ErrorKind, StoreError};

use crate::BACKEND;

/// Maps an SDK error to a [`StoreError`] with backend, operation and target, chaining the
/// SDK error as the source.
///
/// The mapping follows S3's error codes first and the HTTP status second:
/// `NoSuchKey`/404 are `NotFound`, `NoSuchBucket` is `NotFound` naming the bucket, 412 is
/// `PreconditionFailed`, 304 is `PreconditionFailed` ("not modified"), `SlowDown`/429/503 are
/// `Throttled`, 500 and transport failures are `Unavailable`, `InvalidAccessKeyId`,
/// `SignatureDoesNotMatch`, `AccessDenied` and 403 are `Unauthorized`.
pub(crate) fn map_sdk_error<E, R>(
    err: SdkError<E, R>,
    operation: &'static str,
    bucket: &str,
    target: &str,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: HttpLike + std::fmt::Debug + Send + Sync + 'static,
{
    let (kind, message, retry_after, target) = classify(&err, bucket, target);
    let permanent = matches!(err.code(), Some("BucketNotEmpty" | "OperationAborted"));
    let mut out = StoreError::new(kind, message)
        .with_backend(BACKEND)
        .with_operation(operation)
        .with_target(target);
    if let Some(delay) = retry_after {
        out = out.with_retry_after(delay);
    }
    if permanent {
        out = out.with_retryable(false);
    }
    out.with_source(err)
}

/// What the mapping needs of a raw HTTP response.
pub(crate) trait HttpLike {
    /// The status code.
    fn status_code(&self) -> u16;
    /// A header's value.
    fn header(&self, name: &str) -> Option<&str>;
}

impl HttpLike for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers().get(name)
    }
}

fn classify<E, R>(
    err: &SdkError<E, R>,
    bucket: &str,
    target: &str,
) -> (ErrorKind, String, Option<Duration>, String)
where
    E: ProvideErrorMetadata,
    R: HttpLike,
{
    let target = target.to_owned();
    match err {
        SdkError::ConstructionFailure(_) => (
            ErrorKind::InvalidInput,
            "the request could not be built (check the key, bucket and options)".to_owned(),
            None,
            target,
        ),
        SdkError::TimeoutError(_) => (
            ErrorKind::Unavailable,
            "the request timed out".to_owned(),
            None,
            target,
        ),
        SdkError::DispatchFailure(failure) => {
            let what = match failure.as_connector_error() {
                Some(c) if c.is_timeout() => "timed out connecting to",
                Some(c) if c.is_io() => "lost the connection to",
                _ => "could not send the request to",
            };
            (
                ErrorKind::Unavailable,
                format!("{what} the S3 endpoint"),
                None,
                target,
            )
        }
        SdkError::ResponseError(response) => {
            let status = response.raw().status_code();
            let kind = status_kind(status).unwrap_or(ErrorKind::Unavailable);
            (
                kind,
                format!("the response (HTTP {status}) could not be read"),
                retry_after(response.raw()),
                target,
            )
        }
        SdkError::ServiceError(service) => {
            let raw = service.raw();
            let status = raw.status_code();
            let code = err.code().unwrap_or("");
            let detail = err.message().unwrap_or("");
            let (kind, target) = match code {
                "NoSuchBucket" => (ErrorKind::NotFound, bucket.to_owned()),
                _ => (
                    code_kind(code)
                        .or_else(|| status_kind(status))
                        .unwrap_or(ErrorKind::Internal),
                    target,
                ),
            };
            let mut message = match (code, kind) {
                ("NoSuchBucket", _) => format!("bucket `{bucket}` does not exist"),
                (_, _) if status == 304 => "not modified: the object still has that etag".into(),
                ("" | "NotFound", ErrorKind::NotFound) => "no object exists at this key".into(),
                ("NoSuchKey", _) => "no object exists at this key".into(),
                ("", _) => format!("S3 answered HTTP {status}"),
                (code, _) => format!("S3 answered {code} (HTTP {status})"),
            };
            if !detail.is_empty() && !message.contains(detail) && code != "NoSuchBucket" {
                message.push_str(": ");
                message.push_str(detail);
            }
            (kind, message, retry_after(raw), target)
        }
        _ => (
            ErrorKind::Internal,
            "unexpected SDK error".to_owned(),
            None,
            target,
        ),
    }
}

/// The kind of an S3 error code, where the code alone decides it.
pub(crate) fn code_kind(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "NoSuchKey" | "NotFound" | "NoSuchUpload" | "NoSuchVersion" => ErrorKind::NotFound,
        "NoSuchBucket" => ErrorKind::NotFound,
        "PreconditionFailed" => ErrorKind::PreconditionFailed,
        "SlowDown"
        | "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequests" => ErrorKind::Throttled,
        "InternalError" | "ServiceUnavailable" | "RequestTimeout" | "RequestTimeTooSkewed" => {
            ErrorKind::Unavailable
        }
        "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "AccessDenied"
        | "ExpiredToken"
        | "InvalidToken"
        | "AllAccessDisabled"
        | "AccountProblem" => ErrorKind::Unauthorized,
        "InvalidRange" | "InvalidArgument" | "InvalidRequest" | "InvalidBucketName"
        | "KeyTooLongError" | "EntityTooSmall" | "EntityTooLarge" | "InvalidPart"
        | "InvalidPartOrder" | "MalformedXML" | "InvalidDigest" | "BadDigest"
        | "MetadataTooLarge" | "InvalidObjectState" => ErrorKind::InvalidInput,
        "BucketAlreadyExists" | "BucketAlreadyOwnedByYou" => ErrorKind::AlreadyExists,
        "ConditionalRequestConflict" | "OperationAborted" | "BucketNotEmpty" => ErrorKind::Conflict,
        "NotImplemented" => ErrorKind::Unsupported,
        _ => return None,
    })
}

/// The kind of an HTTP status, where the status alone decides it.
pub(crate) fn status_kind(status: u16) -> Option<ErrorKind> {
    Some(match status {
        304 | 412 => ErrorKind::PreconditionFailed,
        400 | 411 | 413 | 414 | 416 => ErrorKind::InvalidInput,
        401 | 403 => ErrorKind::Unauthorized,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        429 | 503 => ErrorKind::Throttled,
        500 | 502 | 504 => ErrorKind::Unavailable,
        501 => ErrorKind::Unsupported,
        _ => return None,
    })
}

fn retry_after<R: HttpLike>(raw: &R) -> Option<Duration> {
    raw.header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Adds backend, operation and target to an error made here.
pub(crate) fn local(err: StoreError, operation: &'static str, target: &str) -> StoreError {
    let err = if err.target().is_none() {
        err.with_target(target)
    } else {
        err
    };
    err.in_context(BACKEND, operation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(code_kind("NoSuchKey"), Some(ErrorKind::NotFound));
        assert_eq!(code_kind("SlowDown"), Some(ErrorKind::Throttled));
        assert_eq!(
            code_kind("SignatureDoesNotMatch"),
            Some(ErrorKind::Unauthorized)
        );
        assert_eq!(
            code_kind("InvalidAccessKeyId"),
            Some(ErrorKind::Unauthorized)
        );
        assert_eq!(
            code_kind("PreconditionFailed"),
            Some(ErrorKind::PreconditionFailed)
        );
        assert_eq!(code_kind("Whatever"), None);
        assert_eq!(status_kind(503), Some(ErrorKind::Throttled));
        assert_eq!(status_kind(500), Some(ErrorKind::Unavailable));
        assert_eq!(status_kind(403), Some(ErrorKind::Unauthorized));
        assert_eq!(status_kind(412), Some(ErrorKind::PreconditionFailed));
        assert!(status_kind(503).is_some_and(ErrorKind::is_retryable));
        assert!(status_kind(500).is_some_and(ErrorKind::is_retryable));
    }
}
