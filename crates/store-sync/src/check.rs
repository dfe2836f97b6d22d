//! [`check`]: do two collections, of any kinds, hold the same records?

use futures::TryStreamExt;
use store_core::Result;

use crate::digest::{CollectionDigest, Comparison, RecordDigest};
use crate::record::shown_id;
use crate::source::{Partition, RecordSource};
use crate::spill::{Joined, SpillJoin, SpillOptions};

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

/// A count of differences and a sample of their keys: the [`SAMPLE_LIMIT`] first canonical
/// key texts in sorted order, whatever order the stores were read in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Differences {
    /// How many.
    pub count: u64,
    /// Up to [`SAMPLE_LIMIT`] keys, sorted.
    pub sample: Vec<String>,
}

impl Differences {
    pub(crate) fn add(&mut self, key: &str) {
        self.count += 1;
        let full = self.sample.len() >= SAMPLE_LIMIT;
        if full && self.sample.last().is_some_and(|last| key >= last.as_str()) {
            return;
        }
        if let Err(at) = self.sample.binary_search_by(|held| held.as_str().cmp(key)) {
            self.sample.insert(at, key.to_owned());
            self.sample.truncate(SAMPLE_LIMIT);
        }
    }
}

/// The comparison two stores can agree on: JSON when either side stores JSON only; else keys
/// by their text when either keys by text ids; else with every type.
pub fn comparison_for(left: Comparison, right: Comparison) -> Comparison {
    let either = |c: Comparison| left == c || right == c;
    if either(Comparison::Json) {
        Comparison::Json
    } else if either(Comparison::TypedValues) {
        Comparison::TypedValues
    } else {
        Comparison::Typed
    }
}

/// Compares two collections by count, keys and content, and computes each one's
/// order-independent digest, holding at most the default number of keys in memory
/// ([`SpillOptions::default`]).
pub async fn check(
    left: &dyn RecordSource,
    right: &dyn RecordSource,
    batch_size: usize,
) -> Result<CheckReport> {
    check_with(left, right, batch_size, &SpillOptions::default()).await
}

/// [`check`], holding at most `spill.in_memory_keys` of the first collection's keys and
/// record digests in memory: past that, both collections' keys and digests are partitioned
/// into temporary files under `spill.dir` and compared a partition at a time. The second
/// collection is streamed.
pub async fn check_with(
    left: &dyn RecordSource,
    right: &dyn RecordSource,
    batch_size: usize,
    spill: &SpillOptions,
) -> Result<CheckReport> {
    let comparison = comparison_for(left.comparison(), right.comparison());
    let mut left_digest = CollectionDigest::default();
    let mut join = SpillJoin::<RecordDigest, RecordDigest>::new(spill);
    let mut batches = left.read(Partition::whole(), None, batch_size.max(1));
    while let Some(batch) = batches.try_next().await? {
        for record in batch.records {
            let digest = RecordDigest::of(&record, comparison);
            left_digest.add(&digest);
            join.insert(record.key.match_id(comparison), digest)?;
        }
    }
    drop(batches);

    let mut right_digest = CollectionDigest::default();
    let mut tally = Tally::default();
    let mut batches = right.read(Partition::whole(), None, batch_size.max(1));
    while let Some(batch) = batches.try_next().await? {
        for record in batch.records {
            let digest = RecordDigest::of(&record, comparison);
            right_digest.add(&digest);
            if let Some((id, joined)) = join.probe(record.key.match_id(comparison), digest)? {
                tally.add(&shown_id(&id, comparison), joined);
            }
        }
    }
    let mut rest = join.finish()?;
    while let Some((id, joined)) = rest.next()? {
        tally.add(&shown_id(&id, comparison), joined);
    }
    Ok(CheckReport {
        left: left_digest,
        right: right_digest,
        comparison,
        only_left: tally.only_left,
        only_right: tally.only_right,
        differing: tally.differing,
    })
}

/// The differences found so far.
#[derive(Default)]
struct Tally {
    only_left: Differences,
    only_right: Differences,
    differing: Differences,
}

impl Tally {
    fn add(&mut self, id: &str, joined: Joined<RecordDigest, RecordDigest>) {
        match joined {
            Joined::Both(left, right) if left != right => self.differing.add(id),
            Joined::Both(..) => {}
            Joined::BuildOnly(_) => self.only_left.add(id),
            Joined::ProbeOnly(_) => self.only_right.add(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_the_smallest_keys_whatever_the_order() {
        let mut forward = Differences::default();
        let mut backward = Differences::default();
        let keys: Vec<String> = (0..100).map(|i| format!("k{i:03}")).collect();
        for key in &keys {
            forward.add(key);
        }
        for key in keys.iter().rev() {
            backward.add(key);
        }
        assert_eq!(forward, backward);
        assert_eq!(forward.count, 100);
        assert_eq!(forward.sample, keys[..SAMPLE_LIMIT]);
    }
}
