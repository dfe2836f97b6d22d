//! What the four tests share: the fault mix, the retry policy, the comparison of what was
//! written with what was read back, and the line each test prints.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use sha2::{Digest, Sha256};
use store_core::{ErrorKind, RetryPolicy};
use store_layers::{Fault, FaultLayer, Layers, RetryLayer};

/// The share of calls failed before they reach the store.
pub(crate) const BEFORE: f64 = 0.10;
/// The share of the remaining calls failed after the store did them ("committed, then the
/// call failed"); with [`BEFORE`], about 20% of all calls fail: 0.10 + 0.90 × 0.11 ≈ 0.20.
pub(crate) const AFTER: f64 = 0.11;

/// The seeded fault layer: `Unavailable` before the call, or `Unavailable` after the store
/// did it. The same seed gives the same sequence of draws; concurrent calls only change which
/// call gets which draw, not how many faults are drawn.
pub(crate) fn faults(seed: u64) -> FaultLayer {
    FaultLayer::seeded(seed)
        .with(Fault::error(ErrorKind::Unavailable, BEFORE))
        .with(Fault::error(ErrorKind::Unavailable, AFTER).after_success())
}

/// Quick retries, enough attempts that a run of faults on one call is absorbed (ten in a row
/// at 20% is a one-in-five-million event per call).
pub(crate) fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(10)
        .base_delay(Duration::from_millis(2))
        .max_delay(Duration::from_millis(50))
}

/// The stack the writes go through: retry outside, faults innermost.
pub(crate) fn layers(retry: RetryLayer, faults: &FaultLayer) -> Layers {
    Layers::new().retry_layer(retry).faults(faults.clone())
}

/// What the layers did, printed and checked by every test.
pub(crate) fn report(service: &str, records: usize, calls: u64, faults: &FaultLayer) -> u64 {
    let injected = faults.injected();
    let after = faults.injected_after_success();
    let attempts = faults.calls();
    let retries = attempts - calls;
    eprintln!(
        "layers {service}: {records} records in {calls} calls, {attempts} attempts: \
         {injected} faults injected ({} before the call, {after} after it succeeded), \
         {retries} retries",
        injected - after
    );
    assert!(
        injected - after > 0 && after > 0,
        "{service}: both kinds of fault must have been injected ({injected} / {after})"
    );
    // Every injected fault is retryable and every call ended well, so each was retried.
    assert!(
        retries >= injected,
        "{service}: {retries} retries for {injected} injected faults"
    );
    retries
}

/// The written and the read-back records (id, canonical text) compared: the count, lost,
/// duplicated, unexpected and differing records, and the SHA-256 of the sorted records.
pub(crate) fn assert_exact(
    service: &str,
    expected: impl IntoIterator<Item = (String, String)>,
    actual: impl IntoIterator<Item = (String, String)>,
) {
    let expected: BTreeMap<String, String> = expected.into_iter().collect();
    let actual: Vec<(String, String)> = actual.into_iter().collect();
    let mut seen = HashSet::with_capacity(actual.len());
    let duplicated = actual.iter().filter(|(id, _)| !seen.insert(id)).count();
    let lost = expected.keys().filter(|id| !seen.contains(id)).count();
    let unexpected = seen
        .iter()
        .filter(|id| !expected.contains_key(**id))
        .count();
    let differing: Vec<&String> = actual
        .iter()
        .filter(|(id, record)| expected.get(id).is_some_and(|e| e != record))
        .map(|(id, _)| id)
        .collect();
    let want = digest(expected.values());
    let mut sorted = actual.clone();
    sorted.sort();
    let got = digest(sorted.iter().map(|(_, record)| record));
    eprintln!(
        "layers {service}: read back {} of {} records: {lost} lost, {duplicated} duplicated, \
         {unexpected} unexpected, {} differing; sha256 {got}",
        actual.len(),
        expected.len(),
        differing.len()
    );
    assert_eq!(
        (lost, duplicated, unexpected, differing.len()),
        (0, 0, 0, 0),
        "{service}: first differing ids {:?}",
        &differing[..differing.len().min(5)]
    );
    assert_eq!(actual.len(), expected.len(), "{service}: count");
    assert_eq!(got, want, "{service}: checksum of the canonical records");
}

/// SHA-256 over records in order, each followed by a newline, as hex.
fn digest<'a>(records: impl IntoIterator<Item = &'a String>) -> String {
    let mut hasher = Sha256::new();
    for record in records {
        hasher.update(record.as_bytes());
        hasher.update(b"\n");
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A document as canonical text: its fields sorted by name, each `name=value` with strings
/// and integers rendered plainly (so a number read back from any backend renders the same).
pub(crate) fn canonical(doc: &store_core::Document) -> String {
    let mut fields: Vec<(&str, &store_core::Value)> = doc.iter().collect();
    fields.sort_by_key(|(name, _)| *name);
    fields
        .iter()
        .map(|(name, value)| match (value.as_str(), value.as_i64()) {
            (Some(text), _) => format!("{name}=s:{text}"),
            (None, Some(n)) => format!("{name}=n:{n}"),
            (None, None) => format!("{name}={value:?}"),
        })
        .collect::<Vec<_>>()
        .join(";")
}
