//! The stores archive, format version 1: a collection's schema and records as plain files in
//! a plain local directory, or under a prefix of any [`ObjectStore`](store_core::ObjectStore)
//! (an S3 bucket, say).
//!
//! ```text
//! manifest.json                     format, version, tool, source, collections and their parts
//! SHA256SUMS                        `sha256sum -c SHA256SUMS` checks every part
//! schema/<collection>.json          the collection's schema
//! data/<collection>/<sha256>.ndjson.zst
//!                                   zstd-compressed lines {"k": {...}, "v": {...}} in typed JSON
//! partitions/<I>-of-<N>.json        what each partition of a partitioned backup wrote
//! blobs/<sha256>                    object bodies, for an archive of objects
//! ```
//!
//! Parts are named by the SHA-256 of their bytes, so a part written again after a crash is the
//! same file or an unlisted orphan, never a second listed copy. docs/archive-format.md has the
//! full description and the manifest's JSON Schema.

mod blob_check;
mod blobs;
mod line_de;
mod line_fast;
mod line_rows;
mod line_ser;
mod line_skim;
mod lines;
mod manifest;
mod objects;
mod reader;
pub(crate) mod storage;
mod writer;

pub(crate) use lines::{check_nesting, decode_written, write_line_as_given};
pub use lines::{decode_line, encode_line};
pub use manifest::{ARCHIVE_FORMAT, ARCHIVE_VERSION, CollectionEntry, Manifest, PartEntry};
pub(crate) use objects::{CONCURRENCY as OBJECT_CONCURRENCY, delete_listed, listed_text};
pub use objects::{ObjectArchiveSink, ObjectListing, ObjectRestoreSink};
pub use reader::ArchiveSource;
pub use writer::ArchiveSink;

/// A collection name made safe as one path segment: characters other than letters, digits,
/// `_`, `-` and `.` become `_`.
pub(crate) fn path_segment(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match safe.as_str() {
        "" | "." | ".." => format!("_{safe}"),
        _ => safe,
    }
}

/// `prefix` joined with `path` by one `/`.
pub(crate) fn join(prefix: &str, path: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        path.to_owned()
    } else {
        format!("{prefix}/{path}")
    }
}
