//! Conformance suites: one public async function per behaviour, taking a backend factory, so
//! every adapter — and any user's own backend — is held to the same semantics.
//!
//! Each suite also has a macro that expands to one `#[tokio::test]` per behaviour:
//! [`object_conformance_tests!`](crate::object_conformance_tests),
//! [`document_conformance_tests!`](crate::document_conformance_tests),
//! [`search_conformance_tests!`](crate::search_conformance_tests) and
//! [`sql_conformance_tests!`](crate::sql_conformance_tests).

pub mod document;
pub mod object;
pub mod search;
pub mod sql;

/// Re-exported for the suite macros.
#[doc(hidden)]
pub use tokio;
