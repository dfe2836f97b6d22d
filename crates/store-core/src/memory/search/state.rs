//! One index's state: the live documents, the searchable snapshot, the mapping and the writes.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Result, StoreError};
use crate::search::engine::{
    BulkWriter, FieldData, Mapping, check_version, deep_merge, run_bulk, validate_write,
};
use crate::search::{
    BulkOp, BulkReport, DocVersion, IndexOptions, IndexSpec, OpType, StoredDoc, validate_id,
};
use crate::value::Document;

/// One stored document with what it indexed.
#[derive(Debug)]
pub(super) struct DocEntry {
    pub(super) id: String,
    pub(super) source: Document,
    pub(super) version: DocVersion,
    pub(super) fields: BTreeMap<String, FieldData>,
}

/// The documents searches see: those written before the last refresh.
#[derive(Debug, Default)]
pub(super) struct Snapshot {
    pub(super) docs: BTreeMap<String, Arc<DocEntry>>,
}

/// The state of one index.
#[derive(Debug)]
pub(super) struct IndexState {
    mapping: Arc<Mapping>,
    live: BTreeMap<String, Arc<DocEntry>>,
    seq_no: u64,
    searchable: Arc<Snapshot>,
    dirty: bool,
}

impl IndexState {
    /// A new, empty index.
    pub(super) fn new(spec: &IndexSpec) -> Result<Self> {
        Ok(Self {
            mapping: Arc::new(Mapping::from_spec(spec, super::BACKEND)?),
            live: BTreeMap::new(),
            seq_no: 0,
            searchable: Arc::default(),
            dirty: false,
        })
    }

    /// A new, empty index with dynamic mapping, as a write to a missing index creates it.
    pub(super) fn dynamic() -> Self {
        Self {
            mapping: Arc::new(Mapping::dynamic()),
            live: BTreeMap::new(),
            seq_no: 0,
            searchable: Arc::default(),
            dirty: false,
        }
    }

    /// The current mapping and the searchable snapshot, for a search that runs without the lock.
    pub(super) fn view(&self) -> (Arc<Mapping>, Arc<Snapshot>) {
        (self.mapping.clone(), self.searchable.clone())
    }

    /// Makes every write so far searchable.
    pub(super) fn refresh(&mut self) {
        if self.dirty {
            self.searchable = Arc::new(Snapshot {
                docs: self.live.clone(),
            });
            self.dirty = false;
        }
    }

    /// The live document (real time).
    pub(super) fn get(&self, id: &str) -> Result<Option<StoredDoc>> {
        validate_id(id)?;
        Ok(self.live.get(id).map(|entry| StoredDoc {
            id: entry.id.clone(),
            source: entry.source.clone(),
            version: entry.version,
        }))
    }

    /// Applies each operation in order, independently of the others.
    pub(super) fn bulk(&mut self, ops: Vec<BulkOp>) -> BulkReport {
        run_bulk(self, ops, super::BACKEND)
    }

    fn write(
        &mut self,
        id: &str,
        source: Document,
        fields: BTreeMap<String, FieldData>,
    ) -> DocVersion {
        self.seq_no += 1;
        let version = DocVersion {
            seq_no: self.seq_no,
            primary_term: 1,
        };
        let entry = DocEntry {
            id: id.to_owned(),
            source,
            version,
            fields,
        };
        self.live.insert(id.to_owned(), Arc::new(entry));
        self.dirty = true;
        version
    }

    fn refresh_if(&mut self, options: IndexOptions) {
        if options.refresh {
            self.refresh();
        }
    }
}

/// The single writes of one index; an update merges nested maps deeply and replaces other values.
impl BulkWriter for IndexState {
    fn index(&mut self, id: &str, doc: Document, options: IndexOptions) -> Result<DocVersion> {
        validate_write(id, options)?;
        let indexed = self.mapping.index_document(&doc)?;
        let existing = self.live.get(id);
        if options.op_type == OpType::Create && existing.is_some() {
            return Err(StoreError::already_exists(format!(
                "a document with id `{id}` already exists"
            )));
        }
        check_version(id, existing.map(|e| e.version), options)?;
        Arc::make_mut(&mut self.mapping).apply(indexed.additions);
        let version = self.write(id, doc, indexed.fields);
        self.refresh_if(options);
        Ok(version)
    }

    fn update(&mut self, id: &str, partial: Document, options: IndexOptions) -> Result<DocVersion> {
        validate_id(id)?;
        let existing = self.live.get(id).ok_or_else(|| {
            StoreError::not_found(format!("no document with id `{id}` to update"))
        })?;
        check_version(id, Some(existing.version), options)?;
        let mut merged = existing.source.clone();
        deep_merge(&mut merged, partial);
        if merged == existing.source {
            // Like OpenSearch's `detect_noop`: nothing changes, not even the version.
            let version = existing.version;
            self.refresh_if(options);
            return Ok(version);
        }
        let indexed = self.mapping.index_document(&merged)?;
        Arc::make_mut(&mut self.mapping).apply(indexed.additions);
        let version = self.write(id, merged, indexed.fields);
        self.refresh_if(options);
        Ok(version)
    }

    fn delete(&mut self, id: &str, options: IndexOptions) -> Result<bool> {
        validate_id(id)?;
        check_version(id, self.live.get(id).map(|e| e.version), options)?;
        let existed = self.live.remove(id).is_some();
        if existed {
            self.seq_no += 1;
            self.dirty = true;
        }
        self.refresh_if(options);
        Ok(existed)
    }
}
