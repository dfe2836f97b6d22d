//! A SQL query ([`SqlStore::query`]) as a source: rows streamed as the database returns them,
//! keyed by columns the caller names.
//!
//! A query has no key order of its own to resume from, so a resumed read runs the query again
//! and skips the rows already confirmed: give the query an `ORDER BY` on its key columns and
//! run it against data that is not changing, or copy without a checkpoint. Partitions split
//! rows by a hash of their key, each process reading the whole result.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use store_core::sql::SqlStore;
use store_core::{Document, Result, StoreError};

use crate::batch_bytes::chunks_within;
use crate::record::Record;
use crate::schema::CollectionSchema;
use crate::source::{Batch, Partition, RecordSource};

/// The rows of one query, keyed by named columns.
#[derive(Debug, Clone)]
pub struct SqlQuery {
    store: Arc<dyn SqlStore>,
    sql: String,
    key_columns: Vec<String>,
    label: String,
}

impl SqlQuery {
    /// The rows `sql` returns from `store`, keyed by `key_columns` (at least one).
    pub fn new(
        store: Arc<dyn SqlStore>,
        sql: impl Into<String>,
        key_columns: Vec<String>,
        label: impl Into<String>,
    ) -> Result<Self> {
        if key_columns.is_empty() {
            return Err(StoreError::invalid_input(
                "a query source needs its key columns named (e.g. --key id)",
            ));
        }
        Ok(Self {
            store,
            sql: sql.into(),
            key_columns,
            label: label.into(),
        })
    }
}

#[async_trait]
impl RecordSource for SqlQuery {
    fn describe(&self) -> String {
        self.label.clone()
    }

    async fn schema(&self) -> Result<CollectionSchema> {
        Ok(CollectionSchema::Table {
            name: "query".to_owned(),
            dialect: self.store.backend().to_owned(),
            columns: Vec::new(),
            primary_key: self.key_columns.clone(),
            options: Vec::new(),
        })
    }

    fn read(
        &self,
        partition: Partition,
        resume: Option<String>,
        batch_size: usize,
    ) -> BoxStream<'_, Result<Batch>> {
        let skip = match resume.as_deref().map(str::parse::<u64>) {
            None => 0,
            Some(Ok(n)) => n,
            Some(Err(_)) => {
                return futures::stream::iter([Err(StoreError::invalid_input(
                    "the resume position is not one this query issued",
                ))])
                .boxed();
            }
        };
        let mut position = skip;
        let rows = self.store.query(&self.sql, &[]).skip(skip as usize);
        chunks_within(rows, batch_size, Document::approximate_size)
            .map(move |rows| {
                position += rows.len() as u64;
                let mut records = Vec::with_capacity(rows.len());
                for row in rows {
                    let record = Record::from_document(row?, &self.key_columns)?;
                    if partition.holds_id(record.key.id()) {
                        records.push(record);
                    }
                }
                Ok(Batch {
                    records,
                    resume: Some(position.to_string()),
                })
            })
            .boxed()
    }
}
