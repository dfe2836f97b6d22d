//! Mapping of SDK errors onto [`StoreError`] kinds, and the errors this crate makes itself.

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use store_core::object::PutMode;
use store_core::{ErrorKind, ObjectKey, StoreError};

use crate::BACKEND;

/// Maps an SDK error to a [`StoreError`] with backend, operation and target, chaining the
/// SDK error as the source.
///
/// The mapping follows S3's error codes first and the HTTP status second:
/// `NoSuchKey`/404 are `NotFound`, `NoSuchBucket` is `NotFound` naming the bucket, 412 is
/// `PreconditionFailed`, 304 is `PreconditionFailed` ("not modified"), `SlowDown`/429/503 are
/// `Throttled`, 500 and transport failures are `Unavailable`, `InvalidAccessKeyId`,
/// `SignatureDoesNotMatch`, `AccessDenied` and 403 are `Unauthorized`.
///
/// What a 404 without a more precise code means depends on the operation (see `Subject`):
/// "no object exists at this key" for reads of an object, the bucket missing for operations
/// on the bucket, and for writes the refusal as it came (status and code), since a put is
/// never about an object that is absent.
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
    let (kind, message, retry_after, target) = classify(&err, operation, bucket, target);
    let missing_bucket = kind == ErrorKind::NotFound && names_missing_bucket(&err, operation);
    let permanent = matches!(err.code(), Some("BucketNotEmpty" | "OperationAborted"));
    let status = match &err {
        SdkError::ServiceError(service) => Some(service.raw().status_code()),
        SdkError::ResponseError(response) => Some(response.raw().status_code()),
        _ => None,
    };
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
    if missing_bucket {
        out = out.with_missing_collection();
    }
    if let Some(status) = status {
        out = out.with_status_code(status.to_string());
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

/// What an operation works on, which decides what a bare 404 means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    /// Reads an object at a key: a 404 means no object is there.
    Object,
    /// Works on the bucket itself or all its keys: a 404 means the bucket is missing.
    Bucket,
    /// Anything else, writes first: a 404 is the server refusing the request or the key.
    Request,
}

impl Subject {
    fn of(operation: &str) -> Self {
        match operation {
            "get" | "head" | "download_file" | "copy" => Subject::Object,
            "health" | "bucket_exists" | "create_bucket" | "delete_bucket" | "list"
            | "list_uploads" | "delete_many" => Subject::Bucket,
            _ => Subject::Request,
        }
    }
}

/// Whether a "not found" answer says the bucket is missing: S3's `NoSuchBucket`, or a 404
/// without a more precise code to an operation on the bucket itself.
fn names_missing_bucket<E, R>(err: &SdkError<E, R>, operation: &str) -> bool
where
    E: ProvideErrorMetadata,
{
    match err.code() {
        Some("NoSuchBucket") => true,
        None | Some("" | "NotFound") => Subject::of(operation) == Subject::Bucket,
        _ => false,
    }
}

/// Whether `err` is a 404 saying no more than "nothing here": no code (a `HEAD` has no body),
/// `NotFound` or `NoSuchKey`, which some S3-compatible servers answer for a missing bucket
/// too.
pub(crate) fn is_absent_answer<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
    R: HttpLike,
{
    match err {
        SdkError::ServiceError(service) => {
            service.raw().status_code() == 404
                && matches!(err.code(), None | Some("" | "NotFound" | "NoSuchKey"))
        }
        _ => false,
    }
}

fn classify<E, R>(
    err: &SdkError<E, R>,
    operation: &str,
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
            let kind = code_kind(code)
                .or_else(|| status_kind(status))
                .unwrap_or(ErrorKind::Internal);
            // Answers that would say "not found" without saying what.
            let absent = matches!(
                (code, kind),
                ("" | "NotFound", ErrorKind::NotFound) | ("NoSuchKey", _)
            );
            let subject = Subject::of(operation);
            let answer = match code {
                "" => format!("HTTP {status}, no error code"),
                code => format!("{code}, HTTP {status}"),
            };
            let target = match code {
                "NoSuchBucket" => bucket.to_owned(),
                _ if absent && subject == Subject::Bucket => bucket.to_owned(),
                _ => target,
            };
            let mut message = match (code, kind) {
                ("NoSuchBucket", _) => {
                    format!("bucket `{bucket}` does not exist (S3 answered {answer})")
                }
                (_, _) if status == 304 => "not modified: the object still has that etag".into(),
                _ if absent => match subject {
                    Subject::Object => "no object exists at this key".into(),
                    Subject::Bucket => {
                        format!("bucket `{bucket}` does not exist (S3 answered {answer})")
                    }
                    Subject::Request => format!("S3 refused the {operation} ({answer})"),
                },
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

/// The error for a create-only write onto an existing object.
pub(crate) fn already_exists() -> StoreError {
    StoreError::already_exists("an object already exists at this key")
}

/// Turns the answer to a conditional write into the trait's kinds: a failed create-only
/// put is `AlreadyExists`, an if-match put on a missing key is `PreconditionFailed`.
pub(crate) fn conditional_error(
    err: StoreError,
    mode: &PutMode,
    operation: &'static str,
    key: &ObjectKey,
) -> StoreError {
    let about_key = err.target() == Some(key.as_str());
    let replaced = match (mode, err.kind()) {
        (PutMode::CreateOnly, ErrorKind::PreconditionFailed) => already_exists(),
        (PutMode::IfMatch(etag), ErrorKind::NotFound) if about_key => {
            StoreError::precondition_failed(format!(
                "if-match etag {etag} given but no object exists at this key"
            ))
        }
        (PutMode::IfMatch(etag), ErrorKind::PreconditionFailed) => StoreError::precondition_failed(
            format!("if-match etag {etag} does not match the object's current etag"),
        ),
        _ => return err,
    };
    replaced
        .with_backend(BACKEND)
        .with_operation(operation)
        .with_target(key.as_str())
        .with_source(err)
}

/// An error of the local file system, told apart from errors of the store.
pub(crate) fn io_error(action: &str, path: &Path, e: std::io::Error) -> StoreError {
    let kind = match e.kind() {
        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
        std::io::ErrorKind::PermissionDenied => ErrorKind::Unauthorized,
        _ => ErrorKind::Internal,
    };
    StoreError::new(kind, format!("cannot {action} `{}`: {e}", path.display()))
        .with_backend(BACKEND)
        .with_source(e)
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

    /// A raw answer with only a status.
    #[derive(Debug)]
    struct Answer(u16);

    impl HttpLike for Answer {
        fn status_code(&self) -> u16 {
            self.0
        }
        fn header(&self, _name: &str) -> Option<&str> {
            None
        }
    }

    /// An S3 error answer with `status`, and `code` and `message` when given.
    fn answered(
        status: u16,
        code: Option<&str>,
        message: Option<&str>,
    ) -> SdkError<aws_sdk_s3::operation::put_object::PutObjectError, Answer> {
        let mut meta = aws_sdk_s3::error::ErrorMetadata::builder();
        if let Some(code) = code {
            meta = meta.code(code);
        }
        if let Some(message) = message {
            meta = meta.message(message);
        }
        let err = aws_sdk_s3::operation::put_object::PutObjectError::generic(meta.build());
        SdkError::service_error(err, Answer(status))
    }

    #[test]
    fn a_put_answered_404_says_the_put_was_refused_not_that_no_object_exists() {
        for code in [None, Some("NotFound"), Some("NoSuchKey")] {
            let err = map_sdk_error(answered(404, code, None), "put", "bucket", "k");
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
            assert!(!err.message().contains("no object exists"), "{err}");
            assert!(err.message().contains("refused the put"), "{err}");
            assert!(err.message().contains("404"), "{err}");
            if let Some(code) = code {
                assert!(err.message().contains(code), "{err}");
            }
            assert_eq!(err.target(), Some("k"));
        }
    }

    #[test]
    fn a_missing_bucket_names_the_bucket_and_the_code() {
        for operation in ["put", "get", "list", "upload_file"] {
            let answer = answered(
                404,
                Some("NoSuchBucket"),
                Some("The specified bucket does not exist"),
            );
            let err = map_sdk_error(answer, operation, "reports", "k");
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
            assert_eq!(err.target(), Some("reports"), "{err}");
            assert!(err.message().contains("`reports`"), "{err}");
            assert!(err.message().contains("NoSuchBucket"), "{err}");
            assert!(!err.message().contains("no object exists"), "{err}");
        }
    }

    #[test]
    fn reads_of_absent_objects_say_no_object_exists() {
        for (operation, code) in [("get", Some("NoSuchKey")), ("head", None), ("copy", None)] {
            let err = map_sdk_error(answered(404, code, None), operation, "bucket", "k");
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
            assert_eq!(err.message(), "no object exists at this key", "{operation}");
            assert_eq!(err.target(), Some("k"));
        }
    }

    #[test]
    fn a_bare_404_on_the_bucket_says_the_bucket_is_missing() {
        let err = map_sdk_error(
            answered(404, Some("NotFound"), None),
            "health",
            "b-1",
            "b-1",
        );
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(
            err.message().contains("bucket `b-1` does not exist"),
            "{err}"
        );
    }
}
