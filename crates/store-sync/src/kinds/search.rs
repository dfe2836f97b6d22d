//! A search index ([`SearchIndex`]) as a source and a sink.
//!
//! Reading goes through every document sorted by `_id` (or, on OpenSearch and Elasticsearch,
//! by `_seq_no` then `_id`: [`ReadOrder`]) with `search_after`. A backend with a consistent view
//! (OpenSearch's point in time) plugs in a [`Scanner`] for fresh reads, or a [`SliceScanner`]
//! that reads slices at once, each batch's cursor holding where every slice stands; a resumed
//! read continues in its checkpoint's order (or slices) from where the checkpoint stands. Writing is bulk indexing with the
//! record key's canonical text as `_id`, so a record written twice is one document; on an index
//! whose acknowledged writes are not yet durable (`durable_writes` unset: store-tantivy commits on
//! refresh) each batch is refreshed before it counts as written.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use store_core::search::{
    BulkOp, Hit, IndexSpec, SearchIndex, SearchQuery, SearchRequest, validate_id,
};
use store_core::{Result, StoreError};

use crate::batch_bytes::{PageSizer, chunks_within};
use crate::digest::Comparison;
use crate::record::{Record, RecordKey};
use crate::schema::CollectionSchema;
use crate::sink::{Receipt, RecordSink, refused_record};
use crate::source::{Batch, Partition, RecordSource};

mod key_types;
mod order;
mod sliced;

pub use order::ReadOrder;
pub use sliced::{SliceScanner, SlicedHit};

use key_types::KeyTypes;
use sliced::SlicePositions;

/// Reads every hit of a request (in its sort) from one consistent view of the index.
pub type Scanner = Arc<dyn Fn(SearchRequest) -> BoxStream<'static, Result<Hit>> + Send + Sync>;

/// A search index as a collection of records.
#[derive(Clone)]
pub struct SearchCollection {
    index: Arc<dyn SearchIndex>,
    label: String,
    key_fields: Vec<String>,
    scanner: Option<Scanner>,
    /// Reads in slices at once, and how many slices a fresh read takes.
    slicing: Option<(SliceScanner, usize)>,
    /// The key types of the records written so far, which every record must keep.
    key_types: KeyTypes,
    order: ReadOrder,
    spec: Option<IndexSpec>,
}

impl std::fmt::Debug for SearchCollection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchCollection")
            .field("label", &self.label)
            .field("key_fields", &self.key_fields)
            .field("scanner", &self.scanner.is_some())
            .field("slices", &self.slicing.as_ref().map(|(_, n)| *n))
            .field("order", &self.order)
            .finish()
    }
}

impl SearchCollection {
    /// The index behind `index`, keyed by document id; `label` names it in messages.
    pub fn new(index: Arc<dyn SearchIndex>, label: impl Into<String>) -> Self {
        Self {
            index,
            label: label.into(),
            key_fields: Vec::new(),
            scanner: None,
            slicing: None,
            key_types: KeyTypes::default(),
            order: ReadOrder::Id,
            spec: None,
        }
    }

    /// Creates a missing index with `spec` instead of the default (see [`default_spec`]).
    pub fn create_with(mut self, spec: IndexSpec) -> Self {
        self.spec = Some(spec);
        self
    }

    /// Keys records by these source fields instead of the document id (copying into a table or
    /// document store keyed by them). The id of a document written here is then the canonical
    /// text of those fields.
    pub fn key_fields(mut self, fields: Vec<String>) -> Self {
        self.key_fields = fields;
        self
    }

    /// Reads fresh (not resumed) scans through `scanner`, e.g. a point in time.
    pub fn scanner(mut self, scanner: Scanner) -> Self {
        self.scanner = Some(scanner);
        self
    }

    /// Reads fresh scans in [`ReadOrder::SeqNo`] through `scanner` in `slices` slices at once
    /// (the server reads them in parallel: a read the server's time bounds takes about
    /// 1/`slices` of it), each batch's cursor holding where every slice stands; a resumed read
    /// starts each slice after its own last hit. Takes the place of
    /// [`scanner`](Self::scanner) for fresh reads in that order.
    pub fn slice_scanner(mut self, scanner: SliceScanner, slices: usize) -> Self {
        self.slicing = Some((scanner, slices.max(1)));
        self
    }

    /// Reads fresh scans in `order` ([`ReadOrder::Id`] unless set); only an index that sorts
    /// by `_seq_no` (OpenSearch, Elasticsearch) takes [`ReadOrder::SeqNo`].
    pub fn read_order(mut self, order: ReadOrder) -> Self {
        self.order = order;
        self
    }

    /// How its values compare: with their types where the index gives the source back as
    /// written (store-tantivy, the in-memory index), as JSON where it gives JSON back
    /// (OpenSearch: bytes come back as base64 text). Keyed by `_id`, its keys are text.
    fn values_compare(&self) -> Comparison {
        match (
            self.index.capabilities().typed_source,
            self.key_fields.is_empty(),
        ) {
            (false, _) => Comparison::Json,
            (true, true) => Comparison::TypedValues,
            (true, false) => Comparison::Typed,
        }
    }

    /// Makes the writes so far durable where an acknowledged write is not yet (an index that
    /// commits on refresh, as store-tantivy's does): a batch counts as written only then.
    async fn made_durable(&self) -> Result<()> {
        if self.index.capabilities().durable_writes {
            return Ok(());
        }
        self.index.refresh().await
    }

    /// The batches of a read in slices from `positions` on, each with the cursor of where
    /// every slice stands after it. Each slice asks for pages of at most `batch_size` (the
    /// scanner may size them smaller, by their bytes).
    fn read_sliced(
        &self,
        partition: Partition,
        mut positions: SlicePositions,
        batch_size: usize,
    ) -> BoxStream<'_, Result<Batch>> {
        let Some((scanner, _)) = &self.slicing else {
            let e = StoreError::invalid_input(format!(
                "the checkpoint of {} was taken by a read in slices, which this reader of it \
                 does not do: restart the job",
                self.label
            ));
            return futures::stream::iter([Err(e)]).boxed();
        };
        let page = batch_size.clamp(1, 10_000);
        let mut request = SearchRequest::new(SearchQuery::MatchAll).size(page);
        request.sort = ReadOrder::SeqNo.sort();
        let (scanner, starts) = (scanner.clone(), positions.starts());
        let hits = after_refresh(self.index.clone(), move |_| scanner(request, starts));
        let size = |sliced: &SlicedHit| sliced.hit.source.approximate_size();
        chunks_within(hits, batch_size, size)
            .map(move |chunk| {
                let mut records = Vec::with_capacity(chunk.len());
                for item in chunk {
                    let SlicedHit {
                        slice,
                        slices,
                        mut hit,
                    } = item?;
                    positions.advance(slice, slices, std::mem::take(&mut hit.sort))?;
                    if partition.holds_id(&hit.id) {
                        records.push(self.record(hit)?);
                    }
                }
                Ok(Batch {
                    records,
                    resume: Some(positions.cursor()?),
                })
            })
            .boxed()
    }

    fn record(&self, hit: Hit) -> Result<Record> {
        if self.key_fields.is_empty() {
            Ok(Record {
                key: RecordKey::id_only(hit.id),
                doc: hit.source,
            })
        } else {
            Record::from_document(hit.source, &self.key_fields)
        }
    }
}

#[async_trait]
impl RecordSource for SearchCollection {
    fn describe(&self) -> String {
        self.label.clone()
    }

    fn comparison(&self) -> Comparison {
        self.values_compare()
    }

    async fn schema(&self) -> Result<CollectionSchema> {
        if !self.index.exists().await? {
            return Err(StoreError::not_found(format!(
                "index `{}` does not exist in {}",
                self.index.name().as_str(),
                self.label
            )));
        }
        Ok(CollectionSchema::Search {
            name: self.index.name().as_str().to_owned(),
            key_fields: self.key_fields.clone(),
        })
    }

    async fn estimated_count(&self) -> Result<Option<u64>> {
        self.index.refresh().await?;
        Ok(Some(self.index.count(&SearchQuery::MatchAll).await?))
    }

    fn read(
        &self,
        partition: Partition,
        resume: Option<String>,
        batch_size: usize,
    ) -> BoxStream<'_, Result<Batch>> {
        // A resumed read keeps the way its cursor was taken: in slices, or in one order.
        let sliced = match resume.as_deref().map(SlicePositions::resume) {
            Some(Some(positions)) => Some(positions),
            Some(None) => None,
            None => self
                .slicing
                .as_ref()
                .filter(|_| self.order == ReadOrder::SeqNo)
                .map(|(_, slices)| Ok(SlicePositions::new(*slices))),
        };
        match sliced {
            Some(Ok(positions)) => return self.read_sliced(partition, positions, batch_size),
            Some(Err(e)) => return futures::stream::iter([Err(e)]).boxed(),
            None => {}
        }
        let (order, after) = match resume.as_deref().map(ReadOrder::resume).transpose() {
            Ok(Some((order, after))) => (order, Some(after)),
            Ok(None) => (self.order, None),
            Err(e) => return futures::stream::iter([Err(e)]).boxed(),
        };
        let mut request =
            SearchRequest::new(SearchQuery::MatchAll).size(batch_size.clamp(1, 10_000));
        // Pages of `search_after` are sized by the documents read so far (a scanner pages as
        // its backend does).
        let sizer = PageSizer::new(batch_size.clamp(1, 10_000));
        request.sort = order.sort();
        let hits: BoxStream<'_, Result<Hit>> = match (&self.scanner, after) {
            (Some(scanner), None) => scanner(request),
            (_, after) => {
                request.search_after = after;
                after_refresh(self.index.clone(), move |index| {
                    owned_search_all(index, request, sizer)
                })
            }
        };
        chunks_within(hits, batch_size, |hit: &Hit| hit.source.approximate_size())
            .map(move |chunk| {
                let mut records = Vec::with_capacity(chunk.len());
                let mut last = None;
                let count = chunk.len();
                for (i, hit) in chunk.into_iter().enumerate() {
                    let hit = hit?;
                    // Only the batch's last hit says where a resumed read goes on.
                    if i + 1 == count {
                        last = Some(order.cursor(&hit)?);
                    }
                    if partition.holds_id(&hit.id) {
                        records.push(self.record(hit)?);
                    }
                }
                Ok(Batch {
                    records,
                    resume: last,
                })
            })
            .boxed()
    }
}

/// The index a sink creates when none exists: dynamic mapping, with every number mapped as
/// `double` (not `long`, not `float`). Records copied from tables and document stores hold
/// decimals of up to 38 digits and exponents up to 125, which a `long` or `float` field
/// refuses, whichever value happens to arrive first; `_source` keeps every digit either way,
/// and only range queries and sorts on such fields are as precise as a double. Pass your own
/// mapping with [`SearchCollection::create_with`] when you know the fields.
pub fn default_spec() -> IndexSpec {
    IndexSpec {
        raw_mappings: Some(serde_json::json!({
            "dynamic": true,
            "dynamic_templates": [
                {
                    "whole_numbers_as_double": {
                        "match_mapping_type": "long",
                        "mapping": { "type": "double" }
                    }
                },
                {
                    "fractions_as_double": {
                        "match_mapping_type": "double",
                        "mapping": { "type": "double" }
                    }
                }
            ]
        })),
        ..IndexSpec::new()
    }
}

/// The items of `read`, started once `index` is refreshed, so that what was written before
/// the read (since a cursor was taken, too) is seen.
fn after_refresh<T: Send + 'static>(
    index: Arc<dyn SearchIndex>,
    read: impl FnOnce(Arc<dyn SearchIndex>) -> BoxStream<'static, Result<T>> + Send + 'static,
) -> BoxStream<'static, Result<T>> {
    futures::stream::once(async move {
        match index.refresh().await {
            Ok(()) => read(index),
            Err(e) => futures::stream::iter([Err(e)]).boxed(),
        }
    })
    .flatten()
    .boxed()
}

/// `search_all` over an owned index handle, so the stream does not borrow the caller, each
/// page sized by `sizer` from the documents before it.
fn owned_search_all(
    index: Arc<dyn SearchIndex>,
    request: SearchRequest,
    sizer: PageSizer,
) -> BoxStream<'static, Result<Hit>> {
    let state = (index, Some(request), sizer);
    futures::stream::unfold(state, |(index, request, mut sizer)| async move {
        let mut request = request?;
        request.size = sizer.size();
        let page = match index.search(&request).await {
            Ok(page) => page,
            Err(e) => return Some((vec![Err(e)], (index, None, sizer))),
        };
        sizer.observe_page(page.hits.iter().map(|hit| &hit.source));
        let full = page.hits.len() >= request.size && request.size > 0;
        let next = match (full, page.hits.last()) {
            (true, Some(hit)) => {
                request.search_after = Some(hit.sort.clone());
                Some(request)
            }
            _ => None,
        };
        if page.hits.is_empty() {
            return None;
        }
        Some((
            page.hits.into_iter().map(Ok).collect::<Vec<_>>(),
            (index, next, sizer),
        ))
    })
    .flat_map(futures::stream::iter)
    .boxed()
}

#[async_trait]
impl RecordSink for SearchCollection {
    fn describe(&self) -> String {
        self.label.clone()
    }

    fn comparison(&self) -> Comparison {
        self.values_compare()
    }

    async fn prepare(&self, _schema: &CollectionSchema, create: bool) -> Result<()> {
        if self.index.exists().await? {
            return Ok(());
        }
        if !create {
            return Err(StoreError::not_found(format!(
                "index `{}` does not exist in {}",
                self.index.name().as_str(),
                self.label
            )));
        }
        let spec = self.spec.clone().unwrap_or_else(default_spec);
        match self.index.create(&spec).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == store_core::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Each record's `_id` is one the index takes, and its key has the types of the keys
    /// before it (a search index takes keys of one type).
    fn check_writable(&self, records: &[Record]) -> Result<()> {
        records.iter().try_for_each(|r| {
            validate_id(r.key.id()).map_err(|e| refused_record(&r.key, e))?;
            self.key_types.check(&r.key)
        })
    }

    async fn upsert(&self, records: Vec<Record>) -> Result<Receipt> {
        // Checked before any is written: a bulk writes the valid operations beside a bad one.
        self.check_writable(&records)?;
        let keyed_by_id = self.key_fields.is_empty();
        let ops = records
            .into_iter()
            .map(|r| {
                let mut doc = r.doc;
                // A record keyed by `_id` (read back from a store it was copied into) holds
                // it as an attribute; here it is the document's id, not a field of it.
                if keyed_by_id && matches!(r.key.parts(), [(name, _)] if name == "_id") {
                    doc.remove("_id");
                }
                BulkOp::Index {
                    id: r.key.id().to_owned(),
                    doc,
                }
            })
            .collect();
        let report = self.index.bulk(ops).await?;
        match report.failed.into_iter().next() {
            None => self.made_durable().await.map(|()| Receipt::Null),
            Some(failure) => Err(failure.error.with_target(failure.id)),
        }
    }

    async fn delete(&self, keys: Vec<RecordKey>) -> Result<()> {
        let ops = keys
            .iter()
            .map(|k| BulkOp::Delete {
                id: k.id().to_owned(),
            })
            .collect();
        let report = self.index.bulk(ops).await?;
        match report.failed.into_iter().find(|f| f.status != 404) {
            None => self.made_durable().await,
            Some(failure) => Err(failure.error.with_target(failure.id)),
        }
    }

    async fn finish(&self, _receipts: Vec<Receipt>) -> Result<()> {
        self.index.refresh().await
    }
}
