//! The rate limiter on a paused clock: N calls per period go through, per collection; the
//! rest wait for their slot or fail fast with `Throttled`.

use std::time::Duration;

use store_core::document::GetItemOptions;
use store_core::memory::MemoryDocumentStore;
use store_core::{DocKey, DocumentStore, ErrorKind, KeySchema, KeyType};
use store_layers::{LayerExt, Layers, RateLimitLayer};

fn table(name: &str) -> MemoryDocumentStore {
    MemoryDocumentStore::new(name, KeySchema::partition("id", KeyType::String)).expect("table")
}

const PERIOD: Duration = Duration::from_secs(1);

#[tokio::test(start_paused = true)]
async fn n_calls_per_period_go_through_and_the_rest_wait_their_turn() {
    let limit = RateLimitLayer::new(5, PERIOD);
    let store = table("items").layer(Layers::new().rate_limit(limit.clone()));
    let key = DocKey::partition("a");
    let started = tokio::time::Instant::now();
    for _ in 0..5 {
        store.get(&key, GetItemOptions::new()).await.expect("get");
    }
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "a burst of 5 passes at once"
    );
    assert_eq!(limit.waits(), 0);
    for _ in 0..10 {
        store.get(&key, GetItemOptions::new()).await.expect("get");
    }
    // Then one slot every 200 ms: 10 more calls take 2 s.
    assert_eq!(started.elapsed(), 2 * PERIOD);
    assert_eq!(limit.waits(), 10);
}

#[tokio::test(start_paused = true)]
async fn fail_fast_answers_throttled_with_when_to_come_back_per_collection() {
    let limit = RateLimitLayer::new(2, PERIOD).fail_fast();
    let users = table("users").layer(Layers::new().rate_limit(limit.clone()));
    let orders = table("orders").layer(Layers::new().rate_limit(limit.clone()));
    let key = DocKey::partition("a");
    users.get(&key, GetItemOptions::new()).await.expect("1st");
    users.get(&key, GetItemOptions::new()).await.expect("2nd");
    let err = users.get(&key, GetItemOptions::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert_eq!(err.retry_after(), Some(PERIOD / 2));
    orders
        .get(&key, GetItemOptions::new())
        .await
        .expect("another collection has its own limit");
    tokio::time::advance(PERIOD / 2).await;
    users
        .get(&key, GetItemOptions::new())
        .await
        .expect("a slot came free");
}

#[tokio::test(start_paused = true)]
async fn each_bucket_has_its_own_limit() {
    use store_core::memory::MemoryObjectStore;
    use store_core::{ObjectKey, ObjectStoreExt as _};
    let limit = RateLimitLayer::new(1, PERIOD).fail_fast();
    let bucket = |name: &str| {
        MemoryObjectStore::new()
            .with_bucket(name)
            .layer(Layers::new().rate_limit(limit.clone()))
    };
    let (photos, logs) = (bucket("photos"), bucket("logs"));
    let key = ObjectKey::new("a").unwrap();
    photos.put_str(&key, "x").await.expect("photos' slot");
    let err = photos.put_str(&key, "x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled);
    logs.put_str(&key, "x")
        .await
        .expect("another bucket has its own limit");
}

/// One stack shared by the stores of two tables (an `Arc<Layers>`): each table keeps its
/// own slots, whichever table the stack met first, and a second store of a table shares
/// that table's slots.
#[tokio::test(start_paused = true)]
async fn a_shared_stack_keeps_each_table_s_own_slots() {
    let stack =
        std::sync::Arc::new(Layers::new().rate_limit(RateLimitLayer::new(2, PERIOD).fail_fast()));
    let users = table("users").layer(stack.clone());
    let orders = table("orders").layer(stack.clone());
    let users_again = table("users").layer(stack.clone());
    let key = DocKey::partition("a");
    users
        .get(&key, GetItemOptions::new())
        .await
        .expect("users 1");
    for n in 1..=2 {
        orders
            .get(&key, GetItemOptions::new())
            .await
            .unwrap_or_else(|e| panic!("orders {n}: {e}"));
    }
    let err = orders.get(&key, GetItemOptions::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled);
    users_again
        .get(&key, GetItemOptions::new())
        .await
        .expect("users 2, through the other store");
    for store in [&users, &users_again] {
        let err = store.get(&key, GetItemOptions::new()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Throttled, "users has spent its 2");
    }
}

/// A call waiting for a permit spends one slot, not two: the fast path takes its permit
/// before its slot, and a call that finds no permit leaves its slot to the engine's attempt.
#[tokio::test(start_paused = true)]
async fn a_call_waiting_for_a_permit_spends_one_slot() {
    use store_layers::FaultLayer;
    let slow = FaultLayer::seeded(1).latency(Duration::from_millis(100));
    let store = table("items").layer(slow).layer(
        Layers::new()
            .rate_limit(RateLimitLayer::new(2, PERIOD).fail_fast())
            .concurrency(1),
    );
    let key = DocKey::partition("a");
    let (a, b) = tokio::join!(
        store.get(&key, GetItemOptions::new()),
        store.get(&key, GetItemOptions::new())
    );
    a.expect("the first call");
    b.expect("the second call, after the first's permit, within the 2 slots");
}

/// Clones of one limit share each collection's slots, and a bucket and a table of one name
/// are two collections.
#[tokio::test(start_paused = true)]
async fn clones_share_a_collection_s_slots_and_kinds_keep_theirs() {
    use store_core::memory::MemoryObjectStore;
    use store_core::{ObjectKey, ObjectStoreExt as _};
    let limit = RateLimitLayer::new(1, PERIOD).fail_fast();
    let users = table("users").layer(Layers::new().rate_limit(limit.clone()));
    let users_again = table("users").layer(Layers::new().rate_limit(limit.clone()));
    let bucket = MemoryObjectStore::new()
        .with_bucket("users")
        .layer(Layers::new().rate_limit(limit.clone()));
    let key = DocKey::partition("a");
    users
        .get(&key, GetItemOptions::new())
        .await
        .expect("the slot");
    let err = users_again
        .get(&key, GetItemOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Throttled,
        "the clone shares the slot"
    );
    bucket
        .put_str(&ObjectKey::new("a").unwrap(), "x")
        .await
        .expect("the bucket `users` has its own slot");
}
