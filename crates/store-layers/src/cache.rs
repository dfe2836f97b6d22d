//! [`CacheLayer`]: an in-memory read-through cache for `get`-style reads, bounded in entries
//! and bytes, with a time to live, invalidated by the writes made through the same store.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

use crate::fallback::FallbackLayer;
use crate::layer::{Call, Layer};
use crate::meta::OpMeta;

/// A read-through cache of single-key reads: document `get` (not `consistent` ones), object
/// `head` and whole-object `get` of bodies up to [`max_body`](Self::max_body) bytes (no range,
/// no `if_match`/`if_none_match`), search `get`. Listings, queries, searches and counts are
/// never cached: their answers depend on writes to any key.
///
/// Every write made through the same layered store removes what it may have changed
/// (the key it writes; the whole collection for batches, transactions and index admin), after
/// it returns, fails or is cancelled; a read that was under way while a write finished does
/// not fill the cache. Answers served by a [`FallbackLayer`] are never cached. Writes made by
/// other processes or other handles are seen once the entry's time to live has passed.
///
/// Entries are evicted least recently used first when there are more than
/// `max_entries` of them or their sizes add up to more than [`max_bytes`](Self::max_bytes).
/// Clones share the cache; give each store its own (the keys of two object stores without a
/// [`bucket_name`](store_core::ObjectStore::bucket_name), two folders say, are not told apart).
///
/// ```
/// use std::time::Duration;
/// use store_layers::CacheLayer;
/// let cache = CacheLayer::new(10_000, Duration::from_secs(30)).max_bytes(64 << 20);
/// assert_eq!(cache.len(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct CacheLayer {
    config: Config,
    state: Arc<Mutex<State>>,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
}

#[derive(Debug, Clone)]
struct Config {
    max_entries: usize,
    max_bytes: usize,
    max_body: usize,
    ttl: Duration,
}

struct Slot {
    value: Arc<dyn Any + Send + Sync>,
    weight: usize,
    expires: Instant,
    used: u64,
}

#[derive(Default)]
struct State {
    /// entity (kind/collection/key) → variant (projection, get or head) → slot
    entries: HashMap<String, HashMap<String, Slot>>,
    /// last use → (entity, variant): the least recently used first
    order: BTreeMap<u64, (String, String)>,
    bytes: usize,
    len: usize,
    tick: u64,
    generation: u64,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("len", &self.len)
            .field("bytes", &self.bytes)
            .finish()
    }
}

/// Where a cached value lives: the thing read (kind, collection and key) and how it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CacheKey {
    pub(crate) entity: String,
    pub(crate) variant: String,
}

impl CacheKey {
    /// The entity `{kind}/{collection}/{key}`.
    pub(crate) fn new(meta: &OpMeta<'_>, key: impl std::fmt::Display, variant: String) -> Self {
        Self {
            entity: entity(meta, key),
            variant,
        }
    }
}

/// The entity a key of `meta`'s collection names.
pub(crate) fn entity(meta: &OpMeta<'_>, key: impl std::fmt::Display) -> String {
    format!("{}/{key}", collection(meta))
}

/// The prefix of every entity of `meta`'s collection.
pub(crate) fn collection(meta: &OpMeta<'_>) -> String {
    format!("{}/{}", meta.kind.as_str(), meta.collection.unwrap_or(""))
}

/// A read that started at a generation may fill the cache only if nothing was invalidated
/// since.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

/// What a write may change.
#[derive(Debug, Clone)]
pub(crate) enum Scope {
    /// These entities.
    Entities(Vec<String>),
    /// Every entity under this prefix.
    Collection(String),
}

impl CacheLayer {
    /// At most `max_entries` entries, each kept for `ttl`; no byte bound and bodies up to
    /// 64 KiB until set.
    pub fn new(max_entries: usize, ttl: Duration) -> Self {
        Self {
            config: Config {
                max_entries: max_entries.max(1),
                max_bytes: usize::MAX,
                max_body: 64 * 1024,
                ttl,
            },
            state: Arc::default(),
            hits: Arc::default(),
            misses: Arc::default(),
        }
    }

    /// At most `bytes` of cached values in all (their approximate sizes); a larger value is
    /// not cached.
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.config.max_bytes = bytes;
        self
    }

    /// Object bodies up to `bytes` long are cached by `get` (larger ones are streamed through
    /// untouched); 0 caches only `head`.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.config.max_body = bytes;
        self
    }

    /// The longest object body cached.
    pub(crate) fn body_limit(&self) -> usize {
        self.config.max_body
    }

    /// Entries cached now (expired ones included until looked up or evicted).
    pub fn len(&self) -> usize {
        self.lock().len
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sum of the cached values' approximate sizes.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Reads answered from the cache so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Cacheable reads that went to the store so far.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Empties the cache.
    pub fn clear(&self) {
        let mut state = self.lock();
        state.generation += 1;
        state.entries.clear();
        state.order.clear();
        state.bytes = 0;
        state.len = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached value at `key`, if it is there, of type `T` and not expired.
    pub(crate) fn lookup<T: Clone + 'static>(&self, key: &CacheKey) -> Option<T> {
        let mut state = self.lock();
        let now = Instant::now();
        let found = state
            .entries
            .get(&key.entity)
            .and_then(|variants| variants.get(&key.variant))
            .map(|slot| (slot.expires > now, slot.used));
        let value = match found {
            Some((true, used)) => {
                state.tick += 1;
                let tick = state.tick;
                let names = state.order.remove(&used);
                if let Some(names) = names {
                    state.order.insert(tick, names);
                }
                let slot = state
                    .entries
                    .get_mut(&key.entity)
                    .and_then(|variants| variants.get_mut(&key.variant))?;
                slot.used = tick;
                slot.value.downcast_ref::<T>().cloned()
            }
            Some((false, _)) => {
                state.remove(&key.entity, &key.variant);
                None
            }
            None => None,
        };
        drop(state);
        match value {
            Some(_) => self.hits.fetch_add(1, Ordering::Relaxed),
            None => self.misses.fetch_add(1, Ordering::Relaxed),
        };
        value
    }

    /// A ticket for a read about to go to the store.
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(self.lock().generation)
    }

    /// Caches `value` at `key` unless something was invalidated since `ticket` was taken.
    pub(crate) fn insert<T: Send + Sync + 'static>(
        &self,
        ticket: Ticket,
        key: CacheKey,
        value: T,
        weight: usize,
    ) {
        if weight > self.config.max_bytes {
            return;
        }
        let mut state = self.lock();
        if state.generation != ticket.0 {
            return;
        }
        state.remove(&key.entity, &key.variant);
        state.tick += 1;
        let tick = state.tick;
        state
            .order
            .insert(tick, (key.entity.clone(), key.variant.clone()));
        state.entries.entry(key.entity).or_default().insert(
            key.variant,
            Slot {
                value: Arc::new(value),
                weight,
                expires: Instant::now() + self.config.ttl,
                used: tick,
            },
        );
        state.len += 1;
        state.bytes += weight;
        while state.len > self.config.max_entries || state.bytes > self.config.max_bytes {
            let Some((_, (entity, variant))) = state.order.pop_first() else {
                break;
            };
            state.remove(&entity, &variant);
        }
    }

    /// Drops what a write in `scope` may have changed, and stops reads under way from
    /// filling the cache.
    pub(crate) fn invalidate(&self, scope: &Scope) {
        let mut state = self.lock();
        state.generation += 1;
        match scope {
            Scope::Entities(entities) => {
                for entity in entities {
                    state.remove_entity(entity);
                }
            }
            Scope::Collection(prefix) => {
                let prefix = format!("{prefix}/");
                let doomed: Vec<String> = state
                    .entries
                    .keys()
                    .filter(|e| e.starts_with(&prefix))
                    .cloned()
                    .collect();
                for entity in doomed {
                    state.remove_entity(&entity);
                }
            }
        }
    }

    /// Invalidates `scope` when dropped: after the write returns, fails or is cancelled.
    pub(crate) fn guard(&self, scope: Scope) -> Invalidate<'_> {
        Invalidate { cache: self, scope }
    }
}

impl State {
    fn remove(&mut self, entity: &str, variant: &str) {
        let Some(variants) = self.entries.get_mut(entity) else {
            return;
        };
        if let Some(slot) = variants.remove(variant) {
            self.order.remove(&slot.used);
            self.len -= 1;
            self.bytes -= slot.weight;
        }
        if variants.is_empty() {
            self.entries.remove(entity);
        }
    }

    fn remove_entity(&mut self, entity: &str) {
        if let Some(variants) = self.entries.remove(entity) {
            for slot in variants.values() {
                self.order.remove(&slot.used);
                self.len -= 1;
                self.bytes -= slot.weight;
            }
        }
    }
}

/// Invalidates a write's scope when dropped.
pub(crate) struct Invalidate<'c> {
    cache: &'c CacheLayer,
    scope: Scope,
}

impl Drop for Invalidate<'_> {
    fn drop(&mut self) {
        self.cache.invalidate(&self.scope);
    }
}

impl Layer for CacheLayer {
    /// Runs each call at most once.
    fn may_repeat(&self, _meta: &OpMeta<'_>) -> bool {
        false
    }

    fn around<'a, T: Send + 'a>(
        &'a self,
        _meta: &'a OpMeta<'a>,
        call: Call<'a, T>,
    ) -> BoxFuture<'a, store_core::Result<T>> {
        call()
    }

    fn fallback(&self) -> Option<&FallbackLayer> {
        None
    }

    fn cache(&self) -> Option<&CacheLayer> {
        Some(self)
    }
}
