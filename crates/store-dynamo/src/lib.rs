#![doc = include_str!("../README.md")]
//!
//! ## API at a glance
//!
//! - [`DynamoStore`]: one table, knowing its key schema and secondary indexes; puts, gets,
//!   updates and deletes with conditions, queries and scans (paged by opaque cursors, or as
//!   streams, or as parallel segments), batch get (100 keys a call, unprocessed keys retried),
//!   batch write (25 a call, unprocessed items retried with backoff until a deadline, a
//!   report of anything unwritten), transactions with per-action cancellation reasons.
//! - [`Table<T>`](Table): a serde-typed view that knows its key schema.
//! - [`TableAdmin`]: create (keys, GSIs, on-demand or provisioned), describe, wait until
//!   active, delete, enable TTL.
//! - [`convert`]: lossless `Value` ⇄ `AttributeValue` (exact numbers, sets, binary).
//! - [`expr`]: expressions from typed trees, always through placeholders.
//!
//! Errors are [`StoreError`](store_core::StoreError)s: a failed condition is
//! `PreconditionFailed` (with the current item when asked), a cancelled transaction
//! `PreconditionFailed` or `Conflict` with one reason per action, throttling `Throttled`, a
//! missing table `NotFound`, a refused request `InvalidInput` with DynamoDB's message.

mod admin;
mod batch;
mod config;
pub mod convert;
mod cursor;
mod error;
pub mod expr;
mod items;
mod partiql;
mod read;
mod store;
#[cfg(feature = "streams")]
#[cfg_attr(docsrs, doc(cfg(feature = "streams")))]
pub mod streams;
mod transact;

pub use admin::{Billing, TableAdmin, TableDefinition, TableInfo};
pub use config::{DynamoStoreBuilder, TableAdminBuilder};
pub use partiql::Statement;
pub use store::{DynamoStore, IndexInfo, MAX_BATCH_GET_KEYS, MAX_BATCH_WRITE_ITEMS};
#[cfg(feature = "streams")]
pub use streams::{StreamView, StreamsReader};
/// A serde-typed view of a [`DynamoStore`]: store-core's [`Table`](store_core::document::Table),
/// which works on every document backend.
pub type Table<T> = store_core::document::Table<T, DynamoStore>;

/// The AWS SDK this adapter is built on, for direct use.
pub use aws_sdk_dynamodb as sdk;
