//! The open file and its transactions: [`Inner`] runs a closure in one durable write
//! transaction (committed only when it succeeded and changed something) or one read snapshot.

use std::path::PathBuf;
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use redb::{
    Database, Durability, ReadOnlyDatabase, ReadOnlyTable, ReadTransaction, ReadableDatabase,
    ReadableTable, Table, WriteTransaction,
};
use store_core::{Document, Result, StoreError};

use crate::codec::{decode_document, encode_document};
use crate::error::{BACKEND, OrStore};
use crate::layout::{ITEMS, IndexDef, Layout};

/// The redb handle: one writer, or a shared read-only view.
pub(crate) enum Db {
    Writable(Database),
    ReadOnly(ReadOnlyDatabase),
}

impl Db {
    fn begin_read(&self) -> Result<ReadTransaction> {
        match self {
            Db::Writable(db) => db.begin_read().or_store(),
            Db::ReadOnly(db) => db.begin_read().or_store(),
        }
    }
}

/// Everything a store's calls share.
pub(crate) struct Inner {
    /// Calls hold it shared; [`compact`](crate::RedbStore::compact) holds it alone.
    pub(crate) db: RwLock<Db>,
    pub(crate) layout: Layout,
    pub(crate) path: PathBuf,
    /// The TTL attribute, if the table has one ([`crate::ttl`]).
    pub(crate) ttl: Option<String>,
}

impl Inner {
    pub(crate) fn db(&self) -> RwLockReadGuard<'_, Db> {
        self.db.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` in one write transaction with immediate durability: committed (and synced)
    /// when `f` succeeds having changed something, aborted otherwise.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut Writer<'_>) -> Result<T>) -> Result<T> {
        let db = self.db();
        let Db::Writable(db) = &*db else {
            return Err(StoreError::invalid_input(format!(
                "the store file {} was opened read-only",
                self.path.display()
            )));
        };
        let mut txn = db.begin_write().or_store()?;
        txn.set_durability(Durability::Immediate).or_store()?;
        let (result, dirty) = {
            let mut writer = Writer::new(&txn, &self.layout)?;
            let result = f(&mut writer);
            (result, writer.dirty)
        };
        match result {
            Ok(value) if dirty => {
                txn.commit().or_store()?;
                Ok(value)
            }
            Ok(value) => {
                txn.abort().or_store()?;
                Ok(value)
            }
            Err(e) => {
                if let Err(abort) = txn.abort() {
                    tracing::warn!(error = %abort, "store-redb: aborting a write transaction failed");
                }
                Err(e)
            }
        }
    }

    /// Runs `f` on one consistent snapshot.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Reader) -> Result<T>) -> Result<T> {
        let txn = self.db().begin_read()?;
        let reader = Reader {
            items: txn.open_table(ITEMS).or_store()?,
            txn: &txn,
        };
        f(&reader)
    }
}

/// The tables of one read snapshot.
pub(crate) struct Reader<'t> {
    pub(crate) items: ReadOnlyTable<&'static [u8], &'static [u8]>,
    txn: &'t ReadTransaction,
}

impl Reader<'_> {
    /// The item stored under an encoded key.
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Document>> {
        self.items
            .get(key)
            .or_store()?
            .map(|v| decode_document(v.value()))
            .transpose()
    }

    /// The entries of an index.
    pub(crate) fn index(
        &self,
        index: &IndexDef,
    ) -> Result<ReadOnlyTable<&'static [u8], &'static [u8]>> {
        self.txn.open_table(index.table()).or_store()
    }
}

/// The tables of one write transaction, keeping every index in step with the items.
pub(crate) struct Writer<'t> {
    layout: &'t Layout,
    items: Table<'t, &'static [u8], &'static [u8]>,
    indexes: Vec<Table<'t, &'static [u8], &'static [u8]>>,
    dirty: bool,
}

impl<'t> Writer<'t> {
    fn new(txn: &'t WriteTransaction, layout: &'t Layout) -> Result<Self> {
        let items = txn.open_table(ITEMS).or_store()?;
        let indexes = layout
            .indexes
            .iter()
            .map(|i| txn.open_table(i.table()).or_store())
            .collect::<Result<_>>()?;
        Ok(Self {
            layout,
            items,
            indexes,
            dirty: false,
        })
    }

    /// The item stored under an encoded key.
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Document>> {
        self.items
            .get(key)
            .or_store()?
            .map(|v| decode_document(v.value()))
            .transpose()
    }

    /// The items table, to read.
    pub(crate) fn items(&self) -> &Table<'t, &'static [u8], &'static [u8]> {
        &self.items
    }

    /// Stores `new` under `key` (replacing `old`, which is what the key holds now).
    pub(crate) fn put(&mut self, key: &[u8], old: Option<&Document>, new: &Document) -> Result<()> {
        self.dirty = true;
        for (def, table) in self.layout.indexes.iter().zip(&mut self.indexes) {
            let before = old.and_then(|doc| def.entry_key(doc, key));
            let after = def.entry_key(new, key);
            if before == after {
                continue;
            }
            if let Some(entry) = before {
                table.remove(entry.as_slice()).or_store()?;
            }
            if let Some(entry) = after {
                table.insert(entry.as_slice(), key).or_store()?;
            }
        }
        self.items
            .insert(key, encode_document(new).as_slice())
            .or_store()
            .map(drop)
    }

    /// Whether the table has secondary indexes (which need the replaced item on a write).
    pub(crate) fn has_indexes(&self) -> bool {
        !self.indexes.is_empty()
    }

    /// Deletes whatever `key` holds, in a table without indexes.
    pub(crate) fn remove(&mut self, key: &[u8]) -> Result<()> {
        debug_assert!(!self.has_indexes());
        self.dirty = true;
        self.items.remove(key).or_store().map(drop)
    }

    /// Deletes `old`, stored under `key`.
    pub(crate) fn delete(&mut self, key: &[u8], old: &Document) -> Result<()> {
        self.dirty = true;
        for (def, table) in self.layout.indexes.iter().zip(&mut self.indexes) {
            if let Some(entry) = def.entry_key(old, key) {
                table.remove(entry.as_slice()).or_store()?;
            }
        }
        self.items.remove(key).or_store().map(drop)
    }
}

/// The error of a blocking task that did not finish.
pub(crate) fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::internal(format!("a store-redb task failed: {e}")).with_backend(BACKEND)
}
