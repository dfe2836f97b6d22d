//! [`TantivyConfig`]: the builder of a [`TantivyIndex`].

use std::path::{Path, PathBuf};

use store_core::Result;

use crate::index::TantivyIndex;

/// The indexing memory of the writer by default: 64 MiB (tantivy flushes a segment when it is
/// used up).
pub const DEFAULT_MEMORY_BUDGET: usize = 64 * 1024 * 1024;

/// The smallest memory budget tantivy accepts per indexing thread (15 MB).
pub const MIN_MEMORY_BUDGET_PER_THREAD: usize = 15_000_000;

/// Settings of a [`TantivyIndex`], finished with [`build`](Self::build).
///
/// ```no_run
/// # async fn demo() -> store_core::Result<()> {
/// use store_tantivy::TantivyIndex;
///
/// let index = TantivyIndex::builder("data/search", "articles")
///     .memory_budget(128 << 20)
///     .indexing_threads(2)
///     .build()
///     .await?;
/// # let _ = index; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TantivyConfig {
    pub(crate) root: PathBuf,
    pub(crate) name: String,
    pub(crate) memory_budget: usize,
    pub(crate) threads: usize,
    pub(crate) read_only: bool,
}

impl TantivyConfig {
    /// Settings for the index `name` in the directory `root/name`, with a 64 MiB indexing
    /// budget and one indexing thread.
    pub fn new(root: impl AsRef<Path>, name: &str) -> Self {
        Self {
            root: root.as_ref().to_path_buf(),
            name: name.to_owned(),
            memory_budget: DEFAULT_MEMORY_BUDGET,
            threads: 1,
            read_only: false,
        }
    }

    /// Bytes of indexing memory for the writer, shared by its threads (at least
    /// [`MIN_MEMORY_BUDGET_PER_THREAD`] each; less is raised to that).
    pub fn memory_budget(mut self, bytes: usize) -> Self {
        self.memory_budget = bytes;
        self
    }

    /// Opens the index for reading only: no writer and not its lock, so it opens beside
    /// a process writing the index (where a second writer is `Conflict`). Reads see the last
    /// commit as of opening, and [`refresh`](store_core::SearchIndex::refresh) moves them to
    /// the newest; writes, `create` and `drop_index` are `Unsupported`. The index must exist
    /// (`NotFound` otherwise).
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// How many threads index documents (1 by default; documents of one thread keep their
    /// order in the segments).
    pub fn indexing_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// The directory of the index: `root/name`.
    pub fn dir(&self) -> PathBuf {
        self.root.join(&self.name)
    }

    /// Opens a handle on the index (on a blocking thread): when the directory holds an index,
    /// opens it for writing now, so a second writer fails here with `Conflict`; otherwise the
    /// index is created by [`create`](store_core::SearchIndex::create) or by the first write.
    /// With [`read_only`](Self::read_only), opens it for reading.
    pub async fn build(mut self) -> Result<TantivyIndex> {
        self.memory_budget = self
            .memory_budget
            .max(MIN_MEMORY_BUDGET_PER_THREAD * self.threads);
        TantivyIndex::with_config(self).await
    }
}
