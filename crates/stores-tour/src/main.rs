//! The `stores` tour: replays the seed scenario step by step and prints what each step did.
//!
//! Objects (upload and download a file and a JSON document, list, presign), documents (put,
//! get, update, query, scan, delete) and search (create an index, index, bulk, search, count).
//! It runs on the embedded in-memory backends by default, so it needs no service at all.

mod documents;
mod objects;
mod search;
mod sql;

use std::sync::Arc;

use store_core::memory::{MemoryDocumentStore, MemoryObjectStore, MemorySearchIndex};
use store_core::{DocumentStore, KeySchema, KeyType, ObjectStore, SearchIndex};

/// Prints one step of the tour.
pub(crate) fn step(service: &str, what: &str, outcome: impl std::fmt::Display) {
    println!("[{service:<8}] {what:<40} {outcome}");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    println!("stores tour: the seed scenario on the embedded in-memory backends\n");

    let objects: Arc<dyn ObjectStore> = Arc::new(MemoryObjectStore::new());
    objects::run(objects.as_ref()).await?;
    println!();

    let users: Arc<dyn DocumentStore> = Arc::new(MemoryDocumentStore::new(
        "Users",
        KeySchema::partition("id", KeyType::String),
    )?);
    let orders: Arc<dyn DocumentStore> = Arc::new(MemoryDocumentStore::new(
        "Orders",
        KeySchema::partition("user_id", KeyType::String).with_sort("order_no", KeyType::Number),
    )?);
    documents::run(users.as_ref(), orders.as_ref()).await?;
    println!();

    let index: Arc<dyn SearchIndex> = Arc::new(MemorySearchIndex::new("users")?);
    search::run(index.as_ref()).await?;
    println!();

    sql::run().await?;

    println!("\ntour finished: every step succeeded");
    Ok(())
}
