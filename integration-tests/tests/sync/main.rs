//! store-sync against the real services: the copies users run between them, each ending with
//! `check` reporting both sides equal, with exact numbers, bytes and Unicode keys.

mod data;
mod documents;
mod objects;
mod search;
mod table;
mod table_load;
