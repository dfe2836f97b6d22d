//! The three DynamoDB Streams calls the reader makes, behind a trait so the reader's ordering
//! can be tested on a recorded stream without a server.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use store_core::{Result, StoreError};

use super::record::StreamRecord;
use super::shards::{ShardInfo, ShardPosition};
use crate::error::map_sdk_error;

/// Why a read failed.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The records asked for were trimmed from the stream (older than 24 hours).
    Trimmed(String),
    /// The shard iterator expired (15 minutes unused): get a new one from the same position.
    IteratorExpired,
    /// Anything else.
    Store(StoreError),
}

impl From<StoreError> for ReadError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// One `GetRecords` answer.
#[derive(Debug, Default)]
pub(crate) struct RecordsPage {
    /// The records, in shard order.
    pub records: Vec<StreamRecord>,
    /// Where to read next; `None` when the shard is closed and read to its end.
    pub next: Option<String>,
}

/// The calls.
#[async_trait]
pub(crate) trait StreamsApi: Send + Sync {
    /// Every shard the stream lists now (all pages of `DescribeStream`).
    async fn shards(&self, stream: &str) -> Result<Vec<ShardInfo>>;

    /// An iterator at a shard position (never called with `Done`).
    async fn iterator(
        &self,
        stream: &str,
        shard: &str,
        from: &ShardPosition,
    ) -> std::result::Result<String, ReadError>;

    /// Up to `limit` records from an iterator.
    async fn records(
        &self,
        shard: &str,
        iterator: &str,
        limit: usize,
    ) -> std::result::Result<RecordsPage, ReadError>;
}

/// The calls on the real service.
#[async_trait]
impl StreamsApi for Client {
    async fn shards(&self, stream: &str) -> Result<Vec<ShardInfo>> {
        let mut shards = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let out = self
                .describe_stream()
                .stream_arn(stream)
                .set_exclusive_start_shard_id(after.take())
                .send()
                .await
                .map_err(|e| map_sdk_error(e, "DescribeStream", stream))?;
            let Some(description) = out.stream_description else {
                return Err(StoreError::internal(format!(
                    "DescribeStream on {stream} answered without a description"
                )));
            };
            shards.extend(
                description
                    .shards
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|shard| {
                        let closed = shard
                            .sequence_number_range
                            .as_ref()
                            .is_some_and(|range| range.ending_sequence_number.is_some());
                        Some(ShardInfo {
                            id: shard.shard_id?,
                            parent: shard.parent_shard_id,
                            closed,
                        })
                    }),
            );
            match description.last_evaluated_shard_id {
                Some(last) => after = Some(last),
                None => return Ok(shards),
            }
        }
    }

    async fn iterator(
        &self,
        stream: &str,
        shard: &str,
        from: &ShardPosition,
    ) -> std::result::Result<String, ReadError> {
        let request = self.get_shard_iterator().stream_arn(stream).shard_id(shard);
        let request = match from {
            ShardPosition::After(seq) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(seq),
            _ => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let out = request
            .send()
            .await
            .map_err(|e| classify(e, "GetShardIterator", shard))?;
        out.shard_iterator.ok_or_else(|| {
            ReadError::Trimmed(format!(
                "DynamoDB Streams gave no iterator for shard {shard}: it is closed and trimmed"
            ))
        })
    }

    async fn records(
        &self,
        shard: &str,
        iterator: &str,
        limit: usize,
    ) -> std::result::Result<RecordsPage, ReadError> {
        let out = self
            .get_records()
            .shard_iterator(iterator)
            .limit(limit.clamp(1, 1_000) as i32)
            .send()
            .await
            .map_err(|e| classify(e, "GetRecords", shard))?;
        Ok(RecordsPage {
            records: out
                .records()
                .iter()
                .map(|r| StreamRecord::from_sdk(r, shard))
                .collect::<Result<_>>()?,
            next: out.next_shard_iterator,
        })
    }
}

/// Sorts a failed call into trimmed, expired and the rest.
fn classify<E>(err: SdkError<E>, operation: &'static str, shard: &str) -> ReadError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err.code() {
        Some("TrimmedDataAccessException") => ReadError::Trimmed(format!(
            "{operation} on shard {shard}: the records asked for were trimmed from the stream"
        )),
        Some("ExpiredIteratorException") => ReadError::IteratorExpired,
        _ => ReadError::Store(map_sdk_error(err, operation, shard)),
    }
}
