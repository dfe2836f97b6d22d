//! Fault injection and retry through `store-layers` on all four real services: every write
//! goes through [`Layers`](store_layers::Layers) (retry on, a seeded fault layer failing about
//! 20% of the calls, half before the call and half after the store did it), then everything is
//! read back directly, without layers, and compared with the input: the same count, nothing
//! lost, nothing duplicated, every record equal and the SHA-256 of the canonical records equal.

mod dynamo;
mod fallback;
mod s3;
mod search;
mod sql;
mod support;
