//! An index opened for reading only: no writer and not the writer's lock, so any number of
//! handles, in any number of processes, read an index while one process writes it (tantivy
//! still takes its short lock on `meta.json` while it reads it, so the directory must be
//! writable). Reads see
//! the commit that was last when the handle opened or last refreshed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use store_core::search::StoredDoc;
use store_core::{Result, StoreError};
use tantivy::collector::Count;
use tantivy::query::AllQuery;
use tantivy::{Index, IndexReader, ReloadPolicy};

use crate::error::{BACKEND, OrStore};
use crate::schema::Fields;
use crate::writer::{View, committed, last_commit_meta, open_index, stored};

/// How many times a reload is tried when a writer's commit removed the files of the commit
/// being opened between reading `meta.json` and opening them.
const RELOAD_ATTEMPTS: usize = 3;

/// The reading side of an index: its reader and the view of the commit it last loaded.
pub(crate) struct ReadOnly {
    dir: PathBuf,
    name: String,
    index: Index,
    reader: IndexReader,
    fields: Fields,
    view: RwLock<Arc<View>>,
}

impl ReadOnly {
    /// Opens the index in `dir` for reading (blocking): `NotFound` when there is none.
    pub(crate) fn open(dir: &Path, name: &str) -> Result<Self> {
        let (index, _) = open_index(dir, name)?;
        let fields = Fields::of(&index.schema())?;
        crate::packed::register(&index);
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .or_store()?;
        // The mapping of the commit the reader opened, or a newer one (see `load`).
        let meta = last_commit_meta(&index, dir, name)?;
        let view = View {
            searcher: reader.searcher(),
            mapping: Arc::new(meta.mapping),
            fields,
        };
        Ok(Self {
            dir: dir.to_owned(),
            name: name.to_owned(),
            index,
            reader,
            fields,
            view: RwLock::new(Arc::new(view)),
        })
    }

    /// What searches read now.
    pub(crate) fn view(&self) -> Arc<View> {
        self.view
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Moves to the index's last commit and its mapping (blocking).
    pub(crate) fn reload(&self) -> Result<()> {
        let mut attempt = 1;
        loop {
            match self.load() {
                Err(_) if attempt < RELOAD_ATTEMPTS => attempt += 1,
                done => return done,
            }
        }
    }

    fn load(&self) -> Result<()> {
        // The segments first, then the mapping: a commit between the two leaves a mapping
        // newer than the segments (which only adds fields), never one that lacks theirs.
        self.reader.reload().or_store()?;
        let meta = last_commit_meta(&self.index, &self.dir, &self.name)?;
        let view = View {
            searcher: self.reader.searcher(),
            mapping: Arc::new(meta.mapping),
            fields: self.fields,
        };
        *self.view.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(view);
        Ok(())
    }

    /// The document `id` in the loaded commit (blocking).
    pub(crate) fn get(&self, id: &str) -> Result<Option<StoredDoc>> {
        let view = self.view();
        Ok(committed(&view.searcher, &self.fields, id)?.map(|e| stored(id, &e)))
    }

    /// How many documents the loaded commit holds (blocking).
    pub(crate) fn count(&self) -> Result<u64> {
        let n = self.view().searcher.search(&AllQuery, &Count).or_store()?;
        Ok(n as u64)
    }

    /// The error of a write (or a create or drop) through a read-only handle.
    pub(crate) fn refuse(&self, operation: &'static str) -> StoreError {
        StoreError::unsupported(format!(
            "the search index in {} is open for reading only: `{operation}` needs a handle \
             opened for writing (TantivyIndex::open)",
            self.dir.display()
        ))
        .with_backend(BACKEND)
        .with_operation(operation)
    }
}
