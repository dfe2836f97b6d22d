//! What an object transfer tells its [`Progress`]: the source's size, counted by a second
//! listing, and the objects and bytes done, a few times a second rather than once an
//! object.

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use store_core::Result;

use super::ObjectLocation;
use crate::progress::{Event, Progress};
use crate::source::Partition;

/// How often progress is reported at most (and once more at the end).
const REPORT_EVERY: Duration = Duration::from_millis(200);

/// Counts the objects under `location` and their bytes, by listing it.
pub(crate) async fn count(location: &ObjectLocation) -> Result<(u64, u64)> {
    count_after(location, Partition::whole(), None).await
}

/// Counts the objects of `partition` under `location` after the relative key `after`, and
/// their bytes, by listing them.
pub(crate) async fn count_after(
    location: &ObjectLocation,
    partition: Partition,
    after: Option<&str>,
) -> Result<(u64, u64)> {
    location
        .listing_after(after)
        .try_filter(|(relative, _)| futures::future::ready(partition.holds_id(relative)))
        .try_fold((0u64, 0u64), |(objects, bytes), (_, meta)| async move {
            Ok((objects + 1, bytes + meta.size))
        })
        .await
}

/// The objects and bytes done so far, reported at most every [`REPORT_EVERY`].
pub(super) struct Done<'a> {
    progress: &'a dyn Progress,
    objects: u64,
    bytes: u64,
    reported: u64,
    last: Instant,
}

impl<'a> Done<'a> {
    /// Nothing done yet.
    pub(super) fn new(progress: &'a dyn Progress) -> Self {
        Self {
            progress,
            objects: 0,
            bytes: 0,
            reported: 0,
            last: Instant::now(),
        }
    }

    /// One more object of `size` bytes copied or found equal.
    pub(super) fn add(&mut self, size: u64) {
        self.objects += 1;
        self.bytes += size;
        if self.last.elapsed() >= REPORT_EVERY {
            self.report();
        }
    }

    /// Reports what is done since the last report, if anything.
    pub(super) fn report(&mut self) {
        if self.objects == self.reported {
            return;
        }
        self.progress.event(&Event::Progress {
            records: self.objects,
            batch: self.objects - self.reported,
            bytes: Some(self.bytes),
        });
        self.reported = self.objects;
        self.last = Instant::now();
    }
}
