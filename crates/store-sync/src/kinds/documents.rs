//! A document table ([`DocumentStore`]) as a source and a sink.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use store_core::Cursor;
use store_core::KeySchema;
use store_core::document::validate::check_new_item;
use store_core::document::{BatchWriteOptions, DocumentStore, Scan, WriteOp};
use store_core::{Document, Result, StoreError};

use crate::batch_bytes::PageSizer;
use crate::record::{Record, RecordKey};
use crate::schema::{CollectionSchema, KeyField};
use crate::sink::{Receipt, RecordSink, refused_record};
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

    /// Reads by scan segments, `LANES` of them at once: the whole table is segments
    /// `0..LANES` of `LANES`; partition I of N is segments `I·LANES + j` of `N·LANES`, so the
    /// partitions stay disjoint and each still reads in parallel. The resume position holds
    /// every lane's cursor.
    fn read(
        &self,
        partition: Partition,
        resume: Option<String>,
        batch_size: usize,
    ) -> BoxStream<'_, Result<Batch>> {
        let key_names = self.key_names();
        let lanes = match resume.as_deref().map(decode_lanes).transpose() {
            Ok(Some(lanes)) => lanes,
            Ok(None) => vec![Lane::Start; LANES as usize],
            Err(e) => return futures::stream::iter([Err(e)]).boxed(),
        };
        let total = partition.total() * LANES;
        let streams = lanes.iter().enumerate().filter_map(|(j, lane)| {
            let start = match lane {
                Lane::Start => None,
                Lane::At(token) => Some(Cursor::from_token(token.clone())),
                Lane::Done => return None,
            };
            let scan = Scan::new().segment(partition.index() * LANES + j as u32, total);
            Some(self.segment_pages(j, scan, start, PageSizer::new(batch_size)))
        });
        let mut state = lanes.clone();
        futures::stream::select_all(streams)
            .map(move |(lane, page)| {
                let page = page?;
                state[lane] = match page.next {
                    Some(cursor) => Lane::At(cursor.as_token().to_owned()),
                    None => Lane::Done,
                };
                let records = page
                    .items
                    .into_iter()
                    .map(|doc| Record::from_document(doc, &key_names))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Batch {
                    records,
                    resume: Some(encode_lanes(&state)),
                })
            })
            .boxed()
    }
}

/// The item `record` makes (with its key attributes, which a record read from elsewhere may
/// hold apart), checked as a new item of a table keyed by `schema`; the error names the
/// record.
fn checked_item(record: Record, schema: &KeySchema) -> Result<Document> {
    let Record { key, doc: item } = record.with_key_in_doc();
    check_new_item(&item, schema, []).map_err(|e| refused_record(&key, e))?;
    Ok(item)
}

/// Scan segments one read works through at once.
const LANES: u32 = 4;

/// Where one lane of a parallel scan stands.
#[derive(Debug, Clone, PartialEq)]
enum Lane {
    /// Not started.
    Start,
    /// Continues from this cursor token.
    At(String),
    /// Finished.
    Done,
}

fn encode_lanes(lanes: &[Lane]) -> String {
    let json: Vec<serde_json::Value> = lanes
        .iter()
        .map(|lane| match lane {
            Lane::Start => serde_json::Value::Null,
            Lane::At(token) => serde_json::Value::String(token.clone()),
            Lane::Done => serde_json::Value::Bool(false),
        })
        .collect();
    serde_json::Value::Array(json).to_string()
}

fn decode_lanes(token: &str) -> Result<Vec<Lane>> {
    let bad = || StoreError::invalid_input("the resume position is not one this table issued");
    let json: serde_json::Value = serde_json::from_str(token).map_err(|_| bad())?;
    let lanes = json
        .as_array()
        .filter(|a| a.len() == LANES as usize)
        .ok_or_else(bad)?
        .iter()
        .map(|lane| match lane {
            serde_json::Value::Null => Ok(Lane::Start),
            serde_json::Value::String(token) => Ok(Lane::At(token.clone())),
            serde_json::Value::Bool(false) => Ok(Lane::Done),
            _ => Err(bad()),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(lanes)
}

impl DocumentCollection {
    /// The pages of one scan segment, in order, each tagged with its lane.
    fn segment_pages(
        &self,
        lane: usize,
        scan: Scan,
        start: Option<Cursor>,
        sizer: PageSizer,
    ) -> BoxStream<'_, (usize, Result<store_core::Page<Document>>)> {
        // `Some(cursor)` is the next page to read (`Some(None)` the first); `None`, the end.
        // Each page is sized by the items of the pages before it (see `PageSizer`).
        futures::stream::unfold((Some(start), sizer), move |(position, mut sizer)| {
            let scan = scan.clone().page_size(sizer.size());
            async move {
                let cursor = position?;
                match self.store.scan_page(&scan, cursor).await {
                    Ok(page) => {
                        sizer.observe_page(&page.items);
                        let following = page.next.clone().map(Some);
                        Some(((lane, Ok(page)), (following, sizer)))
                    }
                    Err(e) => Some(((lane, Err(e)), (None, sizer))),
                }
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
        // The source's key, in order: keyed by other columns (even unique ones) records would
        // not match by key, and by columns that repeat, two records would become one.
        let ours = self.key_names();
        if schema.key_names() == ours {
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
        let schema = self.store.key_schema();
        let mut ops = Vec::with_capacity(records.len());
        for record in records {
            // Every item is checked before any is written: a store that writes a batch in
            // several calls (25 items each, as DynamoDB's) would otherwise keep the items
            // before a bad one, and a batch counts as written whole or not at all.
            ops.push(WriteOp::Put(checked_item(record, schema)?));
        }
        let report = self
            .store
            .batch_write(ops, BatchWriteOptions::default())
            .await?;
        match report.failed.into_iter().next() {
            None => Ok(Receipt::Null),
            Some((_, error)) => Err(error),
        }
    }

    fn check_writable(&self, records: &[Record]) -> Result<()> {
        let schema = self.store.key_schema();
        for record in records {
            checked_item(record.clone(), schema)?;
        }
        Ok(())
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
