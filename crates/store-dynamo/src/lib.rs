//! DynamoDB adapter for the `stores` family: a `DocumentStore` on `aws-sdk-dynamodb`.
//!
//! The full adapter lands with issue #5; today this crate re-exports the SDK it builds on.

/// The AWS SDK this adapter is built on, for direct use.
pub use aws_sdk_dynamodb as sdk;
