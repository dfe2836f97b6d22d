#![doc = include_str!("../README.md")]
//!
//! ## What it promises
//!
//! - **Durability.** A write goes to a temporary file in the folder of its target, is synced,
//!   renamed over the target, and the folder is synced before the call returns. A crash (even
//!   `SIGKILL` or power loss on a file system that honours `fsync`) leaves every key either at
//!   its old object or its new one, never torn; temporary files it leaves are never listed and
//!   are swept the next time the store is opened for writing.
//! - **Content etags.** The etag is the body's SHA-256 in hex, quoted (`"9f86…"`), so two stores
//!   holding equal bytes agree, unlike etags made from inodes, sizes or times.
//! - **One writer per folder.** Opening for writing takes an exclusive lock on
//!   `<root>/.store-fs.lock`; a second writer (another process, or another store in this one)
//!   gets a `Conflict` that names the folder and the holder. Readers open with
//!   [`read_only`](FsStoreBuilder::read_only) alongside. The lock is the operating system's
//!   advisory lock, released when the holder dies; it is reliable on local file systems only,
//!   so a store is **single-host**: do not share its folder over NFS or SMB.
//! - **Exact conditional puts.** Create-only and if-match puts check and rename under a
//!   per-key lock of the (single) writer process, so of two racing create-only puts exactly one
//!   wins.
//! - **Bounded memory.** Bodies move in chunks of at most 1 MiB: `put_stream`, `get`,
//!   `upload_file` and `download_file` never hold a whole object.
//! - The reference semantics of store-core's in-memory store otherwise: ranges, conditional
//!   gets, listing in byte order with prefix, delimiter and opaque cursors, `delete_many`,
//!   `copy` (metadata kept), `presign` → `Unsupported` after the expiry is checked.
//!
//! ## On disk
//!
//! ```text
//! <root>/.store-fs.json   {"format":1}: the on-disk format; another version is refused
//! <root>/.store-fs.lock   the writer lock; holds the holder's pid and program, as a hint
//! <root>/objects/…        one file per object, at the escaped path of its key
//! ```
//!
//! A key is split at `/`; every segment but the last is a folder, the last is the object's
//! file, whose name ends with `~`, so `a` (`objects/a~`) and `a/b` (`objects/a/b~`) can both
//! exist. Each segment is escaped: `a-z 0-9 - _` stay, `.` stays unless it would start a
//! name, and every other byte (upper case, `%`, space, control characters, each byte of
//! non-ASCII text) becomes `%` and two lower-case hex digits; the empty segment is `%`. Names
//! are thus short lower-case ASCII: `..` cannot climb out (it is `%2e.`), `A` and `a` or the NFC
//! and NFD forms of a text stay apart even on case-insensitive or normalising file systems, and
//! names starting with `.` are free for the store's own files (`.tmp-…` temporary files). A
//! segment whose escaped form exceeds 200 bytes is cut into pieces; every piece but the last
//! is a folder named `piece+`, keeping every name under the usual 255-byte limit. Decoding a
//! path gives the key back exactly, which is how listings read keys.
//!
//! An object file is the body, then the metadata as JSON (key, size, SHA-256, modification
//! time, content type, user metadata), then a 16-byte footer (the JSON's length and a magic
//! number). Body and metadata are one file, so one rename publishes both.
//!
//! Keys whose escaped path exceeds the operating system's path limit (about 4 KiB on Linux,
//! reachable only by near-1,024-byte keys of escaped bytes under a long root) fail with
//! `InvalidInput`. Windows is not a target: its reserved device names are not escaped.

mod config;
mod disk;
mod error;
mod files;
mod format;
mod layout;
mod list;
mod lock;
mod objects;
mod read;
mod record;
mod store;
mod tree;
mod write;
mod writeback;

pub use config::FsStoreBuilder;
pub use format::{FORMAT_VERSION, store_root_of};
pub use store::FsStore;

/// The backend name every error and health report of this crate carries.
pub const BACKEND: &str = "fs";
