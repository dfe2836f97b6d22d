//! The helpers every trait's plumbing uses: a read (the cache, then the layers with a
//! fallback call), and a write (the layers, then the cache invalidated).

use std::future::Future;

use futures::future::BoxFuture;
use store_core::Result;

use crate::cache::{CacheKey, CacheLayer, Scope};
use crate::layer::{Layer, as_call, through};
use crate::meta::OpMeta;
use crate::served::{Source, observe_served};

/// Runs `primary` through `layer`, with `secondary` as the same read on a fallback store.
pub(crate) async fn read<'a, L, T, P, S>(
    layer: &'a L,
    meta: &'a OpMeta<'a>,
    primary: P,
    secondary: Option<S>,
) -> Result<T>
where
    L: Layer,
    T: Send + 'a,
    P: Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a,
    S: Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a,
{
    let primary = || primary();
    let secondary = secondary.map(|s| move || s());
    layer
        .run_or(meta, as_call(&primary), secondary.as_ref().map(as_call))
        .await
}

/// Answers from `cache` at the key `key` makes (only when there is a cache) when it can;
/// otherwise runs `read` (a closure, so that the read's future is made in place rather than
/// moved in: futures passed by value are stored twice) and caches its answer (unless a fallback gave it, or a write
/// finished meanwhile).
pub(crate) async fn cached<T, F>(
    cache: Option<&CacheLayer>,
    key: impl FnOnce() -> Option<CacheKey>,
    weight: impl FnOnce(&T) -> usize,
    read: impl FnOnce() -> F,
) -> Result<T>
where
    T: Clone + Send + Sync + 'static,
    F: Future<Output = Result<T>>,
{
    let Some((cache, key)) = cache.and_then(|cache| Some((cache, key()?))) else {
        return read().await;
    };
    // The cache's path is boxed, so a store without a cache carries only the read's future.
    Box::pin(fill(cache, key, weight, read)).await
}

/// A cache hit, or `read`'s answer cached.
async fn fill<T, F>(
    cache: &CacheLayer,
    key: CacheKey,
    weight: impl FnOnce(&T) -> usize,
    read: impl FnOnce() -> F,
) -> Result<T>
where
    T: Clone + Send + Sync + 'static,
    F: Future<Output = Result<T>>,
{
    if let Some(hit) = cache.lookup::<T>(&key) {
        return Ok(hit);
    }
    let ticket = cache.ticket();
    let (outcome, served) = observe_served(read()).await;
    if let Ok(value) = &outcome
        && served.is_none_or(|s| s.from == Source::Primary)
    {
        cache.insert(ticket, key, value.clone(), weight(value));
    }
    outcome
}

/// Runs a write through `layer`; whatever becomes of it, what it may have changed (`scope`)
/// leaves the layer's cache.
pub(crate) async fn write<'a, L, T, F>(
    layer: &'a L,
    meta: &'a OpMeta<'a>,
    scope: impl FnOnce() -> Scope,
    f: F,
) -> Result<T>
where
    L: Layer,
    T: Send + 'a,
    F: Fn() -> BoxFuture<'a, Result<T>> + Send + Sync + 'a,
{
    let _invalidate = layer.cache().map(|cache| cache.guard(scope()));
    through(layer, meta, f).await
}
