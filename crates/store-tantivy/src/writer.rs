//! The one writer of an index: a thread that owns tantivy's `IndexWriter` and applies every
//! write, refresh and real-time read in order.
//!
//! Writes go to tantivy's in-memory indexing buffer and to `pending`, the documents written
//! since the last commit, by id (`None` for a delete). A real-time `get` and the checks of a
//! write (create-only, `if_version`, the document an update merges into) read `pending` first
//! and the last commit after it. A refresh commits: tantivy writes the segments and, in the
//! same atomic `meta.json` update, the mapping and sequence number ([`crate::meta`]); then the
//! reader reloads, `pending` empties and searches see the new commit.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;

use store_core::search::engine::{
    Additions, BulkWriter, FieldData, Mapping, TextForm, check_version, deep_merge, run_bulk,
    validate_write,
};
use store_core::search::{
    BulkOp, BulkReport, DocVersion, IndexOptions, IndexSpec, OpType, StoredDoc, validate_id,
};
use store_core::{Document, Result, StoreError};
use tantivy::collector::Count;
use tantivy::query::AllQuery;
use tantivy::schema::{IndexRecordOption, Value as _};
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TERMINATED,
    TantivyDocument, Term,
};

use crate::config::TantivyConfig;
use crate::error::{BACKEND, OrStore, io_error, writer_error};
use crate::meta::{FORMAT_VERSION, Meta, not_an_index, not_ours};
use crate::schema::{Fields, build_doc, build_schema, check_terms};

/// A document as the writer knows it.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) source: Document,
    pub(crate) version: DocVersion,
}

/// What searches run on: the last commit and the current mapping.
pub(crate) struct View {
    pub(crate) searcher: Searcher,
    pub(crate) mapping: Arc<Mapping>,
    pub(crate) fields: Fields,
}

/// The state the writer thread owns.
pub(crate) struct Writer {
    dir: PathBuf,
    name: String,
    writer: IndexWriter<TantivyDocument>,
    reader: IndexReader,
    fields: Fields,
    mapping: Arc<Mapping>,
    seq_no: u64,
    primary_term: u64,
    pending: HashMap<String, Option<Arc<Entry>>>,
    dirty: bool,
    view: Arc<RwLock<Arc<View>>>,
}

/// Whether `dir` holds an index (a committed `meta.json`).
pub(crate) fn exists_on_disk(dir: &Path) -> bool {
    dir.join("meta.json").try_exists().unwrap_or(false)
}

/// Whether `dir` is a directory with nothing in it.
fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none())
}

/// Removes what a failed creation left in `dir`, a directory that was empty before it.
fn empty_dir(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

/// Opens the index in `dir` (taking no lock) and reads the metadata of its last commit.
pub(crate) fn open_index(dir: &Path, name: &str) -> Result<(Index, Meta)> {
    // A `meta.json` that is not tantivy's is someone else's file: said so, not quoted.
    let index = Index::open_in_dir(dir).map_err(|e| match e {
        tantivy::TantivyError::DataCorruption(_) => not_an_index(dir),
        other => crate::error::from_tantivy(other),
    })?;
    let meta = last_commit_meta(&index, dir, name)?;
    Ok((index, meta))
}

/// The metadata (mapping, counters) of the last commit of `index`.
pub(crate) fn last_commit_meta(index: &Index, dir: &Path, name: &str) -> Result<Meta> {
    let metas = index.load_metas().or_store()?;
    match &metas.payload {
        Some(payload) => Meta::from_payload(payload, dir),
        // A creation interrupted before its first commit: an empty dynamic index.
        None if metas.segments.is_empty() => Ok(Meta {
            format: FORMAT_VERSION,
            name: name.to_owned(),
            seq_no: 0,
            primary_term: 0,
            mapping: Mapping::dynamic(),
        }),
        None => Err(not_ours(dir)),
    }
}

impl Writer {
    /// Creates the index in `dir` with the mapping of `spec`: `InvalidInput` for a bad spec,
    /// `AlreadyExists` if `dir` holds an index.
    pub(crate) fn create(
        dir: &Path,
        name: &str,
        spec: &IndexSpec,
        config: &TantivyConfig,
    ) -> Result<Self> {
        let mapping = Mapping::from_spec(spec, BACKEND)?;
        if exists_on_disk(dir) {
            return Err(StoreError::already_exists(format!(
                "index `{name}` already exists"
            )));
        }
        // A directory that holds anything else is someone's: an index is not made among their
        // files (and a failed creation below removes only a directory it made).
        let made = !dir.exists();
        if !made && !is_empty_dir(dir) {
            return Err(StoreError::invalid_input(format!(
                "{} holds files that are not a tantivy index; name a new or empty directory \
                 for index `{name}`",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| io_error("create the index directory", dir, &e))?;
        let created = (|| {
            let index = Index::create_in_dir(dir, build_schema()).or_store()?;
            let meta = Meta {
                format: FORMAT_VERSION,
                name: name.to_owned(),
                seq_no: 0,
                primary_term: 1,
                mapping,
            };
            Self::start(dir, index, meta, config)
        })();
        if created.is_err() {
            if made {
                let _ = std::fs::remove_dir_all(dir);
            } else {
                empty_dir(dir);
            }
        }
        created
    }

    /// Opens the index in `dir` for writing: `Conflict` if another writer holds it.
    pub(crate) fn open(dir: &Path, name: &str, config: &TantivyConfig) -> Result<Self> {
        let (index, mut meta) = open_index(dir, name)?;
        meta.primary_term += 1;
        Self::start(dir, index, meta, config)
    }

    /// Takes the writer lock, commits `meta` (so a new primary term is on disk before any
    /// write uses it) and opens the reader.
    fn start(dir: &Path, index: Index, meta: Meta, config: &TantivyConfig) -> Result<Self> {
        let fields = Fields::of(&index.schema())?;
        crate::packed::register(&index);
        let writer = index
            .writer_with_num_threads(config.threads, config.memory_budget)
            .map_err(|e| writer_error(dir, e))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .or_store()?;
        let mapping = Arc::new(meta.mapping);
        let view = Arc::new(RwLock::new(Arc::new(View {
            searcher: reader.searcher(),
            mapping: mapping.clone(),
            fields,
        })));
        let mut this = Self {
            dir: dir.to_owned(),
            name: meta.name,
            writer,
            reader,
            fields,
            mapping,
            seq_no: meta.seq_no,
            primary_term: meta.primary_term,
            pending: HashMap::new(),
            dirty: true,
            view,
        };
        this.commit()?;
        Ok(this)
    }

    /// Stops the writer: waits for its indexing and merging threads, then releases the
    /// directory lock. Writes since the last commit are discarded.
    fn finish(self) {
        if let Err(e) = self.writer.wait_merging_threads() {
            tracing::warn!(error = %e, dir = %self.dir.display(), "store-tantivy: stopping the writer failed");
        }
    }

    /// The views searches read, updated at every commit and mapping change.
    pub(crate) fn view(&self) -> Arc<RwLock<Arc<View>>> {
        self.view.clone()
    }

    fn publish(&self) {
        let view = Arc::new(View {
            searcher: self.reader.searcher(),
            mapping: self.mapping.clone(),
            fields: self.fields,
        });
        *self.view.write().unwrap_or_else(PoisonError::into_inner) = view;
    }

    /// Commits every write so far with the mapping and counters, and makes it searchable.
    pub(crate) fn commit(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let meta = Meta {
            format: self.fields.format(),
            name: self.name.clone(),
            seq_no: self.seq_no,
            primary_term: self.primary_term,
            mapping: (*self.mapping).clone(),
        };
        let mut prepared = self.writer.prepare_commit().or_store()?;
        prepared.set_payload(&meta.to_payload());
        prepared.commit().or_store()?;
        self.reader.reload().or_store()?;
        // Freeing a large batch of documents takes a while: let another thread do it.
        let written = std::mem::take(&mut self.pending);
        if written.len() > 1_000 {
            let _ = std::thread::Builder::new()
                .name("store-tantivy-free".into())
                .spawn(move || drop(written));
        }
        self.dirty = false;
        self.publish();
        Ok(())
    }

    /// How many documents the last commit holds.
    pub(crate) fn committed_count(&self) -> Result<u64> {
        let n = self
            .reader
            .searcher()
            .search(&AllQuery, &Count)
            .or_store()?;
        Ok(n as u64)
    }

    /// The index directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The current document `id`: written since the last commit, or in it.
    fn current(&self, id: &str) -> Result<Option<Arc<Entry>>> {
        if let Some(entry) = self.pending.get(id) {
            return Ok(entry.clone());
        }
        Ok(committed(&self.reader.searcher(), &self.fields, id)?.map(Arc::new))
    }

    /// The live document (real time).
    pub(crate) fn get(&self, id: &str) -> Result<Option<StoredDoc>> {
        Ok(self.current(id)?.map(|e| stored(id, &e)))
    }

    /// Applies each operation in order, independently of the others.
    pub(crate) fn bulk(&mut self, ops: Vec<BulkOp>) -> BulkReport {
        run_bulk(self, ops, BACKEND)
    }

    fn apply_mapping(&mut self, additions: Additions) {
        if !additions.is_empty() {
            Arc::make_mut(&mut self.mapping).apply(additions);
            self.publish();
        }
    }

    /// Replaces whatever `id` holds with `source`: a delete of the id when it holds a live
    /// document (`replaces`), then an add.
    fn put(
        &mut self,
        id: &str,
        source: Document,
        fields: &std::collections::BTreeMap<String, FieldData>,
        replaces: bool,
    ) -> Result<DocVersion> {
        check_terms(fields)?;
        self.seq_no += 1;
        let version = DocVersion {
            seq_no: self.seq_no,
            primary_term: self.primary_term,
        };
        let doc = build_doc(&self.fields, id, &source, version, fields);
        // No live document means nothing to delete: a delete queued for a dead id costs a
        // term lookup in every segment at the next commit.
        if replaces {
            self.writer
                .delete_term(Term::from_field_text(self.fields.id, id));
        }
        self.writer.add_document(doc).or_store()?;
        self.pending
            .insert(id.to_owned(), Some(Arc::new(Entry { source, version })));
        self.dirty = true;
        Ok(version)
    }

    fn refresh_if(&mut self, options: IndexOptions) -> Result<()> {
        if options.refresh {
            self.commit()?;
        }
        Ok(())
    }
}

/// The single writes of the index; an update merges nested maps deeply and replaces other values.
impl BulkWriter for Writer {
    fn index(&mut self, id: &str, doc: Document, options: IndexOptions) -> Result<DocVersion> {
        validate_write(id, options)?;
        let indexed = self.mapping.index_document_as(&doc, TextForm::Whole)?;
        let existing = self.current(id)?;
        if options.op_type == OpType::Create && existing.is_some() {
            return Err(StoreError::already_exists(format!(
                "a document with id `{id}` already exists"
            )));
        }
        let replaces = existing.is_some();
        check_version(id, existing.map(|e| e.version), options)?;
        self.apply_mapping(indexed.additions);
        let version = self.put(id, doc, &indexed.fields, replaces)?;
        self.refresh_if(options)?;
        Ok(version)
    }

    fn update(&mut self, id: &str, partial: Document, options: IndexOptions) -> Result<DocVersion> {
        validate_id(id)?;
        let existing = self.current(id)?.ok_or_else(|| {
            StoreError::not_found(format!("no document with id `{id}` to update"))
        })?;
        check_version(id, Some(existing.version), options)?;
        let mut merged = existing.source.clone();
        deep_merge(&mut merged, partial);
        if merged == existing.source {
            // Like OpenSearch's `detect_noop`: nothing changes, not even the version.
            self.refresh_if(options)?;
            return Ok(existing.version);
        }
        let indexed = self.mapping.index_document_as(&merged, TextForm::Whole)?;
        self.apply_mapping(indexed.additions);
        let version = self.put(id, merged, &indexed.fields, true)?;
        self.refresh_if(options)?;
        Ok(version)
    }

    fn delete(&mut self, id: &str, options: IndexOptions) -> Result<bool> {
        validate_id(id)?;
        let existing = self.current(id)?;
        check_version(id, existing.as_ref().map(|e| e.version), options)?;
        let existed = existing.is_some();
        if existed {
            self.seq_no += 1;
            self.writer
                .delete_term(Term::from_field_text(self.fields.id, id));
            self.pending.insert(id.to_owned(), None);
            self.dirty = true;
        }
        self.refresh_if(options)?;
        Ok(existed)
    }
}

/// The document `id` in the commit `searcher` reads.
pub(crate) fn committed(searcher: &Searcher, fields: &Fields, id: &str) -> Result<Option<Entry>> {
    let term = Term::from_field_text(fields.id, id);
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let inverted = segment.inverted_index(fields.id).or_store()?;
        let Some(mut postings) = inverted
            .read_postings(&term, IndexRecordOption::Basic)
            .or_store()?
        else {
            continue;
        };
        let mut doc = postings.doc();
        while doc != TERMINATED {
            if !segment.is_deleted(doc) {
                let found: TantivyDocument =
                    searcher.doc(DocAddress::new(ord as u32, doc)).or_store()?;
                return entry_of(&found, fields).map(|(_, e)| Some(e));
            }
            doc = postings.advance();
        }
    }
    Ok(None)
}

/// `entry` as `get` returns it.
pub(crate) fn stored(id: &str, entry: &Entry) -> StoredDoc {
    StoredDoc {
        id: id.to_owned(),
        source: entry.source.clone(),
        version: entry.version,
    }
}

/// The id and entry of a stored tantivy document.
pub(crate) fn entry_of(doc: &TantivyDocument, f: &Fields) -> Result<(String, Entry)> {
    let damaged = |what: &str| StoreError::internal(format!("a stored document lacks its {what}"));
    let id = doc
        .get_first(f.id)
        .and_then(|v| v.as_str().map(str::to_owned))
        .ok_or_else(|| damaged("_id"))?;
    // Text in new indexes, bytes in indexes from before (see `Fields::source_text`).
    let source = doc
        .get_first(f.source)
        .and_then(|v| v.as_str().map(str::as_bytes).or_else(|| v.as_bytes()))
        .ok_or_else(|| damaged("_source"))?;
    let seq_no = doc
        .get_first(f.seq_no)
        .and_then(|v| v.as_u64())
        .ok_or_else(|| damaged("_seq_no"))?;
    let primary_term = doc
        .get_first(f.primary_term)
        .and_then(|v| v.as_u64())
        .ok_or_else(|| damaged("_primary_term"))?;
    Ok((
        id,
        Entry {
            source: crate::source::decode(source)?,
            version: DocVersion {
                seq_no,
                primary_term,
            },
        },
    ))
}

type Job = Box<dyn FnOnce(&mut Writer) + Send>;

/// The handle on a writer thread: sends it jobs, reads the views it publishes.
pub(crate) struct Actor {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    view: Arc<RwLock<Arc<View>>>,
    dir: PathBuf,
}

impl Actor {
    /// Starts the thread that owns `writer`.
    pub(crate) fn spawn(mut writer: Writer) -> Result<Self> {
        let (jobs, incoming) = mpsc::channel::<Job>();
        let view = writer.view();
        let dir = writer.dir().to_owned();
        let thread = std::thread::Builder::new()
            .name(format!("store-tantivy-writer-{}", writer.name))
            .spawn(move || {
                for job in incoming {
                    job(&mut writer);
                }
                // The last handle is gone (or the index is closed or dropped).
                writer.finish();
            })
            .map_err(|e| io_error("start the writer thread of", &dir, &e))?;
        Ok(Self {
            jobs: Mutex::new(Some(jobs)),
            thread: Mutex::new(Some(thread)),
            view,
            dir,
        })
    }

    /// Runs `f` on the writer thread, after every job sent before it.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Writer) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |writer| {
            let _ = reply.send(f(writer));
        });
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|jobs| jobs.send(job).is_ok())
            .unwrap_or(false);
        if !sent {
            return Err(self.stopped());
        }
        answer.await.map_err(|_| self.stopped())?
    }

    fn stopped(&self) -> StoreError {
        StoreError::unavailable(format!(
            "the writer of the search index in {} has stopped (closed, or a write panicked)",
            self.dir.display()
        ))
        .with_backend(BACKEND)
    }

    /// What searches read now.
    pub(crate) fn view(&self) -> Arc<View> {
        self.view
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops the thread once its queued jobs ran and waits for it (blocking): the directory
    /// lock is released when this returns.
    pub(crate) fn shutdown(&self) {
        drop(
            self.jobs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}
