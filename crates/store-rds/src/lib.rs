#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
//!
//! ## API at a glance
//!
//! - [`PgConfig`]: a `postgres://` URL, the `PG*` environment variables or a builder; pool
//!   size and wait / create / recycle timeouts with defaults, so a dead database fails callers
//!   with `Unavailable` instead of hanging them; the password never shown.
//! - Rows are [`Document`](store_core::Document)s; parameters are
//!   [`Value`](store_core::Value)s encoded by the type the server infers (`numeric` exact to
//!   the last digit, `jsonb` with exact numbers, arrays, dates, timestamps and UUIDs as text).
//! - Errors map by SQLSTATE ([`kind_of_sqlstate`]): unique violation → `AlreadyExists`,
//!   serialization failure / deadlock → `Conflict` (retryable), and so on.
//! - Transactions at any isolation level roll back when dropped; combine with
//!   [`SqlStoreExt::transaction`](store_core::SqlStoreExt::transaction) to retry conflicts.
//! - Bulk: binary `COPY` in from a stream of rows and out as a stream ([`PgStore::copy_in`],
//!   [`PgStore::copy_out`]).
//! - Migrations: [`Migrator`], versioned, checksummed, under an advisory lock.
//! - LISTEN/NOTIFY: [`PgStore::listen`] streams [`ListenEvent`]s from a connection of its
//!   own that reconnects and listens again by itself, reporting the gap
//!   ([`ListenEvent::Reconnected`]); [`PgStore::notify`] sends.
//! - Typed rows: [`SqlStoreExt::query_as`](store_core::SqlStoreExt::query_as) and
//!   `query_one_as` / `query_opt_as` deserialize rows with serde; a mismatch names the row and
//!   the column.

mod cancel;
mod checkout;
mod codec;
mod config;
mod copy;
mod error;
#[cfg(feature = "iam")]
#[cfg_attr(docsrs, doc(cfg(feature = "iam")))]
pub mod iam;
mod listen;
mod migrate;
mod password;
#[cfg(feature = "replication")]
#[cfg_attr(docsrs, doc(cfg(feature = "replication")))]
pub mod replication;
mod store;
mod tls;
mod transaction;
mod upsert;

pub use config::PgConfig;
pub use copy::CopyOutStream;
pub use error::kind_of_sqlstate;
pub use listen::{ListenEvent, Listener, MAX_CHANNEL_LEN, MAX_PAYLOAD_LEN, Notification};
pub use migrate::{Migration, MigrationReport, Migrator};
pub use password::PasswordSource;
#[cfg(feature = "replication")]
pub use replication::{PgChangeFeed, PgWatermarkFeed, ReplicationOptions};
pub use store::PgStore;
pub use tls::{RootCerts, SslMode};
pub use transaction::PgTransaction;

/// The pool this adapter is built on, for direct use.
pub use deadpool_postgres;
/// The pool's state, as [`PgStore::pool_status`] returns it.
pub use deadpool_postgres::Status as PoolStatus;
/// The driver this adapter is built on, for direct use.
pub use tokio_postgres;

/// Identifier quoting, shared with every SQL backend: `my "table"` → `"my ""table"""`,
/// `sales.orders` → `"sales"."orders"`.
pub use store_core::sql::{quote_ident, quote_qualified};
