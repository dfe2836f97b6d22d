//! Sources and sinks for each kind of keyed collection.

pub(crate) mod catalog;
mod column_type;
pub(crate) mod documents;
pub(crate) mod query;
pub(crate) mod search;
mod sqlite_numbers;
pub(crate) mod table;
mod table_keys;
pub(crate) mod table_load;
mod table_plan;
