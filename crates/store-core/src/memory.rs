//! In-memory reference backends: they define the semantics every other backend is held to.
//!
//! Thread-safe and cheap to clone (clones share data), so many tasks can use one store.

mod document;
mod object;
mod search;

pub use document::MemoryDocumentStore;
pub use object::MemoryObjectStore;
pub use search::{MemorySearchCluster, MemorySearchIndex};
