//! PostgreSQL: the `SqlStore` conformance suite and the adapter's own tests, against the
//! harness's real PostgreSQL 15.

mod adapter;
mod auth;
mod bulk;
mod cancel;
mod conformance;
mod limits;
mod listen;
mod migrations;
mod recovery;
mod replication;
mod smoke;
mod support;
mod tls;
mod upsert;
