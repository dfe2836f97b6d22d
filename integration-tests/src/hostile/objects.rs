//! The corpus against an [`ObjectStore`]: hostile strings as keys, hostile bodies.

use bytes::Bytes;
use futures::TryStreamExt;
use store_core::object::{ListEntry, ListOptions, PutOptions};
use store_core::{ObjectKey, ObjectStore, ObjectStoreExt};

use super::{Failure, Report, corpus, same};

/// Puts `body` under `key` and reads it back: equal, or the store's error.
async fn round_trip(store: &dyn ObjectStore, key: &str, body: Bytes) -> Result<(), Failure> {
    let key = ObjectKey::new(key)?;
    store.put(&key, body.clone(), PutOptions::new()).await?;
    let got = store.get_bytes(&key).await?;
    same("the body", &got, &body)?;
    let meta = store.head(&key).await?;
    same("the size", &meta.size, &(body.len() as u64))
}

/// Runs every entry that applies to an object store on `store` (an empty bucket or
/// directory), then checks its listing and that it still works; deletes every object it
/// stored. `report` names the backend and any server defects declared for it.
pub async fn run(store: &dyn ObjectStore, mut report: Report) {
    let corpus = corpus();
    let mut stored = Vec::new();
    for entry in &corpus.texts {
        let body = Bytes::from(format!("object named {}", entry.name));
        if report
            .entry(
                format!("key: {}", entry.name),
                round_trip(store, &entry.text, body),
            )
            .await
        {
            stored.push(entry.text.clone());
        }
    }
    let bodies: [(&str, Bytes); 3] = [
        ("empty body", Bytes::new()),
        ("NUL bytes", Bytes::from(vec![0u8; 4096])),
        (
            "every byte value",
            Bytes::from((0..=255u8).cycle().take(70_000).collect::<Vec<_>>()),
        ),
    ];
    for (i, (name, body)) in bodies.into_iter().enumerate() {
        let key = format!("bodies/{i}");
        if report
            .entry(format!("body: {name}"), round_trip(store, &key, body))
            .await
        {
            stored.push(key);
        }
    }
    for (first, second) in &corpus.normalization_twins {
        report
            .entry(format!("twin keys {first:?} / {second:?}"), async {
                round_trip(store, first, Bytes::from_static(b"first")).await?;
                round_trip(store, second, Bytes::from_static(b"second")).await?;
                let got = store.get_bytes(&ObjectKey::new(first.clone())?).await?;
                same(
                    &format!("twin {first:?}"),
                    &got,
                    &Bytes::from_static(b"first"),
                )
            })
            .await;
    }
    // The listing holds each stored key exactly once (exactly as written where the backend
    // lists keys exactly; the twins were checked above).
    let twins = 2 * corpus.normalization_twins.len();
    let exact = store.capabilities().exact_listed_keys;
    report
        .entry("listing", async {
            let listed: Vec<String> = store
                .list(ListOptions::new())
                .map_ok(|entry| match entry {
                    ListEntry::Object(meta) => meta.key.as_str().to_owned(),
                    ListEntry::Prefix(prefix) => prefix,
                })
                .try_collect()
                .await?;
            if listed.len() < stored.len() || listed.len() > stored.len() + twins {
                return Err(Failure::Breach(format!(
                    "{} keys listed for {} stored (+{twins} twins)",
                    listed.len(),
                    stored.len()
                )));
            }
            for key in stored.iter().filter(|_| exact) {
                if listed.iter().filter(|k| *k == key).count() != 1 {
                    return Err(Failure::Breach(format!(
                        "{:?} is not listed once",
                        short(key)
                    )));
                }
            }
            Ok(())
        })
        .await;
    if let Err(e) = round_trip(store, "after/ok", Bytes::from_static(b"still works")).await {
        report.breach(format!("the store no longer works normally: {e}"));
    }
    let twin_keys = corpus.normalization_twins.iter().flat_map(|(a, b)| [a, b]);
    for key in stored
        .iter()
        .chain(twin_keys)
        .chain([&"after/ok".to_owned()])
    {
        if let Ok(key) = ObjectKey::new(key.clone()) {
            let _ = store.delete(&key).await;
        }
    }
    report.finish();
}

fn short(key: &str) -> String {
    key.chars().take(40).collect()
}
