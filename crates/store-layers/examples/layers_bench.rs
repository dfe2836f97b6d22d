//! The cost of the layers: a `get` on the in-memory document store through the full stack
//! (faults off) against the bare store: a warm-up round, then rounds in an order rotated each
//! round and reversed every other round; the line gives the median time of one get with the
//! rounds' min–max. Rounds are short (2,000 gets, under a millisecond) and many (801), so a
//! pause of the host spoils a few rounds, not the median.
//!
//! The full stack is every layer of this build but the cache (a hit answers without the
//! store, so it would time the cache, not the layers around a call) and metrics (a feature,
//! off here): trace (no subscriber), fallback (to a second in-memory table), breaker, retry,
//! hedge, timeout, rate limit (far above the rate reached), concurrency limit and faults.
//!
//! `cargo run -p store-layers --release --example layers_bench [-- --ops N --rounds R]`
//! prints `bench layers_overhead …: ours <median> [min–max] vs bare <median> [min–max] =
//! <ratio>x`; a `layers_without_rate_limit` line, the full stack but the rate limit (the one
//! layer that reads the clock on every call); and a `layers_floor` line: the bare get wrapped
//! in one more boxed future, the least a wrapper of a `dyn` store pays (the layered store
//! here holds the store by its type and takes its unboxed future, so its one box replaces
//! the store's); a `layers_budget` line: what the target leaves over the bare get, beside a
//! clock read and an atomic add measured here. `--sizes` also prints the size of one `get`
//! future, bare and layered;
//! `--each` times each layer alone (interleaved with the bare store).

use std::time::{Duration, Instant};

use std::sync::Arc;
use store_core::document::{GetItemOptions, PutItemOptions};
use store_core::memory::MemoryDocumentStore;
use store_core::testkit::bench::{Measure, Samples, rotation};
use store_core::{DocKey, Document, DocumentStore, KeySchema, KeyType, RetryPolicy};

use store_layers::{
    BreakerConfig, BreakerLayer, FallbackLayer, FaultLayer, HedgeLayer, LayerExt, Layers,
    RateLimitLayer,
};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The full stack, faults off (see the module's doc for what it leaves out and why).
fn full_stack() -> Layers {
    without_rate_limit().rate_limit(rate_limit())
}

/// The full stack but the rate limit.
fn without_rate_limit() -> Layers {
    Layers::new()
        .trace()
        .fallback(fallback())
        .breaker(BreakerLayer::new(BreakerConfig::default()))
        .retry(RetryPolicy::default())
        .hedge(hedge())
        .timeout(Duration::from_secs(5))
        .concurrency(1024)
        .faults(FaultLayer::seeded(1))
}

/// Reads the primary cannot answer go to a second in-memory table.
fn fallback() -> FallbackLayer {
    let secondary = MemoryDocumentStore::new("users", KeySchema::partition("id", KeyType::String))
        .expect("a table");
    FallbackLayer::documents(Arc::new(secondary))
}

/// A second try of a read slower than 50 ms (none here is).
fn hedge() -> HedgeLayer {
    HedgeLayer::new(Duration::from_millis(50))
}

/// A billion calls a second: never reached, so every call is admitted at once.
fn rate_limit() -> RateLimitLayer {
    RateLimitLayer::new(1_000_000_000, Duration::from_secs(1))
}

/// The gets of `gets`, each wrapped in one more boxed future that does nothing but await the
/// store's: what any wrapper of a `dyn DocumentStore` pays at least (the trait's methods
/// return boxed futures), whatever it does around the call.
async fn boxed_gets(store: &dyn DocumentStore, ops: u64) -> Duration {
    let key = DocKey::partition("user-1");
    let started = Instant::now();
    for _ in 0..ops {
        let wrapped: futures::future::BoxFuture<'_, _> =
            Box::pin(async { store.get(&key, GetItemOptions::new()).await });
        let found = wrapped.await.expect("get");
        assert!(found.is_some());
    }
    started.elapsed()
}

/// The contenders' order in `round`: rotated each round and reversed every other one, so
/// that no contender always runs after the same other one.
fn order(round: usize, contenders: usize) -> Vec<usize> {
    let mut order: Vec<usize> = rotation(round, contenders).collect();
    if round % 2 == 1 {
        order.reverse();
    }
    order
}

async fn gets(store: &dyn DocumentStore, ops: u64) -> Duration {
    let key = DocKey::partition("user-1");
    let started = Instant::now();
    for _ in 0..ops {
        let found = store.get(&key, GetItemOptions::new()).await.expect("get");
        assert!(found.is_some());
    }
    started.elapsed()
}

/// Each layer alone, and none, against the bare store: all of them in every round, the order
/// rotated, so that they share the machine's moods alike.
async fn each_layer(
    bare: &MemoryDocumentStore,
    item: &Document,
    ops: u64,
    rounds: usize,
) -> Result<(), store_core::StoreError> {
    let stacks = [
        ("none", Layers::new()),
        ("trace", Layers::new().trace()),
        ("retry", Layers::new().retry(RetryPolicy::default())),
        ("timeout", Layers::new().timeout(Duration::from_secs(5))),
        ("concurrency", Layers::new().concurrency(1024)),
        ("faults", Layers::new().faults(FaultLayer::seeded(1))),
        ("fallback", Layers::new().fallback(fallback())),
        (
            "breaker",
            Layers::new().breaker(BreakerLayer::new(BreakerConfig::default())),
        ),
        ("hedge", Layers::new().hedge(hedge())),
        ("rate limit", Layers::new().rate_limit(rate_limit())),
        ("all", full_stack()),
    ];
    let mut stores = Vec::new();
    for (_, layers) in stacks.iter().cloned() {
        let store = MemoryDocumentStore::new("users", KeySchema::partition("id", KeyType::String))?
            .layer(layers);
        store.put(item.clone(), PutItemOptions::new()).await?;
        stores.push(store);
    }
    let mut samples: Vec<Samples> = stacks.iter().map(|(name, _)| Samples::new(*name)).collect();
    let mut bare_samples = Samples::new("bare");
    for round in 0..=rounds {
        for at in order(round, stores.len() + 1) {
            let took = match stores.get(at) {
                Some(store) => gets(store, ops).await,
                None => gets(bare, ops).await,
            };
            if round > 0 {
                let per_get = took.as_secs_f64() / ops as f64;
                match samples.get_mut(at) {
                    Some(alone) => alone.push(per_get),
                    None => bare_samples.push(per_get),
                }
            }
        }
    }
    for alone in &samples {
        Measure::Time.report_rounds("layer_alone", alone, &bare_samples);
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), store_core::StoreError> {
    let ops = arg("--ops", 2_000);
    let rounds = arg("--rounds", 801).max(1) as usize;
    let schema = KeySchema::partition("id", KeyType::String);
    let bare = MemoryDocumentStore::new("users", schema.clone())?;
    let layered = MemoryDocumentStore::new("users", schema.clone())?.layer(full_stack());
    let no_rate = MemoryDocumentStore::new("users", schema)?.layer(without_rate_limit());
    let item = Document::new().with("id", "user-1").with("name", "Ada");
    bare.put(item.clone(), PutItemOptions::new()).await?;
    layered.put(item.clone(), PutItemOptions::new()).await?;
    no_rate.put(item.clone(), PutItemOptions::new()).await?;

    if std::env::args().any(|a| a == "--sizes") {
        let key = DocKey::partition("user-1");
        let bare_future = bare.get(&key, GetItemOptions::new());
        let ours_future = layered.get(&key, GetItemOptions::new());
        println!(
            "future sizes: bare {} bytes, layered {} bytes",
            std::mem::size_of_val(&*bare_future),
            std::mem::size_of_val(&*ours_future)
        );
    }
    // `--profile bare|floor|none|no-rate|ours`: one contender alone (`none`: a stack with no
    // layer), for a profiler.
    if let Some(which) = std::env::args().skip_while(|a| a != "--profile").nth(1) {
        // One long run for a sampling profiler, not the rounds' short ones.
        let ops = arg("--ops", 2_000_000);
        let empty = MemoryDocumentStore::new("users", KeySchema::partition("id", KeyType::String))?
            .layer(Layers::new());
        empty.put(item.clone(), PutItemOptions::new()).await?;
        let store: &dyn DocumentStore = match which.as_str() {
            "bare" => &bare,
            "none" => &empty,
            "no-rate" => &no_rate,
            _ => &layered,
        };
        let took = if which == "floor" {
            boxed_gets(&bare, ops).await
        } else {
            gets(store, ops).await
        };
        println!("{which}: {:.0} ns/op", took.as_nanos() as f64 / ops as f64);
        return Ok(());
    }
    // Round 0 warms all four and is not counted; then the order rotates each round.
    let mut samples = [
        Samples::new("ours"),
        Samples::new("bare"),
        Samples::new("bare in one more box"),
        Samples::new("ours without the rate limit"),
    ];
    for round in 0..=rounds {
        for at in order(round, samples.len()) {
            let took = match at {
                0 => gets(&layered, ops).await,
                1 => gets(&bare, ops).await,
                2 => boxed_gets(&bare, ops).await,
                _ => gets(&no_rate, ops).await,
            };
            if round > 0 {
                samples[at].push(took.as_secs_f64() / ops as f64);
            }
        }
    }
    if std::env::args().any(|a| a == "--each") {
        each_layer(&bare, &item, ops, rounds).await?;
    }
    let name = format!(
        "layers_overhead (one get of {ops} x {rounds} rounds, the full stack, faults off, no \
         subscriber; target <= 1.10x)"
    );
    Measure::Time.report_rounds(&name, &samples[0], &samples[1]);
    Measure::Time.report_rounds(
        "layers_without_rate_limit (the full stack but the rate limit, which reads the clock \
         on every call)",
        &samples[3],
        &samples[1],
    );
    // The floor of any wrapper: one more boxed future around the bare get.
    Measure::Time.report_rounds(
        "layers_floor (the bare get in one more boxed future, as any dyn wrapper pays)",
        &samples[2],
        &samples[1],
    );
    if let Some(bare) = samples[1].summary() {
        budget(bare.median);
    }
    Ok(())
}

/// What the 1.10x target leaves over the bare get's median (`bare`, seconds), beside what
/// the layers' primitives cost on this machine: a read of the clock (the rate limit's GCRA
/// reads it on every call, through tokio's clock so that a paused test clock drives it) and
/// an atomic add on a shared counter (a permit taken and given back, a breaker's count).
fn budget(bare: f64) {
    const N: u32 = 2_000_000;
    let median_of = |mut f: Box<dyn FnMut() -> f64>| {
        let mut runs: Vec<f64> = (0..9).map(|_| f()).collect();
        runs.sort_by(f64::total_cmp);
        runs[runs.len() / 2]
    };
    let clock = median_of(Box::new(|| {
        let started = Instant::now();
        for _ in 0..N {
            std::hint::black_box(tokio::time::Instant::now());
        }
        started.elapsed().as_secs_f64() / f64::from(N)
    }));
    let counter = std::sync::atomic::AtomicU64::new(0);
    let add = median_of(Box::new(|| {
        let started = Instant::now();
        for _ in 0..N {
            std::hint::black_box(counter.fetch_add(1, std::sync::atomic::Ordering::AcqRel));
        }
        started.elapsed().as_secs_f64() / f64::from(N)
    }));
    let ns = |seconds: f64| seconds * 1e9;
    println!(
        "bench layers_budget: the 1.10x target leaves {:.1} ns over the bare get ({:.1} ns); \
         one clock read costs {:.1} ns here, one atomic add on a shared counter {:.1} ns",
        ns(bare * 0.10),
        ns(bare),
        ns(clock),
        ns(add)
    );
}
