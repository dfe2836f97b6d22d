//! A SQL query ([`SqlStore::query`]) as a source: rows streamed as the database returns them,
//! keyed by columns the caller names.
//!
//! The query runs wrapped in an `ORDER BY` of its key columns (`SELECT * FROM (query) ORDER BY
//! key`), so that its rows come in one order every time (a resumed read runs it again and
//! skips the rows already confirmed: run it against data that is not changing, or copy
//! without a checkpoint) and rows sharing a key come together: two of them are refused by
//! their key, since a store keyed that way would keep one of the two. Partitions split rows
//! by a hash of their key, each process reading the whole result.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use store_core::sql::{SqlStore, quote_ident};
use store_core::{Document, Result, StoreError};

use crate::batch_bytes::chunks_within;
use crate::digest::Comparison;
use crate::record::Record;
use crate::schema::CollectionSchema;
use crate::source::{Batch, Partition, RecordSource};

/// The rows of one query, keyed by named columns.
#[derive(Debug, Clone)]
pub struct SqlQuery {
    store: Arc<dyn SqlStore>,
    /// The query as given, wrapped in an `ORDER BY` of the key columns.
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
            sql: ordered(&sql.into(), &key_columns),
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
        let mut last: Option<String> = None;
        let rows = self.store.query(&self.sql, &[]).skip(skip as usize);
        chunks_within(rows, batch_size, Document::approximate_size)
            .map(move |rows| {
                position += rows.len() as u64;
                let mut records = Vec::with_capacity(rows.len());
                for row in rows {
                    let record = Record::from_document(row?, &self.key_columns)?;
                    let id = record.key.match_id(Comparison::Typed);
                    if last.as_ref() == Some(&id) {
                        return Err(StoreError::invalid_input(format!(
                            "the query gives two rows with the key {} ({}): --key must name \
                             columns no two of its rows share, or a copy would keep one of them",
                            record.key.shown(),
                            self.key_columns.join(", ")
                        )));
                    }
                    last = Some(id);
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

/// `sql` as a subquery ordered by `keys` (a trailing `;` dropped; the subquery on lines of its
/// own, so a `--` comment at its end stays a comment).
fn ordered(sql: &str, keys: &[String]) -> String {
    let body = sql.trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    let order: Vec<String> = keys
        .iter()
        .map(|key| format!("stores_query.{}", quote_ident(key)))
        .collect();
    format!(
        "SELECT * FROM (\n{body}\n) AS stores_query ORDER BY {}",
        order.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_ordered_by_its_keys_whatever_it_ends_with() {
        let keys = ["id".to_owned(), "Sort Key".to_owned()];
        assert_eq!(
            ordered("SELECT id, \"Sort Key\" FROM t -- all;\n;  ", &keys),
            "SELECT * FROM (\nSELECT id, \"Sort Key\" FROM t -- all\n) AS stores_query ORDER BY \
             stores_query.\"id\", stores_query.\"Sort Key\""
        );
    }
}
