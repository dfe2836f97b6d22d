//! Building blocks for search backends that index documents themselves (the in-memory
//! [`MemorySearchIndex`](crate::memory::MemorySearchIndex), store-tantivy), so that they map,
//! analyze and coerce exactly as OpenSearch, and as each other, do.
//!
//! - [`Mapping`]: explicit, raw and dynamic mappings; [`Mapping::index_document`] checks a
//!   document against it and turns it into [`FieldData`] per dotted path, with the mappings the
//!   document adds ([`Additions`]).
//! - [`Mapping::resolve`]: what a query or sort field is ([`Resolved`]).
//! - [`coerce_for_query`]: a query value (term, range bound, `search_after`) as an [`Exact`]
//!   value of a field's type.
//! - [`analyze`]: the simplified standard analyzer of text fields, and [`POSITION_GAP`].
//! - [`compile_sort`], [`sort_values`], [`coerce_after`] and [`compare`]: sorting hits and
//!   `search_after`.
//! - [`validate_write`], [`check_version`], [`deep_merge`], [`run_bulk`] (over a
//!   [`BulkWriter`]), [`bulk_status`] and [`bulk_on_missing`]: the rules of writes and bulks.
//!
//! Dates are epoch milliseconds throughout (`strict_date_optional_time||epoch_millis`).

mod analyzer;
mod date;
mod fields;
mod mapping;
mod sort;
mod write;

pub use analyzer::{
    AsciiWords, POSITION_GAP, analyze, ascii_words, push_ascii_lowercase, push_lowercase,
    word_spans,
};
pub use fields::{Exact, FieldData, TextForm, coerce_for_query};
pub use mapping::{Additions, Indexed, Mapping, Resolved, parents};
pub use sort::{SortKey, coerce_after, compare, compile_sort, sort_values};
pub use write::{
    BulkWriter, bulk_on_missing, bulk_status, check_version, deep_merge, run_bulk, validate_write,
};
