#![doc = include_str!("../README.md")]
//!
//! ## API at a glance
//!
//! - One [`S3Store`] per bucket, built from aws-config's default chain
//!   ([`S3Store::from_env`]), a [`S3StoreBuilder`] ([`S3Store::builder`]: endpoint, region,
//!   path-style addressing, static credentials, timeouts, the SDK's retry mode and attempts),
//!   or around a client you configured ([`S3Store::from_client`]). The native
//!   [`Client`](aws_sdk_s3::Client) stays reachable through [`S3Store::client`].
//! - Every [`ObjectStore`](store_core::ObjectStore) operation with the reference semantics of
//!   store-core's in-memory store: conditional puts (`If-None-Match: *`, `If-Match`), ranged
//!   and conditional gets, listings that page by themselves with opaque cursors, batched
//!   deletes (1,000 keys per request) reporting each key that failed, copies (multipart above
//!   5 GiB), presigned GET and PUT URLs.
//! - Large transfers in bounded memory: streams and files above a threshold go up as multipart
//!   uploads with bounded concurrency, each part retried on retryable errors, and the upload
//!   aborted on failure so nothing is left behind; downloads resume from where a broken
//!   connection stopped. [`ObjectStore::upload_file`](store_core::ObjectStore::upload_file)
//!   and [`download_file`](store_core::ObjectStore::download_file) take this path through
//!   `Arc<dyn ObjectStore>` too.
//! - S3's own options: [`S3PutOptions`] ([`Encryption`], [`Checksum`], storage class, tags)
//!   as store defaults ([`S3StoreBuilder::put_defaults`], [`S3Store::with_put_defaults`]) and
//!   per call ([`S3Store::put_with`], [`S3Store::put_stream_with`],
//!   [`S3Store::upload_file_with`]); [`ReadOptions`] (version id, [`CustomerKey`], checksum
//!   verification) for [`S3Store::get_with`], [`S3Store::head_with`] (an [`ObjectInfo`]) and
//!   [`S3Store::download_file_with`]; [`S3Store::tags`]; [`S3Store::list_versions`] of
//!   [`ObjectVersion`]s and [`S3Store::delete_version`].
//! - User metadata reads back exactly: a value with non-ASCII text is sent as RFC 2047
//!   encoded words (`=?UTF-8?B?…?=`, S3's documented form for non-ASCII metadata, which other
//!   clients see) and decoded on reads, as are such words other writers stored. An ASCII
//!   value S3 would hand back changed (a control character, blanks at either end, an encoded
//!   word of its own) and a name that is not a header token are refused as `InvalidInput`
//!   before anything is sent.
//! - Errors are [`StoreError`](store_core::StoreError)s with a kind (`NotFound`,
//!   `PreconditionFailed`, `Throttled`, `Unauthorized`...), the backend, operation and key,
//!   and the SDK error chained. No credential ever appears in Debug, Display, logs or errors.
//!   A read in a missing bucket is `NotFound` naming the bucket and
//!   [marked so](store_core::StoreError::is_missing_collection), so `exists` answers it with
//!   that error, not `false`: a `HEAD` answered 404 cannot say which is missing, so a store
//!   that has not seen its bucket in the last minute asks it once (`HeadBucket`).
//! - Each operation runs in a `tracing` span named `s3` with the operation, bucket, key,
//!   bytes and latency.

mod body;
mod bucket;
mod client;
mod config;
mod encode;
mod error;
mod files;
mod meta_text;
mod multipart;
mod options;
mod s3_ops;
mod seen;
mod store;
mod transfer;
mod versions;

pub use config::{RetryMode, S3StoreBuilder, validate_bucket_name};
pub use options::{Checksum, CustomerKey, Encryption, MAX_TAGS, ReadOptions, S3PutOptions};
pub use s3_ops::ObjectInfo;
pub use store::S3Store;
pub use transfer::{
    MAX_OBJECT_SIZE, MAX_PART_SIZE, MAX_PARTS, MAX_SINGLE_COPY, MIN_PART_SIZE, TransferConfig,
};
pub use versions::ObjectVersion;

/// The AWS SDK this adapter is built on, for direct use.
pub use aws_sdk_s3 as sdk;

/// The backend name every error and health report of this crate carries.
pub const BACKEND: &str = "s3";
