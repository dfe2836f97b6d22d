//! Objects between object stores: copy, sync and check of everything under a prefix.
//!
//! Listing is in key order; bodies stream from one store into the other, so memory stays
//! bounded by the concurrency, not the object sizes. Two objects are the same when their sizes
//! match, their contents have the same SHA-256 (entity tags are compared instead only when
//! both stores are the same backend, where equal tags mean equal bytes), and they carry the
//! same content type and user metadata (see `described` for what stores may differ in).

mod copy_sink;
mod described;
mod merge;
mod ordered;
mod sizing;

pub use copy_sink::ObjectCopySink;

pub(crate) use sizing::{count, count_after};

use std::sync::Arc;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest as _, Sha256};
use store_core::object::{GetOptions, ListOptions, ObjectMeta, PutOptions};
use store_core::{ObjectKey, ObjectStore, Result, StoreError};

use self::described::described_alike;
use self::merge::{Found, merge};
use crate::check::Differences;
use crate::digest::{CollectionDigest, RecordDigest};
use crate::progress::{Event, Progress, with_size_beside};
use crate::spill::{SpillLog, SpillOptions};

/// Everything under a prefix of an object store.
#[derive(Debug, Clone)]
pub struct ObjectLocation {
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// The key prefix (empty for the whole bucket).
    pub prefix: String,
    /// What to call it in messages.
    pub label: String,
}

impl ObjectLocation {
    /// Everything under `prefix` of `store`.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        prefix: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Self {
            store,
            prefix: prefix.into(),
            label: label.into(),
        }
    }

    fn relative<'k>(&self, key: &'k str) -> &'k str {
        key.strip_prefix(self.prefix.as_str()).unwrap_or(key)
    }

    /// Whether a listed object is under the prefix rather than the prefix's own folder
    /// marker: an empty object keyed by the prefix itself (`photos/`, as S3's console makes
    /// for a folder) holds nothing and has no key relative to the prefix, so it is not part
    /// of the location. One that holds bytes is refused rather than left out unseen.
    fn under_prefix(&self, meta: &ObjectMeta) -> Result<bool> {
        if self.prefix.is_empty() || meta.key.as_str() != self.prefix {
            return Ok(true);
        }
        if meta.size == 0 {
            return Ok(false);
        }
        Err(StoreError::invalid_input(format!(
            "{}: the object keyed `{}` is the prefix itself and holds {} bytes; it has no key \
             under the prefix, so it cannot be copied or compared with it: move it, or use the \
             location of the folder above",
            self.label, self.prefix, meta.size
        )))
    }

    pub(crate) fn key_for(&self, relative: &str) -> Result<ObjectKey> {
        ObjectKey::new(format!("{}{relative}", self.prefix))
    }

    /// Every object's metadata, by key relative to the prefix, in key order (a listing that
    /// goes backwards ends with an error naming this location): the objects a copy, sync,
    /// check or backup of this location takes, without the prefix's own folder marker.
    pub fn listing_stream(&self) -> BoxStream<'_, Result<(String, ObjectMeta)>> {
        self.listing_after(None)
    }

    /// [`listing_stream`](Self::listing_stream) from the first key after `after` (a key
    /// relative to the prefix). A store that lists keys up to `after` anyway (one that
    /// ignores `start_after`) has them skipped.
    pub(crate) fn listing_after(
        &self,
        after: Option<&str>,
    ) -> BoxStream<'_, Result<(String, ObjectMeta)>> {
        let mut options = ListOptions::new();
        if !self.prefix.is_empty() {
            options = options.prefix(self.prefix.clone());
        }
        if let Some(after) = after {
            options = options.start_after(format!("{}{after}", self.prefix));
        }
        let after = after.map(str::to_owned);
        let entries = self
            .store
            .list(options)
            .try_filter_map(|entry| {
                let kept = match entry.as_object() {
                    Some(meta) => self
                        .under_prefix(meta)
                        .map(|under| under.then(|| meta.clone())),
                    None => Ok(None),
                };
                futures::future::ready(kept)
            })
            .map_ok(|meta| (self.relative(meta.key.as_str()).to_owned(), meta))
            .try_skip_while(move |(relative, _)| {
                let done = after
                    .as_deref()
                    .is_some_and(|after| relative.as_str() <= after);
                futures::future::ready(Ok(done))
            });
        ordered::in_key_order(&self.label, entries)
            // Ended listings may be asked again (a merge reads ahead): fused, they answer None.
            .fuse()
            .boxed()
    }

    /// The object's metadata as a read of it gives them (a listing, S3's for one, may leave
    /// out the content type and user metadata) and the SHA-256 of its content.
    pub(crate) async fn read_content(&self, key: &ObjectKey) -> Result<(ObjectMeta, [u8; 32])> {
        let got = self.store.get(key, GetOptions::new()).await?;
        let mut hasher = Sha256::new();
        let mut body = got.body;
        while let Some(chunk) = body.try_next().await? {
            hasher.update(&chunk);
        }
        Ok((got.meta, hasher.finalize().into()))
    }
}

/// How objects move.
#[derive(Debug, Clone)]
pub struct ObjectTransferOptions {
    /// Skip objects the destination already has with the same content (`sync`); off copies
    /// everything (`copy`).
    pub skip_unchanged: bool,
    /// Delete destination objects the source does not have.
    pub delete: bool,
    /// Refuse to delete more than this many objects. With `delete`, the transfer first counts
    /// as a dry run does (listing both sides once more) and refuses before writing anything.
    pub max_delete: Option<u64>,
    /// Only count; write nothing.
    pub dry_run: bool,
    /// Objects in flight at once.
    pub concurrency: usize,
    /// How many keys of destination objects to delete are held in memory, and where the
    /// rest spill.
    pub spill: SpillOptions,
}

impl Default for ObjectTransferOptions {
    fn default() -> Self {
        Self {
            skip_unchanged: true,
            delete: false,
            max_delete: None,
            dry_run: false,
            concurrency: 8,
            spill: SpillOptions::default(),
        }
    }
}

/// What a transfer did (or would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectTransferReport {
    /// Objects written.
    pub copied: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Objects left alone because they were equal.
    pub unchanged: u64,
    /// Objects deleted from the destination.
    pub deleted: u64,
    /// Destination objects the source lacks, kept because `delete` was off.
    pub extra_kept: u64,
}

/// Copies (or syncs) every object under `from` to the same relative key under `to`.
///
/// Both listings are walked together in key order, so memory is bounded by the concurrency
/// (and the keys to delete, which spill past `options.spill`), not the number of objects.
pub async fn transfer_objects(
    from: &ObjectLocation,
    to: &ObjectLocation,
    options: &ObjectTransferOptions,
    progress: &dyn Progress,
) -> Result<ObjectTransferReport> {
    refuse_overlap(from, to)?;
    if options.delete && options.max_delete.is_some() && !options.dry_run {
        // Counted first, writing nothing: refused for what it would delete, a sync writes
        // nothing at all.
        let counting = ObjectTransferOptions {
            dry_run: true,
            ..options.clone()
        };
        Box::pin(transfer_objects(from, to, &counting, &crate::Silent)).await?;
    }
    progress.event(&Event::Started {
        source: from.label.clone(),
        sink: to.label.clone(),
        resumed_records: 0,
        estimated_total: None,
    });
    // The source's size, counted beside the copy for an estimate of what is left; a copy
    // done first drops the count, before any deletes. A dry run, which reads no body, is
    // over too soon to need it.
    let counting = !options.dry_run && progress.wants_source_size();
    let size = async move {
        if counting {
            sizing::count(from).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let copying = copy_each(from, to, options, progress);
    let (mut report, mut extras, extra) = with_size_beside(progress, size, copying).await?;
    if !options.delete {
        report.extra_kept = extra;
        return Ok(report);
    }
    crate::sync::within_max_delete(extra, options.max_delete, "objects", &to.label)?;
    report.deleted = extra;
    if !options.dry_run {
        let mut extras = extras.read()?;
        loop {
            let chunk = extras.chunk(1_000)?;
            if chunk.is_empty() {
                break;
            }
            if let Some(failure) = to.store.delete_many(&chunk).await?.into_iter().next() {
                return Err(failure.error);
            }
        }
    }
    Ok(report)
}

/// Copies what [`transfer_objects`] copies, reporting objects and bytes done; returns the
/// report so far, the destination's extra keys (kept only when they will be deleted) and
/// how many there are.
async fn copy_each(
    from: &ObjectLocation,
    to: &ObjectLocation,
    options: &ObjectTransferOptions,
    progress: &dyn Progress,
) -> Result<(ObjectTransferReport, SpillLog<ObjectKey>, u64)> {
    let same_backend = from.store.backend() == to.store.backend();
    let mut report = ObjectTransferReport::default();
    // The keys to delete are kept only when they will be; otherwise only counted.
    let keep_extras = options.delete && !options.dry_run;
    let mut extras = SpillLog::<ObjectKey>::new(&options.spill);
    let mut extra = 0u64;
    let mut done = sizing::Done::new(progress);
    let outcomes = merge(from, to)
        .map_ok(|(relative, found)| async move {
            let mine = match found {
                Found::Right(theirs) => return Ok(Moved::Extra(theirs.key)),
                Found::Both(mine, theirs)
                    if options.skip_unchanged
                        && equal(from, &mine, to, &theirs, same_backend).await? =>
                {
                    return Ok(Moved::Unchanged(mine.size));
                }
                Found::Both(mine, _) | Found::Left(mine) => mine,
            };
            if !options.dry_run {
                copy_object(from, to, &relative).await?;
            }
            Ok(Moved::Copied(mine.size))
        })
        .try_buffer_unordered(options.concurrency.max(1));
    futures::pin_mut!(outcomes);
    while let Some(outcome) = outcomes.try_next().await? {
        match outcome {
            Moved::Extra(key) => {
                extra += 1;
                if keep_extras {
                    extras.push(key)?;
                }
            }
            Moved::Unchanged(size) => {
                report.unchanged += 1;
                done.add(size);
            }
            Moved::Copied(size) => {
                report.copied += 1;
                report.bytes += size;
                done.add(size);
            }
        }
    }
    done.report();
    Ok((report, extras, extra))
}

/// Copies the object at `relative` under `from` to the same relative key under `to`, with
/// its content type and user metadata, streaming the body; returns the bytes written.
pub(crate) async fn copy_object(
    from: &ObjectLocation,
    to: &ObjectLocation,
    relative: &str,
) -> Result<u64> {
    let got = from
        .store
        .get(&from.key_for(relative)?, GetOptions::new())
        .await?;
    let mut put = PutOptions::new();
    put.content_type = got.meta.content_type.clone();
    put.metadata = got.meta.metadata.clone();
    let size = got.meta.size;
    to.store
        .put_stream(&to.key_for(relative)?, got.body, put)
        .await?;
    Ok(size)
}

/// Refuses two locations of one store where one holds the other: a copy would list what it
/// writes (copying `b/` into `b/backup/` copies `backup/a` again, without end), and a sync
/// with `--delete` would delete its own source.
pub(crate) fn refuse_overlap(from: &ObjectLocation, to: &ObjectLocation) -> Result<()> {
    let same_store = Arc::ptr_eq(&from.store, &to.store)
        || (from.store.backend() == to.store.backend()
            && from.store.bucket_name().is_some()
            && from.store.bucket_name() == to.store.bucket_name());
    if same_store && (from.prefix.starts_with(&to.prefix) || to.prefix.starts_with(&from.prefix)) {
        return Err(StoreError::invalid_input(format!(
            "{} and {} overlap (one holds the other): copy or sync to a prefix outside the source",
            from.label, to.label
        )));
    }
    Ok(())
}

/// What became of one relative key.
enum Moved {
    /// Only the destination has it.
    Extra(ObjectKey),
    /// Both have it, alike, this many bytes.
    Unchanged(u64),
    /// Copied (or, in a dry run, would be), this many bytes.
    Copied(u64),
}

async fn equal(
    from: &ObjectLocation,
    mine: &ObjectMeta,
    to: &ObjectLocation,
    theirs: &ObjectMeta,
    same_backend: bool,
) -> Result<bool> {
    if mine.size != theirs.size {
        return Ok(false);
    }
    if same_backend && let (Some(a), Some(b)) = (&mine.etag, &theirs.etag) {
        if a != b {
            return Ok(false);
        }
        // Equal tags mean equal bytes, not an equal description (S3 keeps an object's tag
        // when only its metadata is replaced); a listing may not carry it, a head does.
        let (mine, theirs) =
            futures::try_join!(from.store.head(&mine.key), to.store.head(&theirs.key))?;
        return Ok(described_alike(&theirs, &mine));
    }
    let ((mine, a), (theirs, b)) =
        futures::try_join!(from.read_content(&mine.key), to.read_content(&theirs.key))?;
    Ok(a == b && described_alike(&theirs, &mine))
}

/// What [`check_objects`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCheckReport {
    /// The first location's digest (over relative keys and content SHA-256s) and count.
    pub left: CollectionDigest,
    /// The second location's.
    pub right: CollectionDigest,
    /// Keys only the first has.
    pub only_left: Differences,
    /// Keys only the second has.
    pub only_right: Differences,
    /// Keys whose contents differ, or whose content types (where both have one) or user
    /// metadata do.
    pub differing: Differences,
    /// Those of `differing` whose contents are the same: only their content type or user
    /// metadata differ (so the digests, over keys and contents, may be equal).
    pub metadata_only: Differences,
}

impl ObjectCheckReport {
    /// Whether both hold the same objects with the same bytes and descriptions.
    pub fn is_equal(&self) -> bool {
        self.only_left.count == 0 && self.only_right.count == 0 && self.differing.count == 0
    }
}

/// Compares every object under two locations by relative key and content, walking both
/// listings together in key order (memory bounded by the concurrency).
pub async fn check_objects(
    left: &ObjectLocation,
    right: &ObjectLocation,
    concurrency: usize,
) -> Result<ObjectCheckReport> {
    let mut report = ObjectCheckReport {
        left: CollectionDigest::default(),
        right: CollectionDigest::default(),
        only_left: Differences::default(),
        only_right: Differences::default(),
        differing: Differences::default(),
        metadata_only: Differences::default(),
    };
    let hashed = merge(left, right)
        .map_ok(|(relative, found)| async move {
            let (a, b) = match &found {
                Found::Both(a, b) => {
                    let (a, b) = futures::try_join!(
                        digest(left, &relative, a),
                        digest(right, &relative, b)
                    )?;
                    (Some(a), Some(b))
                }
                Found::Left(a) => (Some(digest(left, &relative, a).await?), None),
                Found::Right(b) => (None, Some(digest(right, &relative, b).await?)),
            };
            Ok::<_, StoreError>((relative, a, b))
        })
        .try_buffer_unordered(concurrency.max(1));
    futures::pin_mut!(hashed);
    while let Some((relative, a, b)) = hashed.try_next().await? {
        if let Some((a, _)) = &a {
            report.left.add(a);
        }
        if let Some((b, _)) = &b {
            report.right.add(b);
        }
        match (a, b) {
            (Some((a, _)), Some((b, _))) if a != b => report.differing.add(&relative),
            (Some((_, said_a)), Some((_, said_b))) if !described_alike(&said_a, &said_b) => {
                report.differing.add(&relative);
                report.metadata_only.add(&relative);
            }
            (Some(_), None) => report.only_left.add(&relative),
            (None, Some(_)) => report.only_right.add(&relative),
            _ => {}
        }
    }
    Ok(report)
}

/// An object's digest (over its relative key and the SHA-256 of its content, which stores of
/// any backend agree on) and its metadata as a read gives them.
async fn digest(
    location: &ObjectLocation,
    relative: &str,
    meta: &ObjectMeta,
) -> Result<(RecordDigest, ObjectMeta)> {
    let (read, content) = location.read_content(&meta.key).await?;
    let mut hasher = Sha256::new();
    hasher.update(relative.as_bytes());
    hasher.update([0]);
    hasher.update(content);
    Ok((RecordDigest(hasher.finalize().into()), read))
}
