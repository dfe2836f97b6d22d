#![doc = include_str!("../README.md")]
//!
//! ## Opening
//!
//! [`TantivyIndex::open`]`(root, name)` is a handle on the index `name` in the directory
//! `root/name` (one directory per index; `root` holds any number of them, like a cluster).
//! If the directory holds an index it is opened for writing at once; otherwise the index is
//! created by [`create`](store_core::SearchIndex::create) with a mapping, or with dynamic
//! mapping by the first write, as OpenSearch does. [`TantivyIndex::builder`] returns a
//! [`TantivyConfig`] to size the writer's indexing memory and threads, finished with
//! `build()`. [`drop_index`](store_core::SearchIndex::drop_index) deletes the directory.
//! Each commit records the on-disk [`FORMAT_VERSION`] with the mapping: an index of another
//! format is `Unsupported`, a tantivy index this crate did not write is `InvalidInput`.
//!
//! ## How it runs
//!
//! - **One writer per index, owned by a thread.** The index's tantivy `IndexWriter` lives on
//!   a thread of its own that applies writes, refreshes and real-time reads in order (an
//!   upsert is a delete of the id followed by an add). tantivy locks the directory while a
//!   writer is open: a second [`TantivyIndex`] on it, in this process or another, fails with
//!   `Conflict`. Share one handle instead: it is `Clone`. To read an index another process
//!   writes, open it with [`TantivyIndex::open_read_only`]: no writer and not its lock; reads see
//!   the last commit as of opening or the last `refresh`, and writes are `Unsupported`.
//! - **Refresh is commit.** A write is in tantivy's indexing buffer and readable by `get`
//!   (real time) when it returns; [`refresh`](store_core::SearchIndex::refresh) (or a write
//!   with [`IndexOptions::refresh`](store_core::search::IndexOptions)) commits it, which makes
//!   it both searchable and durable, as OpenSearch's refresh makes writes searchable.
//!   **Only committed data survives a crash**: a SIGKILL loses the writes since the last
//!   refresh (OpenSearch would replay them from its translog; refresh after writes you cannot
//!   lose). tantivy's commits are atomic, so a crash never leaves a damaged index; the crash
//!   test kills a writer at seeded points and checks that every committed document is there.
//!   Dropping the last handle also discards unrefreshed writes; [`TantivyIndex::close`]
//!   commits them first. Until a refresh, the writer also keeps the sources of the writes
//!   since the last commit in memory (for real-time `get` and version checks): refresh now
//!   and then during very large bulk loads.
//! - **Searches never block the runtime** and never wait for the writer: they run on Tokio's
//!   blocking pool on the last commit's searcher.
//!
//! ## Mapping and schema
//!
//! The index's mapping (store-core's [`FieldType`](store_core::search::FieldType)s, raw
//! OpenSearch mappings, and dynamic mapping of new fields from their first value: strings as
//! `text` with a `.keyword` sub-field, or `date`; integers `long`, other numbers `double`,
//! booleans `boolean`, maps objects) is the in-memory index's, field for field: both use
//! [`store_core::search::engine`]. tantivy's schemas are fixed at creation, so rather than one
//! tantivy field per mapped field (which a new field would need a new index for), the schema
//! has one tantivy field per kind of term
//! and every term is prefixed with its field's dotted path: `title\0rust` in the text field,
//! `status\0published` in the keyword field. New fields need no schema change; the mapping is
//! saved with every commit. Text is analyzed by the same simplified standard analyzer as the
//! in-memory index (its tokens are handed to tantivy pre-tokenized).
//!
//! Each document keeps its **source exactly as written** (`_source`: typed JSON text in which
//! numbers keep their digits and scale, bytes and sets stay what they are, field order is
//! kept), so `get` and hits return what was indexed. **Numbers are indexed as `f64`** for
//! `term`, `terms` and `range`: beyond `f64`'s precision (longs over 2^53, decimals of more
//! than ~16 significant digits) those queries are approximate, while sources, and sort values
//! (which compare exact decimals), are exact.
//!
//! ## Queries, scores and sorting
//!
//! The portable query tree maps to tantivy queries:
//! `match` and `term` on text and keyword fields are tantivy term queries scored with BM25
//! (k1 = 1.2, b = 0.75); `match_phrase` a phrase query on token positions; numbers, dates and
//! booleans, `terms`, `range`, `prefix` and `exists` match with a constant score of 1; `bool`
//! sums the scores of `must` and `should`, `filter` scores 0. Matches and counts are the
//! in-memory index's. **Scores differ** from it in their values: tantivy's BM25 computes the
//! length norm over all text fields of a document together (they are one tantivy field),
//! counts every document of the index in the idf, and stores lengths lossily as Lucene does;
//! hits with equal scores come in index order (OpenSearch's tie-break) rather than by id.
//! Relevance order is the same where one term and one field decide it.
//!
//! Sorting by keyword, number, date and boolean fields (and `_id`, `_score`) reads the sort
//! values from a fast (columnar) field; missing values sort last; ties are broken by id;
//! `search_after` continues strictly after the given values; `from + size` is capped at
//! 10,000. `total` is exact.
//!
//! ## Writes
//!
//! As the in-memory index: every change takes the next sequence number; the primary term
//! grows by one each time the index is opened for writing, so a version handed out before a
//! crash is never handed out again. Create-only writes of existing ids are `AlreadyExists`,
//! stale `if_version`s `PreconditionFailed`; `update` merges deeply (a no-op keeps the
//! version); bulk applies each operation on its own and reports every failure with its
//! position, id and status.

mod config;
mod error;
mod id_page;
mod index;
mod meta;
mod packed;
mod query;
mod read_only;
mod schema;
mod search;
mod sort;
mod source;
mod writer;

pub use config::{DEFAULT_MEMORY_BUDGET, MIN_MEMORY_BUDGET_PER_THREAD, TantivyConfig};
pub use error::{BACKEND, kind_of_error};
pub use index::TantivyIndex;
pub use meta::FORMAT_VERSION;

/// The tantivy this crate is built on.
pub use tantivy;
