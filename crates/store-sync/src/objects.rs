//! Objects between object stores: copy, sync and check of everything under a prefix.
//!
//! Listing is in key order; bodies stream from one store into the other, so memory stays
//! bounded by the concurrency, not the object sizes. Two objects are the same when their sizes
//! match and their contents have the same SHA-256 (entity tags are compared instead only when
//! both stores are the same backend, where equal tags mean equal bytes).

use std::collections::HashMap;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use sha2::{Digest as _, Sha256};
use store_core::object::{GetOptions, ListOptions, ObjectMeta, PutOptions};
use store_core::{ObjectKey, ObjectStore, Result, StoreError};

use crate::check::Differences;
use crate::digest::{CollectionDigest, RecordDigest};
use crate::progress::{Event, Progress};

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

    pub(crate) fn key_for(&self, relative: &str) -> Result<ObjectKey> {
        ObjectKey::new(format!("{}{relative}", self.prefix))
    }

    /// Every object's metadata, by key relative to the prefix.
    pub(crate) async fn listing(&self) -> Result<Vec<(String, ObjectMeta)>> {
        let mut options = ListOptions::new();
        if !self.prefix.is_empty() {
            options = options.prefix(self.prefix.clone());
        }
        self.store
            .list(options)
            .try_filter_map(|entry| async move { Ok(entry.as_object().cloned()) })
            .map_ok(|meta| (self.relative(meta.key.as_str()).to_owned(), meta))
            .try_collect()
            .await
    }

    pub(crate) async fn content_sha256(&self, key: &ObjectKey) -> Result<[u8; 32]> {
        Ok(self.read_content(key).await?.1)
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
    /// Refuse to delete more than this many objects.
    pub max_delete: Option<u64>,
    /// Only count; write nothing.
    pub dry_run: bool,
    /// Objects in flight at once.
    pub concurrency: usize,
}

impl Default for ObjectTransferOptions {
    fn default() -> Self {
        Self {
            skip_unchanged: true,
            delete: false,
            max_delete: None,
            dry_run: false,
            concurrency: 8,
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
pub async fn transfer_objects(
    from: &ObjectLocation,
    to: &ObjectLocation,
    options: &ObjectTransferOptions,
    progress: &dyn Progress,
) -> Result<ObjectTransferReport> {
    let sources = from.listing().await?;
    let mut existing: HashMap<String, ObjectMeta> = to.listing().await?.into_iter().collect();
    progress.event(&Event::Started {
        source: from.label.clone(),
        sink: to.label.clone(),
        resumed_records: 0,
        estimated_total: Some(sources.len() as u64),
    });
    let same_backend = from.store.backend() == to.store.backend();
    let mut report = ObjectTransferReport::default();
    let mut work = Vec::new();
    for (relative, meta) in sources {
        let theirs = existing.remove(&relative);
        work.push((relative, meta, theirs));
    }
    let outcomes = futures::stream::iter(work)
        .map(|(relative, meta, theirs)| async move {
            if options.skip_unchanged
                && let Some(theirs) = theirs
                && equal(from, &meta, to, &theirs, same_backend).await?
            {
                return Ok::<_, StoreError>(None);
            }
            if !options.dry_run {
                let got = from.store.get(&meta.key, GetOptions::new()).await?;
                let mut put = PutOptions::new();
                put.content_type = got.meta.content_type.clone();
                put.metadata = got.meta.metadata.clone();
                to.store
                    .put_stream(&to.key_for(&relative)?, got.body, put)
                    .await?;
            }
            Ok(Some(meta.size))
        })
        .buffer_unordered(options.concurrency.max(1));
    futures::pin_mut!(outcomes);
    while let Some(outcome) = outcomes.next().await {
        match outcome? {
            None => report.unchanged += 1,
            Some(size) => {
                report.copied += 1;
                report.bytes += size;
                progress.event(&Event::Progress {
                    records: report.copied,
                    batch: 1,
                });
            }
        }
    }
    let extra = existing.len() as u64;
    if !options.delete {
        report.extra_kept = extra;
        return Ok(report);
    }
    crate::sync::within_max_delete(extra, options.max_delete, "objects", &to.label)?;
    report.deleted = extra;
    if !options.dry_run {
        let keys: Vec<ObjectKey> = existing.into_values().map(|m| m.key).collect();
        for chunk in keys.chunks(1_000) {
            if let Some(failure) = to.store.delete_many(chunk).await?.into_iter().next() {
                return Err(failure.error);
            }
        }
    }
    Ok(report)
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
        return Ok(a == b);
    }
    let (a, b) = futures::try_join!(
        from.content_sha256(&mine.key),
        to.content_sha256(&theirs.key)
    )?;
    Ok(a == b)
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
    /// Keys whose contents differ.
    pub differing: Differences,
}

impl ObjectCheckReport {
    /// Whether both hold the same objects with the same bytes.
    pub fn is_equal(&self) -> bool {
        self.only_left.count == 0 && self.only_right.count == 0 && self.differing.count == 0
    }
}

/// Compares every object under two locations by relative key and content.
pub async fn check_objects(
    left: &ObjectLocation,
    right: &ObjectLocation,
    concurrency: usize,
) -> Result<ObjectCheckReport> {
    let (a, b) = futures::try_join!(hashes(left, concurrency), hashes(right, concurrency))?;
    let mut report = ObjectCheckReport {
        left: CollectionDigest::default(),
        right: CollectionDigest::default(),
        only_left: Differences::default(),
        only_right: Differences::default(),
        differing: Differences::default(),
    };
    for (key, digest) in &a {
        report.left.add(digest);
        match b.get(key) {
            None => report.only_left.add(key),
            Some(other) if other != digest => report.differing.add(key),
            Some(_) => {}
        }
    }
    for (key, digest) in &b {
        report.right.add(digest);
        if !a.contains_key(key) {
            report.only_right.add(key);
        }
    }
    Ok(report)
}

async fn hashes(
    location: &ObjectLocation,
    concurrency: usize,
) -> Result<std::collections::BTreeMap<String, RecordDigest>> {
    let listing = location.listing().await?;
    futures::stream::iter(listing)
        .map(|(relative, meta)| async move {
            let content = location.content_sha256(&meta.key).await?;
            let mut hasher = Sha256::new();
            hasher.update(relative.as_bytes());
            hasher.update([0]);
            hasher.update(content);
            Ok::<_, StoreError>((relative, RecordDigest(hasher.finalize().into())))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
}
