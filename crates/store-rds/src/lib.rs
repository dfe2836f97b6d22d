//! PostgreSQL adapter for the `stores` family: a `SqlStore` on `deadpool-postgres`.
//!
//! The full adapter lands with issue #6; today this crate re-exports the drivers it builds on.

/// The pool this adapter is built on, for direct use.
pub use deadpool_postgres;
/// The driver this adapter is built on, for direct use.
pub use tokio_postgres;
