//! Maps aws-sdk-dynamodb errors to [`StoreError`]s with the right [`ErrorKind`].

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::CancellationReason as SdkReason;
use store_core::document::CancellationReason;
use store_core::{ErrorKind, StoreError};

use crate::convert::from_item;

/// The backend name in every error and span.
pub(crate) const BACKEND: &str = "dynamodb";

/// The kind of a DynamoDB error code.
pub(crate) fn kind_of_code(code: &str) -> ErrorKind {
    match code {
        "ConditionalCheckFailedException" => ErrorKind::PreconditionFailed,
        "TransactionCanceledException" | "TransactionConflictException" => ErrorKind::Conflict,
        "TransactionInProgressException" | "IdempotentParameterMismatchException" => {
            ErrorKind::Conflict
        }
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "LimitExceededException" => ErrorKind::Throttled,
        "ResourceNotFoundException" | "TableNotFoundException" | "IndexNotFoundException" => {
            ErrorKind::NotFound
        }
        "ResourceInUseException" | "TableAlreadyExistsException" | "DuplicateItemException" => {
            ErrorKind::AlreadyExists
        }
        "ValidationException"
        | "SerializationException"
        | "ItemCollectionSizeLimitExceededException"
        | "InvalidEndpointException" => ErrorKind::InvalidInput,
        "UnrecognizedClientException"
        | "AccessDeniedException"
        | "InvalidSignatureException"
        | "MissingAuthenticationToken"
        | "MissingAuthenticationTokenException"
        | "ExpiredTokenException"
        | "IncompleteSignature"
        | "InvalidClientTokenId" => ErrorKind::Unauthorized,
        "InternalServerError" | "InternalFailure" | "ServiceUnavailable" => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    }
}

/// Maps any SDK error of a call on `table`: service errors by their code, transport failures
/// to `Unavailable`.
pub(crate) fn map_sdk_error<E>(err: SdkError<E>, operation: &'static str, table: &str) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    map_sdk_error_on(err, operation, table, table)
}

/// Like [`map_sdk_error`], for a call on one item: `target` is the item's key.
pub(crate) fn map_sdk_error_on<E>(
    err: SdkError<E>,
    operation: &'static str,
    table: &str,
    target: &str,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = match &err {
        SdkError::ServiceError(service) => Some(service.raw().status().as_u16()),
        SdkError::ResponseError(response) => Some(response.raw().status().as_u16()),
        _ => None,
    };
    let (kind, message) = match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("Unknown");
            let kind = kind_of_code(code);
            let message = e.message().unwrap_or("no message").to_owned();
            let message = match kind {
                ErrorKind::NotFound => {
                    format!("the table `{table}` (or an index of it) was not found: {message}")
                }
                ErrorKind::Throttled => {
                    format!("DynamoDB throttled the request ({code}): {message}")
                }
                ErrorKind::InvalidInput => {
                    format!("DynamoDB refused the request ({code}): {message}")
                }
                _ => format!("{code}: {message}"),
            };
            (kind, message)
        }
        SdkError::TimeoutError(_) => (
            ErrorKind::Unavailable,
            "the request to DynamoDB timed out".to_owned(),
        ),
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => (
            ErrorKind::Unavailable,
            format!(
                "DynamoDB could not be reached: {}",
                DisplayErrorContext(&err)
            ),
        ),
        SdkError::ConstructionFailure(_) => (
            ErrorKind::InvalidInput,
            format!(
                "the request could not be built: {}",
                DisplayErrorContext(&err)
            ),
        ),
        _ => (ErrorKind::Internal, DisplayErrorContext(&err).to_string()),
    };
    let mut out = StoreError::new(kind, message)
        .with_target(target.to_owned())
        .in_context(BACKEND, operation);
    if kind == ErrorKind::Throttled {
        out = out.with_retryable(true);
    }
    if kind == ErrorKind::NotFound {
        // DynamoDB's "not found" is always about the table or an index of it: a missing item
        // is an empty answer, not an error.
        out = out.with_missing_collection();
    }
    if let Some(status) = status {
        out = out.with_status_code(status.to_string());
    }
    out.with_source(err)
}

/// Converts the SDK's cancellation reasons, one per action.
pub(crate) fn cancellation_reasons(reasons: &[SdkReason]) -> Vec<CancellationReason> {
    reasons
        .iter()
        .enumerate()
        .map(|(index, r)| CancellationReason {
            index,
            code: r.code().unwrap_or("None").to_owned(),
            message: r.message().map(str::to_owned),
        })
        .collect()
}

/// The error of a cancelled transaction, with the memory backend's kinds: only failed
/// conditions is `PreconditionFailed`, a refused action `InvalidInput`, anything else
/// (conflicts, throttling) `Conflict`.
pub(crate) fn transaction_cancelled(reasons: Vec<CancellationReason>) -> StoreError {
    let failed: Vec<&CancellationReason> = reasons.iter().filter(|r| !r.is_ok()).collect();
    let total = reasons.len();
    let (kind, retryable) =
        if !failed.is_empty() && failed.iter().all(|r| r.code == "ConditionalCheckFailed") {
            (ErrorKind::PreconditionFailed, false)
        } else if failed.iter().any(|r| r.code == "ValidationError") {
            (ErrorKind::InvalidInput, false)
        } else {
            (ErrorKind::Conflict, true)
        };
    let codes: Vec<String> = failed
        .iter()
        .map(|r| format!("action {}: {}", r.index, r.code))
        .collect();
    StoreError::new(
        kind,
        format!(
            "the transaction was cancelled ({} of {total} actions failed: {}); nothing was written",
            failed.len(),
            codes.join(", ")
        ),
    )
    .with_retryable(retryable)
    .with_cancellation_reasons(reasons)
}

/// A failed condition on a single-item write, with the current item when DynamoDB sent it.
pub(crate) fn condition_failed(
    item: Option<&std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
    target: &str,
    operation: &'static str,
) -> StoreError {
    let mut err =
        StoreError::precondition_failed("the condition did not hold; nothing was changed")
            .with_target(target.to_owned())
            .in_context(BACKEND, operation);
    if let Some(doc) = item
        .filter(|i| !i.is_empty())
        .and_then(|i| from_item(i).ok())
    {
        err = err.with_current_item(doc);
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        for (code, kind) in [
            (
                "ConditionalCheckFailedException",
                ErrorKind::PreconditionFailed,
            ),
            ("TransactionCanceledException", ErrorKind::Conflict),
            ("DuplicateItemException", ErrorKind::AlreadyExists),
            (
                "ProvisionedThroughputExceededException",
                ErrorKind::Throttled,
            ),
            ("ThrottlingException", ErrorKind::Throttled),
            ("RequestLimitExceeded", ErrorKind::Throttled),
            ("ResourceNotFoundException", ErrorKind::NotFound),
            ("ValidationException", ErrorKind::InvalidInput),
            ("ResourceInUseException", ErrorKind::AlreadyExists),
            ("UnrecognizedClientException", ErrorKind::Unauthorized),
            ("InternalServerError", ErrorKind::Unavailable),
            ("SomethingNew", ErrorKind::Internal),
        ] {
            assert_eq!(kind_of_code(code), kind, "{code}");
        }
    }

    #[test]
    fn cancelled_transactions_are_classified_like_the_memory_backend() {
        let reason = |index, code: &str| CancellationReason {
            index,
            code: code.to_owned(),
            message: None,
        };
        let err =
            transaction_cancelled(vec![reason(0, "None"), reason(1, "ConditionalCheckFailed")]);
        assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
        assert!(!err.is_retryable());
        assert_eq!(err.cancellation_reasons().len(), 2);
        let err = transaction_cancelled(vec![
            reason(0, "TransactionConflict"),
            reason(1, "ConditionalCheckFailed"),
        ]);
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert!(err.is_retryable());
        let err = transaction_cancelled(vec![reason(0, "ValidationError")]);
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
