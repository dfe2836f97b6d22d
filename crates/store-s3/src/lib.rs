//! S3 adapter for the `stores` family: an `ObjectStore` on `aws-sdk-s3`.
//!
//! The full adapter lands with issue #4; today this crate re-exports the SDK it builds on.

/// The AWS SDK this adapter is built on, for direct use.
pub use aws_sdk_s3 as sdk;
