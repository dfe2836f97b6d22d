//! Conformance suites: one public async function per behaviour, taking a backend factory, so
//! every adapter — and any user's own backend — is held to the same semantics.
//!
//! Each suite also has a macro that expands to one `#[tokio::test]` per behaviour:
//! [`object_conformance_tests!`](crate::object_conformance_tests),
//! [`document_conformance_tests!`](crate::document_conformance_tests),
//! [`search_conformance_tests!`](crate::search_conformance_tests) and
//! [`sql_conformance_tests!`](crate::sql_conformance_tests).

pub mod bench;
pub mod document;
pub mod object;
pub mod search;
mod seeded;
pub mod sql;

pub use seeded::Seeded;

/// Prints `opt-out: <behaviour>: <backend> lacks <capability>` to standard error, past the
/// test harness's capture, so a behaviour a backend is excused from shows in every run.
pub(crate) fn report_opt_out(behaviour: &str, backend: &str, capability: &str) {
    use std::io::Write;
    let line = format!("opt-out: {behaviour}: {backend} lacks {capability}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Re-exported for the suite macros.
#[doc(hidden)]
pub use tokio;
