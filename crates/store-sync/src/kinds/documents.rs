//! A document table ([`DocumentStore`]) as a source and a sink.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use store_core::Cursor;
use store_core::document::{BatchWriteOptions, DocumentStore, Scan, WriteOp};
use store_core::{Document, Result, StoreError};

use crate::record::{Record, RecordKey};
use crate::schema::{CollectionSchema, KeyField};
use crate::sink::{Receipt, RecordSink};
use crate::source::{Batch, Partition, RecordSource};

/// A document table, read by a (parallel, when partitioned) scan and written by batch writes.
#[derive(Debug, Clone)]
pub struct DocumentCollection {
    store: Arc<dyn DocumentStore>,
    label: String,
}

impl DocumentCollection {
    /// The table behind `store`; `label` names it in messages (e.g. its URL without secrets).
    pub fn new(store: Arc<dyn DocumentStore>, label: impl Into<String>) -> Self {
        Self {
            store,
            label: label.into(),
        }
    }

    /// The store behind this collection.
    pub fn store(&self) -> Arc<dyn DocumentStore> {
        self.store.clone()
    }

    fn key_names(&self) -> Vec<String> {
        let schema = self.store.key_schema();
        std::iter::once(schema.partition.name.clone())
            .chain(schema.sort.iter().map(|k| k.name.clone()))
            .collect()
    }

    fn own_schema(&self) -> CollectionSchema {
        let keys = self.store.key_schema();
        CollectionSchema::Documents {
            name: self.store.table_name().to_owned(),
            partition_key: KeyField::from_attribute(&keys.partition),
            sort_key: keys.sort.as_ref().map(KeyField::from_attribute),
        }
    }

    fn doc_key(&self, key: &RecordKey) -> Result<store_core::DocKey> {
        let mut doc = Document::new();
        for (name, value) in key.parts() {
            doc.insert(name.clone(), value.clone());
        }
        self.store.key_schema().key_of(&doc)
    }
}

#[async_trait]
impl RecordSource for DocumentCollection {
    fn describe(&self) -> String {
        self.label.clone()
    }

    async fn schema(&self) -> Result<CollectionSchema> {
        Ok(self.own_schema())
    }

    fn read(
        &self,
        partition: Partition,
        resume: Option<String>,
        batch_size: usize,
    ) -> BoxStream<'_, Result<Batch>> {
        let key_names = self.key_names();
        let mut scan = Scan::new().page_size(batch_size);
        if !partition.is_whole() {
            scan = scan.segment(partition.index(), partition.total());
        }
        // `Some(None)` is the first page; `None` means the scan is over.
        let start: Option<Option<Cursor>> = Some(resume.map(Cursor::from_token));
        futures::stream::unfold(start, move |position| {
            let scan = scan.clone();
            let key_names = key_names.clone();
            async move {
                let cursor = position?;
                let page = match self.store.scan_page(&scan, cursor).await {
                    Ok(page) => page,
                    Err(e) => return Some((Err(e), None)),
                };
                let records = page
                    .items
                    .into_iter()
                    .map(|doc| Record::from_document(doc, &key_names))
                    .collect::<Result<Vec<_>>>();
                let resume = page.next.map(|c| c.as_token().to_owned());
                let following = resume.clone().map(|token| Some(Cursor::from_token(token)));
                Some((records.map(|records| Batch { records, resume }), following))
            }
        })
        .boxed()
    }
}

#[async_trait]
impl RecordSink for DocumentCollection {
    fn describe(&self) -> String {
        self.label.clone()
    }

    async fn prepare(&self, schema: &CollectionSchema, _create: bool) -> Result<()> {
        let ours = self.key_names();
        let fits = match schema {
            // A table whose columns are known must have ours; a query's columns are not known.
            CollectionSchema::Table { columns, .. } if !columns.is_empty() => {
                ours.iter().all(|k| columns.iter().any(|c| &c.name == k))
            }
            other => other.key_names() == ours,
        };
        if fits {
            Ok(())
        } else {
            Err(StoreError::invalid_input(format!(
                "{} is keyed by ({}) but the source {} `{}` is keyed by ({}): records cannot be \
                 matched; copy into a table with the same key",
                self.label,
                ours.join(", "),
                schema.kind_name(),
                schema.name(),
                schema.key_names().join(", ")
            )))
        }
    }

    async fn upsert(&self, records: Vec<Record>) -> Result<Receipt> {
        let ops = records.into_iter().map(|r| WriteOp::Put(r.doc)).collect();
        let report = self
            .store
            .batch_write(ops, BatchWriteOptions::default())
            .await?;
        match report.failed.into_iter().next() {
            None => Ok(Receipt::Null),
            Some((_, error)) => Err(error),
        }
    }

    async fn delete(&self, keys: Vec<RecordKey>) -> Result<()> {
        let ops = keys
            .iter()
            .map(|k| self.doc_key(k).map(WriteOp::Delete))
            .collect::<Result<Vec<_>>>()?;
        let report = self
            .store
            .batch_write(ops, BatchWriteOptions::default())
            .await?;
        match report.failed.into_iter().next() {
            None => Ok(()),
            Some((_, error)) => Err(error),
        }
    }
}
