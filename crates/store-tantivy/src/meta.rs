//! What an index keeps beside its documents: the format version, the mapping and the version
//! counters, saved as the payload of every tantivy commit.
//!
//! tantivy writes a commit's payload into `meta.json` atomically with the commit itself, so
//! the mapping and the sequence number on disk always match the committed documents: after a
//! crash the index reopens with exactly the fields and counters of its last commit.

use serde::{Deserialize, Serialize};
use store_core::search::engine::Mapping;
use store_core::{Result, StoreError};

/// The on-disk format of a store-tantivy index this build creates (the schema of the module
/// `schema`, the term layout, the `_source` and `_sort` encodings and this payload). Format 2
/// stores `_source` as text and packs the terms of `_keyword`, `_value` and `_fields`; this
/// build also reads and writes format 1 indexes in their own layout, and keeps their format
/// number, so a build that knows only format 1 still opens them. An index of a format this
/// build does not know is refused with `Unsupported` rather than misread.
pub const FORMAT_VERSION: u32 = 2;

/// The oldest format this build reads and writes.
pub(crate) const OLDEST_FORMAT: u32 = 1;

/// The payload of a commit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Meta {
    /// The index's format ([`FORMAT_VERSION`] when this build created it).
    pub(crate) format: u32,
    /// The index name it was created under.
    pub(crate) name: String,
    /// The last sequence number handed out.
    pub(crate) seq_no: u64,
    /// The primary term of the writer that committed (one more at every open for writing).
    pub(crate) primary_term: u64,
    /// The mapping.
    pub(crate) mapping: Mapping,
}

impl Meta {
    /// The payload text.
    pub(crate) fn to_payload(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The meta of a payload, checked for this format.
    pub(crate) fn from_payload(payload: &str, dir: &std::path::Path) -> Result<Self> {
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let format: Format = serde_json::from_str(payload).map_err(|_| not_ours(dir))?;
        if !(OLDEST_FORMAT..=FORMAT_VERSION).contains(&format.format) {
            return Err(StoreError::unsupported(format!(
                "the search index in {} has store-tantivy format {}, this build reads formats \
                 {OLDEST_FORMAT} to {FORMAT_VERSION}; open it with a store-tantivy that knows \
                 format {}",
                dir.display(),
                format.format,
                format.format
            )));
        }
        serde_json::from_str(payload).map_err(|e| {
            StoreError::internal(format!(
                "the metadata of the search index in {} is damaged: {e}",
                dir.display()
            ))
        })
    }
}

/// The error of a directory holding a tantivy index this crate did not write.
pub(crate) fn not_ours(dir: &std::path::Path) -> StoreError {
    StoreError::invalid_input(format!(
        "{} holds a tantivy index that store-tantivy did not write (no store-tantivy metadata \
         in its last commit)",
        dir.display()
    ))
}

/// The error of a directory whose `meta.json` is not a tantivy index's (someone's own file).
pub(crate) fn not_an_index(dir: &std::path::Path) -> StoreError {
    StoreError::invalid_input(format!(
        "{} holds a meta.json that is not a tantivy index's; name another directory",
        dir.display()
    ))
}
