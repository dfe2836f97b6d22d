//! Bounded memory for [`sync`](crate::sync) and [`check`](crate::check): the keys and digests
//! of a collection are held in memory up to a limit and, past it, hash-partitioned into
//! temporary files and joined one partition at a time (a Grace hash join).
//!
//! The limit counts entries, not bytes: an entry is a key and a 32-byte digest, 100 to 200
//! bytes in memory (measured: a `sync` of 1,000,000 SQLite rows peaks at 74 MiB with the
//! default limit, 335 MiB with everything in memory). Past the limit `sync` writes every
//! source record to disk as typed JSON, so the spill directory needs room for about the
//! source's size. The files are removed when the run ends or is dropped; those of a killed
//! run are removed by the next run that spills into the same directory.
//!
//! A record that went through a spill file reaches the sink as it was read, its attributes
//! (and those of its nested maps) in their order: spill files keep the documents' order,
//! where archive parts write names in order.

mod codecs;
mod dir;
mod frames;
mod join;
mod log;

use std::path::PathBuf;

pub(crate) use codecs::{KeyAndDigest, PackedKey, RecordAndDigest};
pub(crate) use join::{Joined, SpillJoin};
pub(crate) use log::SpillLog;

/// How many keys a run may hold in memory, and where it spills the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpillOptions {
    /// Keys (with their digests) held in memory before the rest go to temporary files; at
    /// least 1. A `sync` holds up to 1.75 times as many at its peak (the join and, a quarter
    /// each, the keys it created, the sink's unmatched keys and the extras to delete). The
    /// default, [`SpillOptions::DEFAULT_IN_MEMORY_KEYS`], keeps a run under 100 MiB whatever
    /// the collection's size.
    pub in_memory_keys: usize,
    /// The directory the temporary files are made in (in a fresh subdirectory, removed at
    /// the end); `None` for the system's temporary directory.
    pub dir: Option<PathBuf>,
}

impl SpillOptions {
    /// The default number of keys held in memory.
    pub const DEFAULT_IN_MEMORY_KEYS: usize = 200_000;

    /// A `1/parts` share of the limit (at least 1), spilling to the same directory.
    pub(crate) fn share(&self, parts: usize) -> Self {
        Self {
            in_memory_keys: (self.in_memory_keys / parts.max(1)).max(1),
            dir: self.dir.clone(),
        }
    }

    /// Holds at most `in_memory_keys` keys in memory, spilling to the system's temporary
    /// directory.
    pub fn keys(in_memory_keys: usize) -> Self {
        Self {
            in_memory_keys,
            dir: None,
        }
    }
}

impl Default for SpillOptions {
    fn default() -> Self {
        Self::keys(Self::DEFAULT_IN_MEMORY_KEYS)
    }
}
