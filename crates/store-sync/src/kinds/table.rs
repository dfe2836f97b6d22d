//! A SQL table ([`SqlStore`]) as a source and a sink.
//!
//! Reading pages through the table in primary-key order (`WHERE (key) >= (last) ORDER BY key
//! LIMIT n + 1`, the first row checked to be the last one read; on SQLite the last key bound
//! in the storage class it was read from, see `cursor`), inside one REPEATABLE READ
//! transaction where the database has isolation levels, so
//! every page comes from the same snapshot. Partition I of N is a key range of the job's shared
//! [`PartitionPlan`]: between the rows at offsets I·count/N and (I+1)·count/N of the one
//! snapshot the plan was cut from (see `table_plan`). Writing is
//! [`SqlStore::upsert_rows`]: binary `COPY` (straight into the table while its keys are new,
//! else through a staging table) on PostgreSQL, multi-row `INSERT … ON CONFLICT (key) DO
//! UPDATE` elsewhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use store_core::sql::{SqlStore, quote_qualified};
use store_core::{Document, ErrorKind, Result, SqlStoreExt, StoreError, Value};
use tokio::sync::OnceCell;

use crate::kinds::catalog::{self, TableInfo};
use crate::kinds::table_plan;
use crate::kinds::{sqlite_numbers, table_keys, table_load};
use crate::plan::PartitionPlan;
use crate::record::{Record, RecordKey};
use crate::schema::CollectionSchema;
use crate::sink::{Receipt, RecordSink, refused_record};
use crate::source::{Batch, Partition, RecordSource, RowBatch};
use crate::task::{AbortOnDrop, joined};

pub(super) mod cursor;
mod pages;

use pages::Reader;

/// The most bind parameters one statement uses (PostgreSQL allows 65,535, SQLite 32,766).
const MAX_PARAMS: usize = 30_000;

/// The refusal of `key`'s record, whose attribute `name` `table` has no column for.
fn no_column(key: &RecordKey, name: &str, table: &str) -> StoreError {
    refused_record(
        key,
        StoreError::invalid_input(format!(
            "attribute `{name}` has no column in table `{table}`"
        )),
    )
}

/// The records per batch a PostgreSQL table prefers: each batch is one `COPY` (and, for
/// rows whose keys may exist, a staging table and an upsert) and its commit, about 2 ms of
/// round trips and waiting whatever its size. A restore of 1,000,000 rows took 1.9 s in
/// batches of 5,000 and 1.6 s in batches of 20,000 (interleaved runs); a batch still holds
/// about [`BATCH_BYTES`](crate::batch_bytes::BATCH_BYTES) at most.
const POSTGRES_BATCH: usize = 20_000;

/// One SQL table, read in key order and written by upserts.
#[derive(Debug, Clone)]
pub struct SqlTable {
    store: Arc<dyn SqlStore>,
    table: String,
    label: String,
    info: Arc<OnceCell<TableInfo>>,
    /// The key a table loading without it gets when the load finishes (see `table_load`).
    loading: Arc<OnceLock<Vec<String>>>,
    /// The plan partitioned reads take their key ranges from.
    plan: Arc<Mutex<Option<PartitionPlan>>>,
}

impl SqlTable {
    /// The table `table` (optionally `schema.table`) of `store`; `label` names it in messages.
    pub fn new(
        store: Arc<dyn SqlStore>,
        table: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Self {
            store,
            table: table.into(),
            label: label.into(),
            info: Arc::new(OnceCell::new()),
            loading: Arc::new(OnceLock::new()),
            plan: Arc::new(Mutex::new(None)),
        }
    }

    async fn info(&self) -> Result<&TableInfo> {
        self.info
            .get_or_try_init(|| async {
                match catalog::describe(self.store.as_ref(), &self.table).await? {
                    Some(info) => Ok(info),
                    None => Err(StoreError::not_found(format!(
                        "table `{}` does not exist in {}",
                        self.table, self.label
                    ))),
                }
            })
            .await
    }

    /// Checks that records of `schema` can be written here, creating the table when it is
    /// missing and `create` is set: without its key for a `load` that can defer it.
    async fn open_for(&self, schema: &CollectionSchema, create: bool, load: bool) -> Result<()> {
        let store = self.store.as_ref();
        let info = match catalog::describe(store, &self.table).await? {
            Some(info) => info,
            None if create => {
                let created = if load && table_load::defers_key(store) {
                    table_load::create_unkeyed(store, &self.table, schema).await
                } else {
                    catalog::create_table(store, &self.table, schema).await
                };
                match created {
                    // Another process of a partitioned load created it first.
                    Err(e) if e.kind() != ErrorKind::AlreadyExists => return Err(e),
                    _ => catalog::describe(store, &self.table)
                        .await?
                        .ok_or_else(|| {
                            StoreError::internal(format!("table `{}` vanished", self.table))
                        })?,
                }
            }
            None => {
                return Err(StoreError::not_found(format!(
                    "table `{}` does not exist in {}; create it first (keys: {})",
                    self.table,
                    self.label,
                    schema.key_names().join(", ")
                )));
            }
        };
        let theirs = schema.key_names();
        if info.primary_key.is_empty() {
            if !table_load::is_loading(store, &self.table).await? {
                return Err(StoreError::invalid_input(format!(
                    "table `{}` has no primary key: records cannot be written idempotently",
                    self.table
                )));
            }
            if !load {
                return Err(StoreError::precondition_failed(format!(
                    "table `{}` is being loaded by a copy or restore that has not finished (it \
                     gets its primary key at the end): run that again to finish it first",
                    self.table
                )));
            }
            // Read as the table it becomes: keyed (its rows are in key order all the same).
            let _ = self.info.set(TableInfo {
                primary_key: theirs.clone(),
                ..info
            });
            let _ = self.loading.set(theirs);
            return Ok(());
        }
        if info.primary_key != theirs {
            return Err(StoreError::invalid_input(format!(
                "table `{}` is keyed by ({}) but the source {} `{}` is keyed by ({}): records \
                 cannot be matched",
                self.table,
                info.primary_key.join(", "),
                schema.kind_name(),
                schema.name(),
                theirs.join(", ")
            )));
        }
        Ok(())
    }

    /// Writes `rows` of `columns`: appended while the table loads without its key, else
    /// upserted by `key`.
    async fn write_rows(
        &self,
        columns: &[String],
        key: &[String],
        rows: &[Vec<Value>],
    ) -> Result<()> {
        if let Some(loading) = self.loading.get() {
            match self.store.insert_rows(&self.table, columns, rows).await {
                // Another process of a partitioned load has finished and keyed the table,
                // and this batch is one sent again: it is upserted.
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    self.store
                        .upsert_rows(&self.table, columns, loading, rows)
                        .await?;
                }
                written => {
                    written?;
                }
            }
            return Ok(());
        }
        self.store
            .upsert_rows(&self.table, columns, key, rows)
            .await?;
        Ok(())
    }

    /// [`write_rows`](Self::write_rows) as a task of its own, on the runtime's workers
    /// (cancelled if this call is dropped): a `COPY` and the connection task it feeds then
    /// hand over chunks between workers, not to a thread blocked on the runtime (a restore
    /// of 1,000,000 rows into PostgreSQL: 1.88 s against 2.08 s, medians of 7 interleaved
    /// runs). The rows are freed off the task too: a heap block or more per field is a
    /// millisecond of work the next batch's write need not wait for.
    async fn write_owned(
        &self,
        mut columns: Vec<String>,
        key: Vec<String>,
        mut rows: Vec<Vec<Value>>,
    ) -> Result<()> {
        let info = self.info().await?;
        if self.store.backend() == "sqlite" {
            sqlite_numbers::refuse_rounding(info, &self.table, &columns, &rows)?;
        }
        info.fill_missing(&mut columns, &mut rows);
        let table = self.clone();
        let write = AbortOnDrop::spawn(async move {
            let written = table.write_rows(&columns, &key, &rows).await;
            drop(tokio::task::spawn_blocking(move || drop(rows)));
            written
        });
        joined("writing a batch", write.await)
    }

    /// On SQLite, the kind of each key column, by which a key is sought in every storage
    /// class a read maps to it.
    fn sqlite_keys(&self, info: &TableInfo) -> Option<Vec<table_keys::SqliteKey>> {
        (self.store.backend() == "sqlite")
            .then(|| table_keys::sqlite_keys(&info.columns, &info.primary_key))
    }

    fn quoted(&self) -> String {
        quote_qualified(&self.table)
    }
}

#[async_trait]
impl RecordSource for SqlTable {
    fn describe(&self) -> String {
        self.label.clone()
    }

    async fn schema(&self) -> Result<CollectionSchema> {
        let info = self.info().await?;
        Ok(CollectionSchema::Table {
            name: self.table.clone(),
            dialect: self.store.backend().to_owned(),
            columns: info.columns.clone(),
            primary_key: info.primary_key.clone(),
            options: info.options.clone(),
        })
    }

    async fn estimated_count(&self) -> Result<Option<u64>> {
        let row = self
            .store
            .query_one(&format!("SELECT count(*) AS n FROM {}", self.quoted()), &[])
            .await?;
        Ok(row
            .get("n")
            .and_then(Value::as_number)
            .and_then(store_core::Number::to_u64))
    }

    fn plans_partitions(&self) -> bool {
        true
    }

    /// The last key of each partition but the last, at offsets I·count/N of one snapshot.
    async fn cut_plan(&self, total: u32) -> Result<PartitionPlan> {
        let mut reader = Reader::open(self, Partition::whole(), None, 1).await?;
        let last_keys = reader.last_keys(total).await;
        reader.conn.close().await?;
        let splits = table_plan::splits(&reader.keys, &last_keys?);
        Ok(PartitionPlan::new(self.label.clone(), total, splits))
    }

    fn use_plan(&self, plan: &PartitionPlan) -> Result<()> {
        *self.plan.lock().expect("plan lock") = Some(plan.clone());
        Ok(())
    }

    fn read(
        &self,
        partition: Partition,
        resume: Option<String>,
        batch_size: usize,
    ) -> BoxStream<'_, Result<Batch>> {
        futures::stream::once(
            async move { Reader::open(self, partition, resume, batch_size).await },
        )
        .flat_map(|opened| match opened {
            Ok(reader) => reader.batches().boxed(),
            Err(e) => futures::stream::iter([Err(e)]).boxed(),
        })
        .boxed()
    }
}

#[async_trait]
impl RecordSink for SqlTable {
    fn describe(&self) -> String {
        self.label.clone()
    }

    async fn prepare(&self, schema: &CollectionSchema, create: bool) -> Result<()> {
        self.open_for(schema, create, false).await
    }

    /// A table the load creates on PostgreSQL gets its primary key in
    /// [`finish`](RecordSink::finish), after its rows (see `table_load`).
    async fn prepare_load(&self, schema: &CollectionSchema, create: bool) -> Result<()> {
        self.open_for(schema, create, true).await
    }

    async fn upsert(&self, records: Vec<Record>) -> Result<Receipt> {
        let info = self.info().await?;
        // A record read from elsewhere may hold its key apart (a search document keyed by
        // its `_id`): the row gets it in its key columns.
        let records: Vec<Record> = records.into_iter().map(Record::with_key_in_doc).collect();
        // The written columns, in order of first appearance, each with its place in a row.
        let mut columns: Vec<String> = Vec::new();
        let mut place: HashMap<String, usize> = HashMap::new();
        // Records read from one table (or an archive of one) hold the columns in one order:
        // those are checked by comparing names in place, with no lookup.
        let in_order = |doc: &Document, columns: &[String]| {
            doc.len() == columns.len() && doc.keys().zip(columns).all(|(name, c)| name == c)
        };
        for record in &records {
            if in_order(&record.doc, &columns) {
                continue;
            }
            for name in record.doc.keys() {
                if !place.contains_key(name) {
                    if !info.has_column(name) {
                        return Err(no_column(&record.key, name, &self.table));
                    }
                    place.insert(name.to_owned(), columns.len());
                    columns.push(name.to_owned());
                }
            }
        }
        // Each attribute moves to its column's place (one pass over the document; removing
        // attributes by name would shift the rest of the document at every column).
        let rows: Vec<Vec<Value>> = records
            .into_iter()
            .map(|record| {
                if in_order(&record.doc, &columns) {
                    return record.doc.into_iter().map(|(_, value)| value).collect();
                }
                let mut row = vec![Value::Null; columns.len()];
                for (name, value) in record.doc {
                    row[place[name.as_str()]] = value;
                }
                row
            })
            .collect();
        // One call, all or nothing: the store's bulk path (binary COPY on PostgreSQL).
        self.write_owned(columns, info.primary_key.clone(), rows)
            .await?;
        Ok(Receipt::Null)
    }

    /// Each attribute has a column, when the table's columns are known (a dry run has read
    /// them; a table the run would create gets a column for every attribute of the source's
    /// schema).
    fn check_writable(&self, records: &[Record]) -> Result<()> {
        let Some(info) = self.info.get() else {
            return Ok(());
        };
        for record in records {
            if let Some(name) = record.doc.keys().find(|name| !info.has_column(name)) {
                return Err(no_column(&record.key, name, &self.table));
            }
        }
        Ok(())
    }

    fn preferred_batch_size(&self) -> Option<usize> {
        (self.store.backend() == "postgres").then_some(POSTGRES_BATCH)
    }

    fn takes_rows(&self) -> bool {
        true
    }

    async fn upsert_rows(&self, batch: RowBatch) -> Result<Receipt> {
        let info = self.info().await?;
        if let Some(name) = batch.columns.iter().find(|name| !info.has_column(name)) {
            return Err(StoreError::invalid_input(format!(
                "attribute `{name}` has no column in table `{}` (the records of this batch \
                 hold it)",
                self.table
            )));
        }
        if batch.rows.is_empty() {
            return Ok(Receipt::Null);
        }
        self.write_owned(batch.columns, info.primary_key.clone(), batch.rows)
            .await?;
        Ok(Receipt::Null)
    }

    async fn finish(&self, _receipts: Vec<Receipt>) -> Result<()> {
        match self.loading.get() {
            Some(key) => table_load::add_key(self.store.as_ref(), &self.table, key).await,
            None => Ok(()),
        }
    }

    async fn delete(&self, keys: Vec<RecordKey>) -> Result<()> {
        let info = self.info().await?;
        let width = info.primary_key.len();
        let sqlite_keys = self.sqlite_keys(info);
        for chunk in keys.chunks((MAX_PARAMS / width).max(1)) {
            let (condition, params) =
                table_keys::in_list(&info.primary_key, sqlite_keys.as_deref(), chunk)?;
            let sql = format!("DELETE FROM {} WHERE {condition}", self.quoted());
            self.store.execute(&sql, &params).await?;
        }
        Ok(())
    }

    fn may_match_keys_loosely(&self) -> bool {
        true
    }

    /// The rows whose keys equal any of `keys` by the table's own comparison (a column that
    /// ignores case, a `char(n)` that ignores trailing blanks), as the keys they hold.
    async fn keys_matching(&self, keys: &[RecordKey]) -> Result<Vec<RecordKey>> {
        let info = self.info().await?;
        let width = info.primary_key.len();
        let sqlite_keys = self.sqlite_keys(info);
        let mut held = Vec::new();
        for chunk in keys.chunks((MAX_PARAMS / width).max(1)) {
            let (condition, params) =
                table_keys::in_list(&info.primary_key, sqlite_keys.as_deref(), chunk)?;
            let sql = format!(
                "SELECT {} FROM {} WHERE {condition}",
                catalog::key_list(&info.primary_key),
                self.quoted()
            );
            for row in self.store.query_all(&sql, &params).await? {
                held.push(Record::from_document(row, &info.primary_key)?.key);
            }
        }
        Ok(held)
    }
}
