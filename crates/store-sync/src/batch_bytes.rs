//! Batches bounded by bytes as well as by records: a source reads pages of at most
//! [`BATCH_BYTES`] or so, so a copy of rows of a megabyte each holds a few batches of a few
//! megabytes, not `--batch-size` of them.

use futures::stream::{self, Stream, StreamExt};
use store_core::{Document, Result};

/// About how many bytes of records one batch holds at most (as
/// [`Document::approximate_size`] counts them), whatever `--batch-size` allows.
pub const BATCH_BYTES: usize = 8 << 20;

/// Records a source's first page holds at most: the records' size is not known yet, and 16
/// records of 10 MB are already 160 MB.
const FIRST_PAGE: usize = 16;

/// How much larger one page may be than the one before it, while the records stay small.
const GROWTH: usize = 4;

/// The size of a source's next page: at most `batch_size` records and about [`BATCH_BYTES`]
/// by the records seen so far, starting small and growing as the records turn out small.
#[derive(Debug, Clone)]
pub(crate) struct PageSizer {
    max: usize,
    next: usize,
}

impl PageSizer {
    /// Pages of at most `batch_size` records (at least 1).
    pub(crate) fn new(batch_size: usize) -> Self {
        let max = batch_size.max(1);
        Self {
            max,
            next: max.min(FIRST_PAGE),
        }
    }

    /// Records the next page asks for.
    pub(crate) fn size(&self) -> usize {
        self.next
    }

    /// Sizes the following page after one of `records` documents of `bytes` in all.
    pub(crate) fn observe(&mut self, records: usize, bytes: usize) {
        if records == 0 {
            return;
        }
        let each = (bytes / records).max(1);
        let fitting = (BATCH_BYTES / each).max(1);
        self.next = fitting.min(self.next.saturating_mul(GROWTH)).min(self.max);
    }

    /// [`observe`](Self::observe) a page of documents.
    pub(crate) fn observe_page<'d>(&mut self, page: impl IntoIterator<Item = &'d Document>) {
        let (records, bytes) = page
            .into_iter()
            .fold((0, 0), |(n, b), doc| (n + 1, b + doc.approximate_size()));
        self.observe(records, bytes);
    }
}

/// `items` in chunks of at most `batch_size` items and about [`BATCH_BYTES`] (as `size`
/// counts them; a chunk ends after the item that reaches it); an error ends its chunk (as its
/// last item) and the stream.
pub(crate) fn chunks_within<'s, T: Send + 's>(
    items: impl Stream<Item = Result<T>> + Send + 's,
    batch_size: usize,
    size: fn(&T) -> usize,
) -> impl Stream<Item = Vec<Result<T>>> + Send + 's {
    chunks_within_bytes(items, batch_size, BATCH_BYTES, size)
}

/// [`chunks_within`] with chunks of about `max_bytes` at most.
pub(crate) fn chunks_within_bytes<'s, T: Send + 's>(
    items: impl Stream<Item = Result<T>> + Send + 's,
    batch_size: usize,
    max_bytes: usize,
    size: fn(&T) -> usize,
) -> impl Stream<Item = Vec<Result<T>>> + Send + 's {
    let batch_size = batch_size.max(1);
    stream::unfold(
        (Box::pin(items), false),
        move |(mut items, done)| async move {
            if done {
                return None;
            }
            let mut chunk = Vec::new();
            let mut bytes = 0;
            while let Some(item) = items.next().await {
                let failed = item.is_err();
                if let Ok(value) = &item {
                    bytes += size(value);
                }
                chunk.push(item);
                if failed || chunk.len() >= batch_size || bytes >= max_bytes {
                    return Some((chunk, (items, false)));
                }
            }
            (!chunk.is_empty()).then_some((chunk, (items, true)))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_start_small_grow_while_records_are_small_and_shrink_for_large_ones() {
        let mut sizer = PageSizer::new(5_000);
        let mut sizes = vec![sizer.size()];
        for _ in 0..6 {
            sizer.observe(sizer.size(), sizer.size() * 100);
            sizes.push(sizer.size());
        }
        assert_eq!(sizes, [16, 64, 256, 1_024, 4_096, 5_000, 5_000]);
        // Records of a megabyte: 8 to a page; of 100 MB, one.
        sizer.observe(10, 10 << 20);
        assert_eq!(sizer.size(), 8);
        sizer.observe(1, 100 << 20);
        assert_eq!(sizer.size(), 1);
        // A small batch size is the limit from the start.
        assert_eq!(PageSizer::new(2).size(), 2);
        assert_eq!(PageSizer::new(0).size(), 1);
    }

    #[tokio::test]
    async fn chunks_end_at_the_count_or_the_bytes() {
        let sizes = [1usize, 2, BATCH_BYTES, 3, 4, 5, 6, 7];
        let items = stream::iter(sizes.map(Ok::<usize, store_core::StoreError>));
        let chunks: Vec<Vec<usize>> = chunks_within(items, 3, |n| *n)
            .map(|chunk| chunk.into_iter().map(|r| r.unwrap()).collect())
            .collect()
            .await;
        assert_eq!(chunks, [vec![1, 2, BATCH_BYTES], vec![3, 4, 5], vec![6, 7]]);
        let big = [BATCH_BYTES + 1, 1];
        let items = stream::iter(big.map(Ok::<usize, store_core::StoreError>));
        let chunks: Vec<usize> = chunks_within(items, 100, |n| *n)
            .map(|c| c.len())
            .collect()
            .await;
        assert_eq!(chunks, [1, 1]);
    }
}
