//! Conditional writes refused by their own earlier run.
//!
//! A create-only put whose first run landed but whose answer was lost (a timeout, a dropped
//! connection: "the write happened, then the call failed") is retried, and the retry is refused
//! with `AlreadyExists`, because of the very object the first run created; an if-match put or a
//! versioned index is refused with `PreconditionFailed`, because its first run moved the tag.
//! Reported as is, the caller would be told a write failed that succeeded.
//!
//! So a refusal of a conditional write that ran more than once is checked: what is stored now is
//! read (through the layers, never from a fallback or a cache), and when it is exactly what the
//! write meant to leave, the write is reported done. It was this call's earlier run, or another
//! writer storing the very same value; either way what the caller asked for holds. Anything
//! else (a different value, a failed read) returns the refusal unchanged.

use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use futures::future::BoxFuture;
use store_core::document::{DocumentStore, GetItemOptions};
use store_core::object::{GetOptions, GetResult, PutOptions, PutResult};
use store_core::search::{DocVersion, SearchIndex, StoredDoc};
use store_core::{DocKey, Document, ErrorKind, ObjectKey, ObjectStore, Result, StoreError};

use crate::layer::Layer;
use crate::meta::OpMeta;
use crate::read::read;

/// How many times a call's store method ran.
#[derive(Debug, Default)]
pub(crate) struct Runs(AtomicU32);

impl Runs {
    /// Counts one run.
    pub(crate) fn count(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether `error` may be the refusal of a conditional write by its own earlier run: the
    /// call ran more than once, and the store refused it because of what it found there.
    pub(crate) fn may_have_refused_itself(&self, error: &StoreError) -> bool {
        self.0.load(Ordering::Relaxed) > 1
            && matches!(
                error.kind(),
                ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed | ErrorKind::Conflict
            )
    }
}

/// No fallback read: a secondary's copy says nothing about what the primary holds.
fn primary_only<'a, T>() -> Option<fn() -> BoxFuture<'a, Result<T>>> {
    None
}

/// The object at `key`, if it is exactly `body` with the content type and metadata `options`
/// asked for: what a conditional put of them left, with its entity tag.
pub(crate) async fn object_put<L: Layer>(
    layer: &L,
    meta: &OpMeta<'_>,
    store: &dyn ObjectStore,
    key: &ObjectKey,
    body: &Bytes,
    options: &PutOptions,
    refused: StoreError,
) -> Result<PutResult> {
    let found: Result<GetResult> = read(
        layer,
        meta,
        || store.get(key, GetOptions::new()),
        primary_only(),
    )
    .await;
    let Ok(mut found) = found else {
        return Err(refused);
    };
    let described_alike = found.meta.size == body.len() as u64
        && options
            .content_type
            .as_ref()
            .is_none_or(|wanted| found.meta.content_type.as_ref() == Some(wanted))
        && found.meta.metadata == options.metadata;
    if !described_alike {
        return Err(refused);
    }
    let etag = found.meta.etag.clone();
    // Read under the stack's idle timeout, as any body.
    found.body = layer.stream(meta, found.body);
    match found.bytes().await {
        Ok(stored) if stored == *body => Ok(PutResult {
            etag,
            version: None,
        }),
        _ => Err(refused),
    }
}

/// `Ok(None)` when the item at `key` is exactly `item`: what a conditional put of it left.
pub(crate) async fn document_put<L: Layer>(
    layer: &L,
    meta: &OpMeta<'_>,
    store: &dyn DocumentStore,
    key: &DocKey,
    item: &Document,
    refused: StoreError,
) -> Result<Option<Document>> {
    let options = GetItemOptions {
        consistent: true,
        projection: None,
    };
    let found = read(
        layer,
        meta,
        || store.get(key, options.clone()),
        primary_only(),
    )
    .await;
    match found {
        Ok(Some(stored)) if stored == *item => Ok(None),
        _ => Err(refused),
    }
}

/// The version of the document `id`, when its source is exactly `doc`: what a conditional
/// index of it left.
pub(crate) async fn search_index<L: Layer>(
    layer: &L,
    meta: &OpMeta<'_>,
    store: &dyn SearchIndex,
    id: &str,
    doc: &Document,
    refused: StoreError,
) -> Result<DocVersion> {
    let found: Result<Option<StoredDoc>> =
        read(layer, meta, || store.get(id), primary_only()).await;
    match found {
        Ok(Some(stored)) if stored.source == *doc => Ok(stored.version),
        _ => Err(refused),
    }
}
