#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
//!
//! ## API at a glance
//!
//! The traits [`ObjectStore`], [`DocumentStore`], [`SqlStore`] and [`SearchIndex`] are
//! dyn-compatible; typed conveniences come from extension traits ([`ObjectStoreExt`],
//! [`DocumentStoreExt`], [`SqlStoreExt`], [`SearchIndexExt`]).
//!
//! The feature `testkit` adds [`testkit`]: the conformance suites and property-test helpers.

pub mod civil;
pub mod document;
mod error;
pub mod feed;
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
