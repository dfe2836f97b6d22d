//! # store-core
//!
//! The shared foundation of the `stores` family: one value model, one error type, one retry
//! policy and one trait per kind of data service, with in-memory reference backends and
//! conformance suites that every backend runs.
//!
//! | trait | service | adapter crate |
//! |---|---|---|
//! | [`ObjectStore`] | S3 | `store-s3` |
//! | [`DocumentStore`] | DynamoDB | `store-dynamo` |
//! | [`SqlStore`] | PostgreSQL | `store-rds` |
//! | [`SearchIndex`] | OpenSearch | `store-search` |
//!
//! Every trait is dyn-compatible, so code holds `Arc<dyn ObjectStore>` and swaps backends in
//! one line; typed conveniences come from extension traits ([`ObjectStoreExt`],
//! [`DocumentStoreExt`], [`SqlStoreExt`], [`SearchIndexExt`]).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use store_core::{memory::MemoryObjectStore, ObjectKey, ObjectStore, ObjectStoreExt};
//!
//! let store: Arc<dyn ObjectStore> = Arc::new(MemoryObjectStore::new());
//! let key = ObjectKey::new("reports/q1.json")?;
//! store.put_json(&key, &serde_json::json!({"revenue": 12})).await?;
//! let back: serde_json::Value = store.get_json(&key).await?;
//! assert_eq!(back["revenue"], 12);
//! # Ok::<_, store_core::StoreError>(())
//! # }).unwrap();
//! ```
//!
//! The feature `testkit` adds [`testkit`]: the conformance suites and property-test helpers.

pub mod civil;
pub mod document;
mod error;
mod forward;
mod health;
mod keys;
pub mod memory;
pub mod object;
mod page;
mod retry;
pub mod search;
pub mod sql;
#[cfg(feature = "testkit")]
pub mod testkit;
mod value;

pub use document::{DocumentStore, DocumentStoreExt};
pub use error::{ErrorKind, Result, StoreError};
pub use health::{Health, HealthReport};
pub use keys::{
    DocKey, IndexName, KeyAttribute, KeySchema, KeyType, KeyValue, MAX_OBJECT_KEY_BYTES, ObjectKey,
    TableName,
};
pub use object::{ObjectStore, ObjectStoreExt};
pub use page::{Cursor, Page, paginate};
pub use retry::{Backoff, RetryPolicy, retry};
pub use search::{SearchIndex, SearchIndexExt};
pub use sql::{SqlStore, SqlStoreExt};
pub use value::{
    BytesSet, Document, MAX_DIGITS, MAX_EXPONENT, Number, NumberSet, StringSet, Value,
    from_document, from_json, from_value, to_document, to_json, to_value,
};

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
