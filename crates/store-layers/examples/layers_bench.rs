//! The cost of the layers: a `get` on the in-memory document store through every layer at
//! once (faults off) against the bare store, interleaved, median of several rounds.
//!
//! `cargo run -p store-layers --release --example layers_bench [-- --ops N --rounds R]`
//! prints `bench layers_overhead: ours <ns/op> vs bare <ns/op> = <ratio>x`; `--sizes` also
//! prints the size of one `get` future, bare and layered; `--each` times each layer alone.

use std::time::{Duration, Instant};

use store_core::document::{GetItemOptions, PutItemOptions};
use store_core::memory::MemoryDocumentStore;
use store_core::{DocKey, Document, DocumentStore, KeySchema, KeyType, RetryPolicy};
use store_layers::{FaultLayer, LayerExt, Layers};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The stack measured: every layer that has work to do on a call, faults off.
fn every_layer() -> Layers {
    Layers::new()
        .trace()
        .retry(RetryPolicy::default())
        .timeout(Duration::from_secs(5))
        .concurrency(1024)
        .faults(FaultLayer::seeded(1))
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

fn median(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), store_core::StoreError> {
    let ops = arg("--ops", 200_000);
    let rounds = arg("--rounds", 7) as usize;
    let schema = KeySchema::partition("id", KeyType::String);
    let bare = MemoryDocumentStore::new("users", schema.clone())?;
    let layered = MemoryDocumentStore::new("users", schema)?.layer(every_layer());
    let item = Document::new().with("id", "user-1").with("name", "Ada");
    bare.put(item.clone(), PutItemOptions::new()).await?;
    layered.put(item.clone(), PutItemOptions::new()).await?;

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
    // `--profile bare|ours`: one contender alone, for a profiler.
    if let Some(which) = std::env::args().skip_while(|a| a != "--profile").nth(1) {
        let store: &dyn DocumentStore = if which == "bare" { &bare } else { &layered };
        let took = gets(store, ops).await;
        println!("{which}: {:.0} ns/op", took.as_nanos() as f64 / ops as f64);
        return Ok(());
    }
    // Warm both, then interleave the contenders round by round.
    gets(&bare, ops / 10).await;
    gets(&layered, ops / 10).await;
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        base.push(gets(&bare, ops).await.as_nanos() as f64 / ops as f64);
        ours.push(gets(&layered, ops).await.as_nanos() as f64 / ops as f64);
    }
    if std::env::args().any(|a| a == "--each") {
        for (name, layers) in [
            ("none", Layers::new()),
            ("trace", Layers::new().trace()),
            ("retry", Layers::new().retry(RetryPolicy::default())),
            ("timeout", Layers::new().timeout(Duration::from_secs(5))),
            ("concurrency", Layers::new().concurrency(1024)),
            ("faults", Layers::new().faults(FaultLayer::seeded(1))),
            ("all", every_layer()),
        ] {
            let store =
                MemoryDocumentStore::new("users", KeySchema::partition("id", KeyType::String))?
                    .layer(layers);
            store.put(item.clone(), PutItemOptions::new()).await?;
            gets(&store, ops / 10).await;
            let mut xs = Vec::new();
            for _ in 0..rounds {
                xs.push(gets(&store, ops).await.as_nanos() as f64 / ops as f64);
            }
            println!("  only {name}: {:.0} ns/op", median(xs).0);
        }
    }
    let (o, o_lo, o_hi) = median(ours);
    let (b, b_lo, b_hi) = median(base);
    println!(
        "bench layers_overhead: ours {o:.0} ns/op (range {o_lo:.0}-{o_hi:.0}) vs bare {b:.0} ns/op \
         (range {b_lo:.0}-{b_hi:.0}) = {:.2}x  [{ops} gets x {rounds} rounds, every layer on, faults off, no subscriber]",
        o / b
    );
    Ok(())
}
