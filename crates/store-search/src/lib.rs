//! OpenSearch adapter for the `stores` family: a `SearchIndex` on the `opensearch` crate.
//!
//! The full adapter lands with issue #7; today this crate re-exports the client it builds on.

/// The client this adapter is built on, for direct use.
pub use opensearch as sdk;
