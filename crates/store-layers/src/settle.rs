//! Conditional writes refused by their own earlier run.
//!
//! A create-only put whose first run landed but whose answer was lost (a timeout, a dropped
//! connection: "the write happened, then the call failed") is retried, and the retry is refused
//! with `AlreadyExists`, because of the very object the first run created; an if-match put or a
//! versioned index is refused with `PreconditionFailed`, because its first run moved the tag.
//! Reported as is, the caller would be told a write failed that succeeded.
//!
//! So a refusal of a conditional write one of whose earlier runs may have landed (it finished
//! well and a layer reported a failure anyway, it failed with `Unavailable`, or it was cancelled
//! in flight) is checked: what is stored now is read (through the layers, never from a fallback
//! or a cache), and when it is exactly what the write meant to leave, the write is reported
//! done. Then it was this call's earlier run, or (indistinguishably) another writer storing the
//! very same value at the same moment. A refusal after runs that surely left the store alone
//! (throttled, refused before sending) stands, even when the value there is identical, as does
//! any refusal when the value differs or the read fails.

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures::future::BoxFuture;
use store_core::document::{DocumentStore, GetItemOptions};
use store_core::object::{GetOptions, GetResult, PutOptions, PutResult};
use store_core::search::{DocVersion, SearchIndex, StoredDoc};
use store_core::{DocKey, Document, ErrorKind, ObjectKey, ObjectStore, Result, StoreError};

use crate::layer::Layer;
use crate::meta::OpMeta;
use crate::read::read;

/// What the runs of one conditional write may have done to the store.
#[derive(Debug, Default)]
pub(crate) struct Runs {
    /// Whether a run may have changed the store: it finished well (whatever the layers around
    /// it then reported), failed leaving its fate unknown (`Unavailable`: a timeout, a dropped
    /// connection, a 5xx), or was cancelled in flight.
    may_have_landed: AtomicBool,
}

/// Marks its [`Runs`] when the run it watches may have landed; armed until the run ends
/// otherwise, so a run cancelled in flight counts.
struct Watch<'a> {
    runs: &'a Runs,
    landed: bool,
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        if self.landed {
            self.runs.may_have_landed.store(true, Ordering::Relaxed);
        }
    }
}

impl Runs {
    /// `run`, watched: how it ends is kept for [`may_have_refused_itself`](Self::may_have_refused_itself).
    pub(crate) fn track<'a, T: Send + 'a>(
        &'a self,
        run: BoxFuture<'a, Result<T>>,
    ) -> BoxFuture<'a, Result<T>> {
        Box::pin(async move {
            let mut watch = Watch {
                runs: self,
                landed: true,
            };
            let outcome = run.await;
            watch.landed = match &outcome {
                Ok(_) => true,
                Err(e) => e.kind() == ErrorKind::Unavailable,
            };
            outcome
        })
    }

    /// Whether `error` may be the refusal of this write by its own earlier run: an earlier run
    /// may have landed, and the store refused the write because of what it found there. A
    /// run that surely left the store alone (throttled, refused) never makes a refusal doubtful:
    /// another writer's value, even an identical one, then refused it.
    pub(crate) fn may_have_refused_itself(&self, error: &StoreError) -> bool {
        self.may_have_landed.load(Ordering::Relaxed)
            && matches!(
                error.kind(),
                ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal() -> StoreError {
        StoreError::already_exists("an object already exists at this key")
    }

    async fn after(outcomes: Vec<Result<()>>) -> Runs {
        let runs = Runs::default();
        for outcome in outcomes {
            let _ = runs.track(Box::pin(async move { outcome })).await;
        }
        runs
    }

    #[tokio::test]
    async fn only_a_run_that_may_have_landed_makes_a_refusal_doubtful() {
        let landed = after(vec![Ok(())]).await;
        assert!(landed.may_have_refused_itself(&refusal()));
        let unknown = after(vec![Err(StoreError::unavailable("timed out"))]).await;
        assert!(unknown.may_have_refused_itself(&refusal()));
        let throttled = after(vec![Err(StoreError::throttled("slow down"))]).await;
        assert!(!throttled.may_have_refused_itself(&refusal()));
        assert!(!Runs::default().may_have_refused_itself(&refusal()));
        // Only refusals by what is stored are settled; a conflict is retried, not settled.
        assert!(!landed.may_have_refused_itself(&StoreError::conflict("busy")));
        assert!(landed.may_have_refused_itself(&StoreError::precondition_failed("etag moved")));
    }

    #[tokio::test]
    async fn a_run_cancelled_in_flight_may_have_landed() {
        let runs = Runs::default();
        let mut run = runs.track(Box::pin(std::future::pending::<Result<()>>()));
        assert!(futures::poll!(run.as_mut()).is_pending());
        assert!(!runs.may_have_refused_itself(&refusal()), "still in flight");
        drop(run);
        assert!(runs.may_have_refused_itself(&refusal()));
    }
}
