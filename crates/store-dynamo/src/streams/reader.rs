//! The reading loop: shards in parent-before-child order, round robin among the shards that
//! may be read, a new iterator when one expires, and a lost position reported, never skipped.

use std::collections::HashMap;
use std::time::Duration;

use futures::stream::{self, BoxStream};
use store_core::feed::FeedPosition;
use store_core::{Result, StoreError};
use tokio::time::Instant;

use super::api::{ReadError, StreamsApi};
use super::record::StreamRecord;
use super::shards::{ShardPosition, StreamPosition};

/// Records read together from one shard, and the stream position after them.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamBatch {
    /// The records, in their shard's order.
    pub records: Vec<StreamRecord>,
    /// Where reading continues after them; save it and hand it back to go on.
    pub position: FeedPosition,
    /// Whether every readable shard was found empty: the reader is caught up (the batch is
    /// then empty).
    pub caught_up: bool,
}

/// What a stream reader yields.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// Records (possibly none, when caught up).
    Records(StreamBatch),
    /// The stream no longer holds what follows the position read from (trimmed after 24
    /// hours, or the table's stream was replaced); the records after it are lost to this
    /// reader, which ends here.
    PositionLost {
        /// What was lost.
        reason: String,
    },
}

/// How often the reader looks for new shards, besides when a shard ends.
const DESCRIBE_EVERY: Duration = Duration::from_secs(30);

/// The reading state.
pub(crate) struct ReadLoop<'a> {
    api: &'a dyn StreamsApi,
    pub position: StreamPosition,
    max_batch: usize,
    poll_interval: Duration,
    /// A loss found before reading started (the table's stream was replaced).
    pub lost_at_start: Option<String>,
    ready: Vec<String>,
    next: usize,
    iterators: HashMap<String, String>,
    describe_at: Instant,
    empty_reads: usize,
    finished: bool,
}

impl<'a> ReadLoop<'a> {
    /// A loop reading from `position`.
    pub(crate) fn new(
        api: &'a dyn StreamsApi,
        position: StreamPosition,
        max_batch: usize,
        poll_interval: Duration,
    ) -> Self {
        Self {
            api,
            position,
            max_batch: max_batch.max(1),
            poll_interval,
            lost_at_start: None,
            ready: Vec::new(),
            next: 0,
            iterators: HashMap::new(),
            describe_at: Instant::now(),
            empty_reads: 0,
            finished: false,
        }
    }

    /// The loop as a stream.
    pub(crate) fn into_stream(self) -> BoxStream<'a, Result<StreamItem>> {
        Box::pin(stream::try_unfold(self, |mut state| async move {
            let item = state.step().await?;
            Ok(item.map(|item| (item, state)))
        }))
    }

    /// The next item; `None` when the stream is over.
    async fn step(&mut self) -> Result<Option<StreamItem>> {
        if self.finished {
            return Ok(None);
        }
        if let Some(reason) = self.lost_at_start.take() {
            return Ok(Some(self.lose(reason)));
        }
        loop {
            if self.ready.is_empty() || Instant::now() >= self.describe_at {
                let listed = self.api.shards(&self.position.stream).await?;
                match self.position.plan(&listed) {
                    Ok(ready) => self.ready = ready,
                    Err(lost) => return Ok(Some(self.lose(lost.0))),
                }
                self.iterators.retain(|id, _| self.ready.contains(id));
                self.describe_at = Instant::now() + DESCRIBE_EVERY;
                self.empty_reads = 0;
                if self.ready.is_empty() {
                    if !listed.is_empty() {
                        // Every shard is closed and read: the stream was disabled.
                        self.finished = true;
                        return Ok(None);
                    }
                    tokio::time::sleep(self.poll_interval).await;
                    continue;
                }
            }
            let shard = self.ready[self.next % self.ready.len()].clone();
            self.next = self.next.wrapping_add(1);
            match self.read_shard(&shard).await {
                Ok(Some(batch)) => return Ok(Some(StreamItem::Records(batch))),
                Ok(None) => {}
                Err(ReadError::Trimmed(reason)) => return Ok(Some(self.lose(reason))),
                Err(ReadError::IteratorExpired) => {
                    self.iterators.remove(&shard);
                }
                Err(ReadError::Store(e)) => return Err(e),
            }
            if self.empty_reads >= self.ready.len() {
                self.empty_reads = 0;
                tokio::time::sleep(self.poll_interval).await;
                return Ok(Some(StreamItem::Records(StreamBatch {
                    records: Vec::new(),
                    position: self.saved()?,
                    caught_up: true,
                })));
            }
        }
    }

    /// One `GetRecords` on `shard`: a batch when it had records, `None` when it was empty.
    async fn read_shard(
        &mut self,
        shard: &str,
    ) -> std::result::Result<Option<StreamBatch>, ReadError> {
        let iterator = match self.iterators.get(shard) {
            Some(iterator) => iterator.clone(),
            None => {
                let from = &self.position.shards[shard];
                self.api
                    .iterator(&self.position.stream, shard, from)
                    .await?
            }
        };
        let page = self.api.records(shard, &iterator, self.max_batch).await?;
        if let Some(last) = page.records.last() {
            self.position.shards.insert(
                shard.to_owned(),
                ShardPosition::After(last.sequence_number.clone()),
            );
        }
        match page.next {
            Some(next) => {
                self.iterators.insert(shard.to_owned(), next);
            }
            None => {
                // Closed and read to its end: its children may be read now.
                self.position
                    .shards
                    .insert(shard.to_owned(), ShardPosition::Done);
                self.iterators.remove(shard);
                self.ready.retain(|id| id != shard);
                self.describe_at = Instant::now();
            }
        }
        if page.records.is_empty() {
            self.empty_reads += 1;
            return Ok(None);
        }
        self.empty_reads = 0;
        Ok(Some(StreamBatch {
            records: page.records,
            position: self.saved()?,
            caught_up: false,
        }))
    }

    fn lose(&mut self, reason: String) -> StreamItem {
        self.finished = true;
        StreamItem::PositionLost { reason }
    }

    fn saved(&self) -> Result<FeedPosition> {
        encode(&self.position)
    }
}

/// A stream position as the text of a [`FeedPosition`].
pub(crate) fn encode(position: &StreamPosition) -> Result<FeedPosition> {
    serde_json::to_string(position)
        .map(FeedPosition::new)
        .map_err(|e| StoreError::internal(format!("stream position encoding failed: {e}")))
}

/// A [`FeedPosition`] read back; text no stream reader wrote is `InvalidInput`.
pub(crate) fn decode(position: &FeedPosition) -> Result<StreamPosition> {
    serde_json::from_str(position.as_str()).map_err(|e| {
        StoreError::invalid_input(format!(
            "`{}` is not a DynamoDB stream position ({e})",
            position.as_str()
        ))
    })
}
