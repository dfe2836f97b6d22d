//! One index's state: the live documents, the searchable snapshot, the mapping and the writes.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::fields::FieldData;
use super::mapping::Mapping;
use crate::error::{ErrorKind, Result, StoreError};
use crate::search::{
    BulkFailure, BulkOp, BulkReport, DocVersion, IndexOptions, IndexSpec, OpType, StoredDoc,
    validate_id,
};
use crate::value::{Document, Value};

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
            mapping: Arc::new(Mapping::from_spec(spec)?),
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

    /// Creates or replaces a document.
    pub(super) fn index(
        &mut self,
        id: &str,
        doc: Document,
        options: IndexOptions,
    ) -> Result<DocVersion> {
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

    /// Merges `partial` into a document (nested maps merged deeply, other values replaced).
    pub(super) fn update(
        &mut self,
        id: &str,
        partial: Document,
        options: IndexOptions,
    ) -> Result<DocVersion> {
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

    /// Deletes a document; returns whether it existed.
    pub(super) fn delete(&mut self, id: &str, options: IndexOptions) -> Result<bool> {
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

    /// Applies each operation in order, independently of the others.
    pub(super) fn bulk(&mut self, ops: Vec<BulkOp>) -> BulkReport {
        let mut report = BulkReport::default();
        for (position, op) in ops.into_iter().enumerate() {
            let id = op.id().to_owned();
            let result = match op {
                BulkOp::Index { id, doc } => self.index(&id, doc, IndexOptions::new()).map(drop),
                BulkOp::Create { id, doc } => self
                    .index(&id, doc, IndexOptions::new().create_only())
                    .map(drop),
                BulkOp::Update { id, partial } => {
                    self.update(&id, partial, IndexOptions::new()).map(drop)
                }
                // As in OpenSearch, deleting a missing id is a `not_found` result, not an error.
                BulkOp::Delete { id } => self.delete(&id, IndexOptions::new()).map(drop),
            };
            match result {
                Ok(()) => report.succeeded += 1,
                Err(error) => report.failed.push(BulkFailure {
                    position,
                    status: status_of(error.kind()),
                    error: error.in_context("memory", "bulk").with_target(id.clone()),
                    id,
                }),
            }
        }
        report
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

/// The checks of a write made before anything else, the existence of the index included.
pub(super) fn validate_write(id: &str, options: IndexOptions) -> Result<()> {
    validate_id(id)?;
    if options.op_type == OpType::Create && options.if_version.is_some() {
        return Err(StoreError::invalid_input(
            "a create-only write cannot also require a version; use one or the other",
        ));
    }
    Ok(())
}

fn check_version(id: &str, current: Option<DocVersion>, options: IndexOptions) -> Result<()> {
    let Some(required) = options.if_version else {
        return Ok(());
    };
    match current {
        Some(current) if current == required => Ok(()),
        Some(current) => Err(StoreError::precondition_failed(format!(
            "document `{id}` is at seq_no {} / primary term {}, not the required {} / {}",
            current.seq_no, current.primary_term, required.seq_no, required.primary_term
        ))),
        None => Err(StoreError::precondition_failed(format!(
            "document `{id}` does not exist, so it is not at the required seq_no {}",
            required.seq_no
        ))),
    }
}

/// Merges `partial` into `target`: maps merge key by key, anything else replaces.
fn deep_merge(target: &mut Document, partial: Document) {
    for (key, value) in partial {
        match (target.get_mut(&key), value) {
            (Some(Value::Map(existing)), Value::Map(inner)) => deep_merge(existing, inner),
            (_, value) => {
                target.insert(key, value);
            }
        }
    }
}

/// The HTTP status OpenSearch's bulk API gives an item that failed this way.
pub(super) fn status_of(kind: ErrorKind) -> u16 {
    match kind {
        ErrorKind::NotFound => 404,
        ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed | ErrorKind::Conflict => 409,
        ErrorKind::InvalidInput | ErrorKind::Unsupported => 400,
        ErrorKind::Throttled => 429,
        ErrorKind::Unavailable => 503,
        ErrorKind::Unauthorized => 403,
        _ => 500,
    }
}
