//! Conformance suites: one public async function per behaviour, taking a backend factory, so
//! every adapter — and any user's own backend — is held to the same semantics.

pub mod document;
pub mod search;

/// Re-exported for the suite macros.
#[doc(hidden)]
pub use tokio;
