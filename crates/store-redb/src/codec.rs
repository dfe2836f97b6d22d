//! The byte encodings of store-redb's file: keys that sort as DynamoDB orders them, and items
//! that keep every value exactly.
//!
//! Both are public so that tools (benchmarks, repair scripts) can produce and read the same
//! bytes the store writes; the store itself never needs more than [`encode_key`] and
//! [`encode_document`] / [`decode_document`].
//!
//! - **Keys** ([`encode_key_value`], [`encode_key`]): each key value becomes a self-delimiting,
//!   prefix-free byte string whose byte-wise order is the value's order: strings and bytes
//!   byte-wise, numbers numerically (negatives, zero, 38-digit values and exponents included;
//!   `1.5` and `1.50` encode alike, as they are the same key). A primary key is its partition
//!   value's encoding followed by its sort value's, so a partition is one contiguous range and
//!   a sort condition is a sub-range of it.
//! - **Items** ([`encode_document`], [`decode_document`]): a tagged binary form of
//!   [`Value`](store_core::Value) in which numbers keep their digits and scale (`1.50` stays
//!   `1.50`), sets stay sets, bytes stay bytes, and attribute order is kept.

mod item;
pub(crate) mod key;

pub use item::{ITEM_FORMAT, decode_document, encode_document};
pub use key::{encode_key, encode_key_value, encode_number, encode_sort_prefix};
