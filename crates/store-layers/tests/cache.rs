//! The read-through cache on a paused clock: hits, misses, time to live, invalidation by our
//! own writes, bounds, and what is never cached.

use std::sync::Arc;
use std::time::Duration;

use store_core::document::{
    BatchWriteOptions, DeleteItemOptions, GetItemOptions, PutItemOptions, TransactAction, Update,
    UpdateOptions, WriteOp,
};
use store_core::memory::{MemoryDocumentStore, MemoryObjectStore, MemorySearchIndex};
use store_core::search::IndexOptions;
use store_core::{
    DocKey, Document, DocumentStore, ErrorKind, KeySchema, KeyType, ObjectKey, ObjectStore,
    ObjectStoreExt, SearchIndex, Value,
};
use store_layers::{CacheLayer, FallbackLayer, FaultLayer, LayerExt, Layered, Layers};

const TTL: Duration = Duration::from_secs(10);

type Cached = Layered<MemoryDocumentStore, Layers>;

fn table() -> MemoryDocumentStore {
    MemoryDocumentStore::new("users", KeySchema::partition("id", KeyType::String)).expect("table")
}

fn cached(cache: &CacheLayer) -> Cached {
    table().layer(Layers::new().cache(cache.clone()))
}

fn user(id: &str, name: &str) -> Document {
    Document::new().with("id", id).with("name", name)
}

fn key(id: &str) -> DocKey {
    DocKey::partition(id)
}

/// The name the layered store answers for `id`.
async fn name_of(store: &Cached, id: &str) -> Option<String> {
    store
        .get(&key(id), GetItemOptions::new())
        .await
        .expect("get")
        .and_then(|d| d.get("name").and_then(Value::as_str).map(str::to_owned))
}

/// Writes `name` behind the cache's back, as another process would.
async fn behind_the_back(store: &Cached, id: &str, name: &str) {
    store
        .inner()
        .put(user(id, name), PutItemOptions::new())
        .await
        .expect("direct put");
}

#[tokio::test(start_paused = true)]
async fn a_second_get_is_a_hit_until_the_ttl_passes() {
    let cache = CacheLayer::new(100, TTL);
    let store = cached(&cache);
    store
        .put(user("ada", "Ada"), PutItemOptions::new())
        .await
        .expect("put");
    assert_eq!(name_of(&store, "ada").await.as_deref(), Some("Ada"));
    assert_eq!((cache.hits(), cache.misses()), (0, 1));

    behind_the_back(&store, "ada", "Changed elsewhere").await;
    assert_eq!(
        name_of(&store, "ada").await.as_deref(),
        Some("Ada"),
        "answered from the cache"
    );
    assert_eq!((cache.hits(), cache.misses()), (1, 1));

    tokio::time::advance(TTL - Duration::from_millis(1)).await;
    assert_eq!(name_of(&store, "ada").await.as_deref(), Some("Ada"));
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(
        name_of(&store, "ada").await.as_deref(),
        Some("Changed elsewhere"),
        "expired: read from the store"
    );
    assert_eq!((cache.hits(), cache.misses()), (2, 2));
}

#[tokio::test(start_paused = true)]
async fn missing_items_are_cached_too_and_consistent_reads_bypass_the_cache() {
    let cache = CacheLayer::new(100, TTL);
    let store = cached(&cache);
    assert_eq!(name_of(&store, "bob").await, None);
    behind_the_back(&store, "bob", "Bob").await;
    assert_eq!(name_of(&store, "bob").await, None, "the cached absence");
    let strong = store
        .get(&key("bob"), GetItemOptions::new().consistent())
        .await
        .expect("get");
    assert!(strong.is_some(), "a consistent read goes to the store");
}

#[tokio::test(start_paused = true)]
async fn every_write_through_the_layer_invalidates() {
    let cache = CacheLayer::new(100, TTL);
    let store = cached(&cache);
    store
        .put(user("ada", "Ada"), PutItemOptions::new())
        .await
        .expect("put");
    assert_eq!(name_of(&store, "ada").await.as_deref(), Some("Ada"));

    store
        .put(user("ada", "Put"), PutItemOptions::new())
        .await
        .expect("put");
    assert_eq!(name_of(&store, "ada").await.as_deref(), Some("Put"));

    store
        .update(
            &key("ada"),
            &Update::new().set("name", "Updated"),
            UpdateOptions::new(),
        )
        .await
        .expect("update");
    assert_eq!(name_of(&store, "ada").await.as_deref(), Some("Updated"));

    store
        .batch_write(
            vec![WriteOp::Put(user("ada", "Batched"))],
            BatchWriteOptions::default(),
        )
        .await
        .expect("batch");
    assert_eq!(name_of(&store, "ada").await.as_deref(), Some("Batched"));

    store
        .transact_write(vec![TransactAction::Put {
            item: user("ada", "Transacted"),
            condition: None,
        }])
        .await
        .expect("transact");
    assert_eq!(name_of(&store, "ada").await.as_deref(), Some("Transacted"));

    store
        .delete(&key("ada"), DeleteItemOptions::default())
        .await
        .expect("delete");
    assert_eq!(name_of(&store, "ada").await, None);
}

#[tokio::test(start_paused = true)]
async fn a_write_that_failed_after_it_happened_still_invalidates() {
    let cache = CacheLayer::new(100, TTL);
    let faults = FaultLayer::seeded(1).with(
        store_layers::Fault::error(ErrorKind::Unavailable, 1.0)
            .after_success()
            .operations(&["put"]),
    );
    let store = table().layer(Layers::new().cache(cache.clone()).faults(faults));
    store
        .inner()
        .put(user("ada", "Ada"), PutItemOptions::new())
        .await
        .expect("seed");
    let ada = key("ada");
    let get = || store.get(&ada, GetItemOptions::new());
    assert!(get().await.expect("get").is_some());
    let err = store
        .put(user("ada", "Written"), PutItemOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let now = get().await.expect("get").expect("item");
    assert_eq!(now.get("name").and_then(Value::as_str), Some("Written"));
}

#[tokio::test(start_paused = true)]
async fn entries_and_bytes_stay_within_bounds_least_recently_used_first() {
    let cache = CacheLayer::new(3, TTL);
    let store = cached(&cache);
    for id in ["a", "b", "c"] {
        name_of(&store, id).await;
    }
    name_of(&store, "a").await; // a is now the most recently used
    name_of(&store, "d").await; // evicts b
    assert_eq!(cache.len(), 3);
    let misses = cache.misses();
    name_of(&store, "a").await;
    name_of(&store, "c").await;
    assert_eq!(cache.misses(), misses, "a and c stayed");
    name_of(&store, "b").await;
    assert_eq!(cache.misses(), misses + 1, "b was evicted");

    let small = CacheLayer::new(1_000, TTL).max_bytes(1_000);
    let store = cached(&small);
    let big = "x".repeat(300);
    for i in 0..10 {
        let id = format!("u{i}");
        store
            .put(user(&id, &big), PutItemOptions::new())
            .await
            .expect("put");
        name_of(&store, &id).await;
        assert!(small.bytes() <= 1_000, "{} bytes", small.bytes());
    }
    assert!((1..=3).contains(&small.len()), "{} entries", small.len());
    let huge = "y".repeat(2_000);
    store
        .put(user("huge", &huge), PutItemOptions::new())
        .await
        .expect("put");
    let before = small.len();
    name_of(&store, "huge").await;
    assert!(
        small.len() <= before,
        "a value above the byte bound is not cached"
    );
    assert!(small.bytes() <= 1_000);
}

#[tokio::test(start_paused = true)]
async fn small_object_bodies_and_heads_are_cached_and_invalidated() {
    let cache = CacheLayer::new(100, TTL).max_body(16);
    let store = MemoryObjectStore::new().layer(Layers::new().cache(cache.clone()));
    let small = ObjectKey::new("small").expect("key");
    let large = ObjectKey::new("large").expect("key");
    store.put_str(&small, "tiny").await.expect("put");
    store
        .put_str(&large, "a body over sixteen bytes")
        .await
        .expect("put");

    assert_eq!(store.get_string(&small).await.expect("get"), "tiny");
    assert_eq!(store.head(&small).await.expect("head").size, 4);
    store
        .inner()
        .put_str(&small, "changed")
        .await
        .expect("direct");
    assert_eq!(
        store.get_string(&small).await.expect("get"),
        "tiny",
        "cached"
    );
    assert_eq!(store.head(&small).await.expect("head").size, 4, "cached");

    store.get_string(&large).await.expect("get");
    store
        .inner()
        .put_str(&large, "another long body here")
        .await
        .expect("direct");
    assert_eq!(
        store.get_string(&large).await.expect("get"),
        "another long body here",
        "a large body is not cached"
    );

    store.put_str(&small, "mine").await.expect("put");
    assert_eq!(store.get_string(&small).await.expect("get"), "mine");
    assert_eq!(store.head(&small).await.expect("head").size, 4);
    store.delete(&small).await.expect("delete");
    assert_eq!(
        store.head(&small).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test(start_paused = true)]
async fn search_gets_are_cached_and_invalidated_by_writes() {
    let cache = CacheLayer::new(100, TTL);
    let index = MemorySearchIndex::new("articles")
        .expect("index")
        .layer(Layers::new().cache(cache.clone()));
    let doc = |t: &str| Document::new().with("title", t);
    index
        .index("1", doc("first"), IndexOptions::default())
        .await
        .expect("index");
    let title = |d: Option<store_core::search::StoredDoc>| {
        d.and_then(|d| {
            d.source
                .get("title")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    };
    assert_eq!(
        title(index.get("1").await.expect("get")).as_deref(),
        Some("first")
    );
    index
        .inner()
        .index("1", doc("direct"), IndexOptions::default())
        .await
        .expect("direct");
    assert_eq!(
        title(index.get("1").await.expect("get")).as_deref(),
        Some("first")
    );
    index
        .update("1", doc("updated"), IndexOptions::default())
        .await
        .expect("update");
    assert_eq!(
        title(index.get("1").await.expect("get")).as_deref(),
        Some("updated")
    );
    index.drop_index().await.expect("drop");
    assert_eq!(cache.len(), 0, "dropping the index empties its entries");
}

#[tokio::test(start_paused = true)]
async fn answers_from_a_fallback_are_never_cached() {
    let cache = CacheLayer::new(100, TTL);
    let replica = Arc::new(table());
    replica
        .put(user("ada", "Replica"), PutItemOptions::new())
        .await
        .expect("seed");
    let faults = FaultLayer::seeded(1);
    let store = table().layer(
        Layers::new()
            .cache(cache.clone())
            .fallback(FallbackLayer::documents(replica))
            .faults(faults.clone()),
    );
    faults.fail_next(1, ErrorKind::Unavailable);
    assert_eq!(name_of(&store, "ada").await.as_deref(), Some("Replica"));
    assert_eq!(cache.len(), 0);
    assert_eq!(
        name_of(&store, "ada").await,
        None,
        "the primary answers again"
    );
    assert_eq!(cache.len(), 1);
}
