//! What a store file holds: its tables, its key schema and indexes, and the format record that
//! says so.
//!
//! A store file holds exactly one document table, as redb tables:
//!
//! - `items`: encoded primary key → encoded item;
//! - `index/<name>`, one per secondary index: encoded index key followed by the encoded primary
//!   key → encoded primary key (an item lacking an index key attribute has no entry);
//! - `meta`: the record `store` (JSON): the format version, the table name, its key schema and
//!   its indexes.
//!
//! Opening checks the record against what the caller asked for and reconciles the indexes in
//! one write transaction: a new index is built from the items, a changed one is rebuilt, a
//! dropped one is deleted.

use std::path::Path;

use redb::{
    Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle, WriteTransaction,
};
use serde::{Deserialize, Serialize};
use store_core::{Document, KeyAttribute, KeySchema, KeyType, Result, StoreError, TableName};

use crate::codec::{decode_document, encode_key};
use crate::error::{BACKEND, OrStore};

/// The on-disk format this version reads and writes (the `format` of the `meta` record).
pub const FORMAT_VERSION: u32 = 1;

/// Encoded primary key → encoded item.
pub(crate) const ITEMS: TableDefinition<'static, &'static [u8], &'static [u8]> =
    TableDefinition::new("items");

/// The store's record.
const META: TableDefinition<'static, &'static str, &'static str> = TableDefinition::new("meta");
const META_KEY: &str = "store";

/// A redb table of index entries.
pub(crate) type IndexTable<'n> = TableDefinition<'n, &'static [u8], &'static [u8]>;

/// One secondary index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexDef {
    pub(crate) name: String,
    pub(crate) schema: KeySchema,
    /// A local index (same partition key as the table): allows strongly consistent queries.
    pub(crate) local: bool,
    table: String,
}

impl IndexDef {
    pub(crate) fn new(name: &str, schema: KeySchema, local: bool) -> Self {
        Self {
            name: name.to_owned(),
            schema,
            local,
            table: format!("index/{name}"),
        }
    }

    pub(crate) fn table(&self) -> IndexTable<'_> {
        TableDefinition::new(&self.table)
    }

    /// The entry key of `item` (whose primary key encodes as `table_key`) in this index, or
    /// `None` when the item lacks an index key attribute.
    pub(crate) fn entry_key(&self, item: &Document, table_key: &[u8]) -> Option<Vec<u8>> {
        let key = self.schema.key_of(item).ok()?;
        let mut out = encode_key(&key);
        out.extend_from_slice(table_key);
        Some(out)
    }
}

/// The table a store serves: name, key schema, indexes.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) table: TableName,
    pub(crate) schema: KeySchema,
    pub(crate) indexes: Vec<IndexDef>,
}

impl Layout {
    pub(crate) fn index(&self, name: &str) -> Option<&IndexDef> {
        self.indexes.iter().find(|i| i.name == name)
    }

    pub(crate) fn index_schemas(&self) -> impl Iterator<Item = &KeySchema> + Clone {
        self.indexes.iter().map(|i| &i.schema)
    }

    fn record(&self) -> Record {
        Record {
            format: FORMAT_VERSION,
            table: self.table.to_string(),
            key: SchemaRecord::from(&self.schema),
            indexes: self
                .indexes
                .iter()
                .map(|i| IndexRecord {
                    name: i.name.clone(),
                    local: i.local,
                    key: SchemaRecord::from(&i.schema),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    format: u32,
    table: String,
    key: SchemaRecord,
    indexes: Vec<IndexRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct IndexRecord {
    name: String,
    local: bool,
    key: SchemaRecord,
}

/// A key schema as `[name, "S" | "N" | "B"]` pairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SchemaRecord {
    partition: (String, String),
    sort: Option<(String, String)>,
}

impl From<&KeySchema> for SchemaRecord {
    fn from(schema: &KeySchema) -> Self {
        let attr = |a: &KeyAttribute| {
            let t = match a.key_type {
                KeyType::String => "S",
                KeyType::Number => "N",
                KeyType::Bytes => "B",
            };
            (a.name.clone(), t.to_owned())
        };
        Self {
            partition: attr(&schema.partition),
            sort: schema.sort.as_ref().map(attr),
        }
    }
}

impl SchemaRecord {
    /// The key schema recorded; a key type other than `S`, `N` or `B` is a damaged record.
    fn schema(&self, path: &Path) -> Result<KeySchema> {
        let attr = |(name, letter): &(String, String)| -> Result<(String, KeyType)> {
            let key_type = match letter.as_str() {
                "S" => KeyType::String,
                "N" => KeyType::Number,
                "B" => KeyType::Bytes,
                other => {
                    return Err(unreadable(&format!("key type {other:?}"), path));
                }
            };
            Ok((name.clone(), key_type))
        };
        let (name, key_type) = attr(&self.partition)?;
        let mut schema = KeySchema::partition(name, key_type);
        if let Some(sort) = &self.sort {
            let (name, key_type) = attr(sort)?;
            schema = schema.with_sort(name, key_type);
        }
        Ok(schema)
    }
}

impl std::fmt::Display for SchemaRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.partition.0, self.partition.1)?;
        if let Some((name, t)) = &self.sort {
            write!(f, " + {name} ({t})")?;
        }
        Ok(())
    }
}

/// Checks the file's record against `layout` (writing it into a new file) and reconciles the
/// indexes, in one durable write transaction.
pub(crate) fn prepare(db: &Database, layout: &Layout, path: &Path) -> Result<()> {
    let txn = db.begin_write().or_store()?;
    let stored: Option<String> = {
        let meta = txn.open_table(META).or_store()?;
        meta.get(META_KEY).or_store()?.map(|g| g.value().to_owned())
    };
    let wanted = layout.record();
    let previous_indexes = match stored {
        None => {
            let foreign: Vec<String> = txn
                .list_tables()
                .or_store()?
                .map(|t| t.name().to_owned())
                .filter(|name| name != "meta")
                .collect();
            if !foreign.is_empty() {
                return Err(StoreError::invalid_input(format!(
                    "{} is a redb file of another program (it holds the tables {foreign:?} but no \
                     store-redb record); open a new file",
                    path.display()
                )));
            }
            Vec::new()
        }
        Some(json) => check_record(&json, &wanted, path)?.indexes,
    };
    txn.open_table(ITEMS).or_store()?;
    for old in &previous_indexes {
        if !wanted.indexes.contains(old) {
            let def = IndexDef::new(&old.name, KeySchema::partition("-", KeyType::String), false);
            txn.delete_table(def.table()).or_store()?;
            tracing::info!(index = %old.name, "store-redb: dropped a secondary index");
        }
    }
    for index in &layout.indexes {
        let record = wanted.indexes.iter().find(|r| r.name == index.name);
        if record.is_some_and(|r| previous_indexes.contains(r)) {
            txn.open_table(index.table()).or_store()?;
        } else {
            build_index(&txn, index)?;
        }
    }
    let json = serde_json::to_string(&wanted)
        .map_err(|e| StoreError::internal(format!("cannot encode the store record: {e}")))?;
    txn.open_table(META)
        .or_store()?
        .insert(META_KEY, json.as_str())
        .or_store()?;
    txn.commit().or_store()
}

/// Reads the record of a file opened read-only and checks it.
pub(crate) fn check_existing(
    db: &impl ReadableDatabase,
    layout: &Layout,
    path: &Path,
) -> Result<()> {
    let stored = check_record(&stored_json(db, path)?, &layout.record(), path)?;
    for index in &layout.indexes {
        let key = SchemaRecord::from(&index.schema);
        if !stored
            .indexes
            .iter()
            .any(|r| r.name == index.name && r.key == key)
        {
            return Err(StoreError::invalid_input(format!(
                "the store in {} has no index `{}` keyed {key}; open it for writing once to \
                 build it",
                path.display(),
                index.name
            )));
        }
    }
    Ok(())
}

/// A file's record as [`StoredTable`](crate::StoredTable) shows it.
pub(crate) struct Recorded {
    pub(crate) table: String,
    pub(crate) key: KeySchema,
    /// Name, key and whether local, per index.
    pub(crate) indexes: Vec<(String, KeySchema, bool)>,
}

/// Reads and parses the record of a file opened read-only.
pub(crate) fn read_record(db: &impl ReadableDatabase, path: &Path) -> Result<Recorded> {
    let record = parse_record(&stored_json(db, path)?, path)?;
    let mut indexes = Vec::with_capacity(record.indexes.len());
    for index in record.indexes {
        let key = index.key.schema(path)?;
        indexes.push((index.name, key, index.local));
    }
    Ok(Recorded {
        table: record.table,
        key: record.key.schema(path)?,
        indexes,
    })
}

/// The JSON record of a file opened read-only; `InvalidInput` when it has none.
fn stored_json(db: &impl ReadableDatabase, path: &Path) -> Result<String> {
    let txn = db.begin_read().or_store()?;
    let json = match txn.open_table(META) {
        Ok(meta) => meta.get(META_KEY).or_store()?.map(|g| g.value().to_owned()),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(crate::error::from_redb(e)),
    };
    json.ok_or_else(|| {
        StoreError::invalid_input(format!("{} holds no store-redb table", path.display()))
    })
}

/// Parses a stored record and checks its format, table name and key schema.
fn check_record(json: &str, wanted: &Record, path: &Path) -> Result<Record> {
    let shown = path.display();
    let stored = parse_record(json, path)?;
    if stored.table != wanted.table {
        return Err(StoreError::invalid_input(format!(
            "{shown} holds the table `{}`, not `{}`; a store file holds one table: open another \
             file for another table",
            stored.table, wanted.table
        )));
    }
    if stored.key != wanted.key {
        return Err(StoreError::invalid_input(format!(
            "the table `{}` in {shown} is keyed {}, but it was opened with the key {}",
            stored.table, stored.key, wanted.key
        )));
    }
    Ok(stored)
}

/// Parses a stored record of this format.
fn parse_record(json: &str, path: &Path) -> Result<Record> {
    let shown = path.display();
    let format = serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| v.get("format").and_then(serde_json::Value::as_u64));
    match format {
        Some(f) if f == u64::from(FORMAT_VERSION) => {}
        Some(f) => {
            return Err(StoreError::unsupported(format!(
                "the store in {shown} uses on-disk format {f}, but this store-redb reads format \
                 {FORMAT_VERSION} only; open it with a store-redb that knows format {f}"
            ))
            .with_backend(BACKEND));
        }
        None => {
            return Err(unreadable(json, path));
        }
    }
    serde_json::from_str(json).map_err(|e| {
        StoreError::internal(format!("the store record of {shown} is unreadable ({e})"))
            .with_backend(BACKEND)
    })
}

fn unreadable(json: &str, path: &Path) -> StoreError {
    StoreError::internal(format!(
        "the store record of {} is unreadable: {json:?}",
        path.display()
    ))
    .with_backend(BACKEND)
}

/// (Re)builds an index from every item, in the open write transaction.
fn build_index(txn: &WriteTransaction, index: &IndexDef) -> Result<()> {
    txn.delete_table(index.table()).or_store()?;
    let items = txn.open_table(ITEMS).or_store()?;
    let mut entries = txn.open_table(index.table()).or_store()?;
    let mut built = 0u64;
    for row in items.iter().or_store()? {
        let (key, value) = row.or_store()?;
        let item = decode_document(value.value())?;
        if let Some(entry) = index.entry_key(&item, key.value()) {
            entries.insert(entry.as_slice(), key.value()).or_store()?;
            built += 1;
        }
    }
    tracing::info!(index = %index.name, entries = built, "store-redb: built a secondary index");
    Ok(())
}
