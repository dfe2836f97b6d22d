//! [`check`]: do two collections, of any kinds, hold the same records?

use std::collections::HashMap;

use futures::TryStreamExt;
use store_core::Result;

use crate::digest::{CollectionDigest, Comparison, RecordDigest};
use crate::source::{Partition, RecordSource};

/// How many keys of each kind of difference a report lists (all are counted).
pub const SAMPLE_LIMIT: usize = 20;

/// What [`check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The first collection's digest and count.
    pub left: CollectionDigest,
    /// The second collection's digest and count.
    pub right: CollectionDigest,
    /// How values were compared.
    pub comparison: Comparison,
    /// Keys only the first collection has: the count and up to [`SAMPLE_LIMIT`] of them.
    pub only_left: Differences,
    /// Keys only the second collection has.
    pub only_right: Differences,
    /// Keys both have with different content.
    pub differing: Differences,
}

impl CheckReport {
    /// Whether the two collections hold the same records.
    pub fn is_equal(&self) -> bool {
        self.only_left.count == 0
            && self.only_right.count == 0
            && self.differing.count == 0
            && self.left == self.right
    }
}

/// A count of differences and a sample of their keys (canonical key texts, sorted).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Differences {
    /// How many.
    pub count: u64,
    /// Up to [`SAMPLE_LIMIT`] keys.
    pub sample: Vec<String>,
}

impl Differences {
    pub(crate) fn add(&mut self, key: &str) {
        self.count += 1;
        if self.sample.len() < SAMPLE_LIMIT {
            self.sample.push(key.to_owned());
        }
    }
}

/// The comparison two stores can agree on: JSON when either side stores JSON only.
pub fn comparison_for(left: Comparison, right: Comparison) -> Comparison {
    if left == Comparison::Json || right == Comparison::Json {
        Comparison::Json
    } else {
        Comparison::Typed
    }
}

/// Compares two collections by count, keys and content, and computes each one's
/// order-independent digest.
///
/// The first collection's keys and record digests are held in memory (about 100 bytes a
/// record); the second is streamed.
pub async fn check(
    left: &dyn RecordSource,
    right: &dyn RecordSource,
    batch_size: usize,
) -> Result<CheckReport> {
    let comparison = comparison_for(left.comparison(), right.comparison());
    let mut left_digest = CollectionDigest::default();
    let mut seen: HashMap<String, RecordDigest> = HashMap::new();
    let mut batches = left.read(Partition::whole(), None, batch_size.max(1));
    while let Some(batch) = batches.try_next().await? {
        for record in batch.records {
            let digest = RecordDigest::of(&record, comparison);
            left_digest.add(&digest);
            seen.insert(record.key.id().to_owned(), digest);
        }
    }
    drop(batches);

    let mut right_digest = CollectionDigest::default();
    let mut only_right = Differences::default();
    let mut differing = Differences::default();
    let mut batches = right.read(Partition::whole(), None, batch_size.max(1));
    while let Some(batch) = batches.try_next().await? {
        for record in batch.records {
            let digest = RecordDigest::of(&record, comparison);
            right_digest.add(&digest);
            match seen.remove(record.key.id()) {
                None => only_right.add(record.key.id()),
                Some(theirs) if theirs != digest => differing.add(record.key.id()),
                Some(_) => {}
            }
        }
    }
    let mut only_left = Differences {
        count: seen.len() as u64,
        sample: seen.into_keys().collect(),
    };
    only_left.sample.sort_unstable();
    only_left.sample.truncate(SAMPLE_LIMIT);
    only_right.sample.sort_unstable();
    differing.sample.sort_unstable();
    Ok(CheckReport {
        left: left_digest,
        right: right_digest,
        comparison,
        only_left,
        only_right,
        differing,
    })
}
