#![doc = include_str!("../README.md")]
//!
//! ## Opening
//!
//! [`RedbStore::open`] opens or creates the table `table_name`, keyed by a
//! [`KeySchema`](store_core::KeySchema), in a file; [`RedbStore::builder`] returns a
//! [`RedbConfig`] to add global ([`RedbConfig::index`]) and local
//! ([`RedbConfig::local_index`]) secondary indexes, size the cache, refuse to create a missing
//! file or open read-only, finished with `build()`.
//!
//! **One file is one table.** The file records its table name, key schema and indexes (with
//! the on-disk [`FORMAT_VERSION`]); opening it under another name or key is `InvalidInput`,
//! a file of a newer format is `Unsupported`, and a file that is not a redb database (or a
//! redb database of another program) is `InvalidInput`. Several tables are several files, one
//! store each; they do not share transactions. Indexes are reconciled at open: one the file
//! lacks is built from the items, one whose key changed is rebuilt, one no longer configured
//! is deleted. [`StoredTable::read`] tells what a file holds without knowing its key, and
//! [`StoredTable::config`] opens it as it is.
//!
//! ## How it runs
//!
//! - **Never blocks the runtime.** redb is synchronous: every call runs on Tokio's blocking
//!   pool (`spawn_blocking`). Reads run in parallel on snapshots; writes take redb's single
//!   write transaction in turn. A call whose future is dropped still finishes on its thread.
//! - **Durable on acknowledgment.** Every write is one redb write transaction committed with
//!   `Durability::Immediate` (synced to disk) before the call returns `Ok`; a crash or a
//!   SIGKILL loses nothing acknowledged, and redb's copy-on-write commits leave the file
//!   consistent (the crash test kills a writer at seeded points and checks both). Calls that
//!   change nothing (a failed condition, deleting a missing item) commit nothing.
//! - **One writer per file.** redb locks the file while it is open for writing: a second
//!   open, from another process or from this one, is a `Conflict` naming the file. Share one
//!   store instead: [`RedbStore`] is `Clone`, and clones share the open file. A
//!   [read-only](RedbConfig::read_only) store shares the file with other read-only stores, not
//!   with a writer.
//! - **Compaction.** Space freed by deletes and replacements is reused by later writes;
//!   [`RedbStore::compact`] rewrites the file to give it back to the file system.
//!
//! ## Layout and encodings
//!
//! Items live in the redb table `items` under their primary key, encoded by
//! [`codec::encode_key`] so that byte order is DynamoDB's key order: strings and bytes
//! byte-wise, numbers numerically (negative, 38-digit and exponent forms included). A
//! partition is one contiguous range and every sort condition (`=`, `<`, `<=`, `>`, `>=`,
//! `BETWEEN`, `begins_with`) is a sub-range, read forwards or backwards: queries are range
//! scans, never filters. Each secondary index is a redb table `index/<name>` of entries
//! "index key, then primary key", updated in the same write transaction as the item, so
//! index queries are range scans too and always consistent. Items are stored in
//! [`codec::encode_document`]'s exact form: numbers keep their digits and scale, sets stay
//! sets, bytes stay bytes, attribute order is kept.
//!
//! ## Semantics
//!
//! The in-memory reference store's, by the same shared code: inputs are checked by
//! [`store_core::document::validate`] (keys, item sizes, expressions, batches, transactions)
//! and conditions and updates evaluated by [`store_core::document::eval`]. Conditional writes
//! fail with `PreconditionFailed` (carrying the current item when asked for); updates create
//! missing items; queries and scans page with cursors (a page counts the entries read before
//! the filter) and scans split into segments by partition; `batch_get` reads one snapshot and
//! `batch_write` writes one transaction; `transact_write` runs up to 100 actions in one write
//! transaction, all or nothing, with one cancellation reason per action when a condition
//! fails; `transact_get` reads one snapshot. The conformance suite of store-core and its
//! model check pass on this store.
//!
//! A table may name a TTL attribute, as on DynamoDB: expired items are deleted by
//! [`RedbStore::purge_expired`] or a background sweep (see [`ttl`]).

mod batch;
pub mod codec;
mod config;
mod cursor;
mod db;
mod error;
mod inspect;
mod layout;
mod ops;
mod query;
mod store;
mod transact;
pub mod ttl;

pub use batch::MAX_BATCH_GET_KEYS;
pub use config::{DEFAULT_CACHE_SIZE, RedbConfig};
pub use error::{BACKEND, kind_of_error};
pub use inspect::{StoredIndex, StoredTable};
pub use layout::FORMAT_VERSION;
pub use query::DEFAULT_PAGE_SIZE;
pub use store::RedbStore;

/// The redb this crate is built on.
pub use redb;
