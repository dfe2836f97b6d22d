//! DynamoDB Streams (feature `streams`): a table's changes as a plain stream of exact
//! [`StreamRecord`]s, and as a [`ChangeFeed`] that store-sync follows.
//!
//! The reader reads every shard of the table's stream, a child shard only after its parent is
//! read to its end (so a key's changes come in order across shard splits), and round robin
//! among the shards that may be read. Its position ([`FeedPosition`]) is a small JSON text: the
//! stream's ARN and each shard's last sequence number. A position the stream no longer holds
//! — a shard trimmed (after 24 hours) while being read, or the table's stream replaced — is
//! reported as [`StreamItem::PositionLost`], never skipped.
//!
//! A new position ([`StreamsReader::position_now`]) starts at the oldest record every shard
//! still keeps, since DynamoDB Streams cannot name "now" as a resumable place: reading from it
//! replays up to 24 hours of changes, which is harmless when they are applied by key in
//! order, as store-sync does.
//!
//! ```no_run
//! # async fn demo() -> store_core::Result<()> {
//! use futures::StreamExt;
//! use store_dynamo::streams::StreamItem;
//! use store_dynamo::{StreamView, TableAdmin};
//!
//! let admin = TableAdmin::builder().endpoint("http://127.0.0.1:5000").build().await;
//! admin.enable_stream("orders", StreamView::NewAndOldImages).await?;
//! let reader = admin.stream_reader("orders")?;
//! let mut records = reader.read(reader.position_now().await?, 500);
//! while let Some(item) = records.next().await {
//!     match item? {
//!         StreamItem::Records(batch) => {
//!             for record in &batch.records {
//!                 println!("{:?} {:?}", record.event, record.keys);
//!             }
//!             // save batch.position to resume here later
//!         }
//!         StreamItem::PositionLost { reason } => panic!("copy the table again: {reason}"),
//!     }
//! }
//! # Ok(()) }
//! ```

mod api;
mod reader;
mod record;
mod shards;
#[cfg(test)]
mod tests;

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
use futures::stream::{self, BoxStream, StreamExt};
use store_core::feed::{ChangeBatch, ChangeFeed, FeedItem, FeedPosition};
use store_core::{Result, StoreError};

pub use reader::{StreamBatch, StreamItem};
pub use record::{StreamEvent, StreamRecord};

use crate::TableAdmin;
use crate::error::map_sdk_error;
use api::StreamsApi;
use reader::{ReadLoop, decode, encode};
use shards::StreamPosition;

/// What a table's stream records of each change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamView {
    /// Only the key attributes.
    KeysOnly,
    /// The item after the change.
    NewImage,
    /// The item before the change.
    OldImage,
    /// The item before and after the change.
    NewAndOldImages,
}

impl StreamView {
    fn to_sdk(self) -> StreamViewType {
        match self {
            Self::KeysOnly => StreamViewType::KeysOnly,
            Self::NewImage => StreamViewType::NewImage,
            Self::OldImage => StreamViewType::OldImage,
            Self::NewAndOldImages => StreamViewType::NewAndOldImages,
        }
    }

    fn from_sdk(view: &StreamViewType) -> Option<Self> {
        match view {
            StreamViewType::KeysOnly => Some(Self::KeysOnly),
            StreamViewType::NewImage => Some(Self::NewImage),
            StreamViewType::OldImage => Some(Self::OldImage),
            StreamViewType::NewAndOldImages => Some(Self::NewAndOldImages),
            _ => None,
        }
    }

    /// Whether the stream records the item after each change, which following needs.
    pub fn has_new_image(self) -> bool {
        matches!(self, Self::NewImage | Self::NewAndOldImages)
    }
}

impl TableAdmin {
    /// Reaches DynamoDB Streams through `client` (a handle built by the builder already does).
    pub fn with_streams_client(mut self, client: aws_sdk_dynamodbstreams::Client) -> Self {
        self.streams = Some(client);
        self
    }

    /// A reader of `table`'s stream. A handle made with [`TableAdmin::from_client`] needs
    /// [`TableAdmin::with_streams_client`] first.
    pub fn stream_reader(&self, table: &str) -> Result<StreamsReader> {
        let streams = self.streams.clone().ok_or_else(|| {
            StoreError::invalid_input(
                "this TableAdmin was made from a client: give it a DynamoDB Streams client with \
                 with_streams_client",
            )
        })?;
        Ok(StreamsReader::from_clients(
            self.client.clone(),
            streams,
            table,
        ))
    }

    /// Turns on `table`'s stream with `view`; returns the new stream's ARN. A table whose
    /// stream is on already is an `InvalidInput` error from the service.
    pub async fn enable_stream(&self, table: &str, view: StreamView) -> Result<String> {
        self.set_stream(table, Some(view)).await?.ok_or_else(|| {
            StoreError::internal(format!("DynamoDB enabled {table}'s stream but named none"))
        })
    }

    /// Turns off `table`'s stream (its records stay readable for 24 hours).
    pub async fn disable_stream(&self, table: &str) -> Result<()> {
        self.set_stream(table, None).await.map(drop)
    }

    async fn set_stream(&self, table: &str, view: Option<StreamView>) -> Result<Option<String>> {
        let spec = StreamSpecification::builder()
            .stream_enabled(view.is_some())
            .set_stream_view_type(view.map(StreamView::to_sdk))
            .build()
            .map_err(|e| StoreError::internal(format!("stream specification: {e}")))?;
        let out = self
            .client
            .update_table()
            .table_name(table)
            .stream_specification(spec)
            .send()
            .await
            .map_err(|e| map_sdk_error(e, "UpdateTable", table))?;
        Ok(out
            .table_description
            .and_then(|description| description.latest_stream_arn))
    }
}

/// Reads one table's DynamoDB Stream. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StreamsReader {
    tables: aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    table: String,
    poll_interval: Duration,
}

impl StreamsReader {
    /// A reader of `table`'s stream through a DynamoDB client (to find the stream) and a
    /// DynamoDB Streams client (to read it).
    pub fn from_clients(
        tables: aws_sdk_dynamodb::Client,
        streams: aws_sdk_dynamodbstreams::Client,
        table: impl Into<String>,
    ) -> Self {
        Self {
            tables,
            streams,
            table: table.into(),
            poll_interval: Duration::from_secs(1),
        }
    }

    /// How long to wait when every shard was found empty before asking again (default one
    /// second; DynamoDB allows five reads a second per shard).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The table read.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The table's current stream: its ARN and view type. A table without an enabled stream
    /// is `InvalidInput`, saying how to turn one on.
    pub async fn stream(&self) -> Result<(String, StreamView)> {
        let out = self
            .tables
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| map_sdk_error(e, "DescribeTable", &self.table))?;
        let (spec, arn) = out
            .table
            .map(|t| (t.stream_specification, t.latest_stream_arn))
            .unwrap_or_default();
        match (spec.filter(|s| s.stream_enabled), arn) {
            (Some(spec), Some(arn)) => {
                let view = spec
                    .stream_view_type
                    .as_ref()
                    .and_then(StreamView::from_sdk)
                    .ok_or_else(|| {
                        StoreError::internal(format!(
                            "table `{}` has a stream of an unknown view type",
                            self.table
                        ))
                    })?;
                Ok((arn, view))
            }
            _ => Err(StoreError::invalid_input(format!(
                "table `{}` has no enabled stream: turn one on with view type NEW_IMAGE or \
                 NEW_AND_OLD_IMAGES (TableAdmin::enable_stream, or `aws dynamodb update-table \
                 --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES`)",
                self.table
            ))),
        }
    }

    /// A position at the oldest record each shard of the table's current stream keeps.
    pub async fn position_now(&self) -> Result<FeedPosition> {
        let (arn, _) = self.stream().await?;
        let shards = self.streams.shards(&arn).await?;
        encode(&StreamPosition::start(arn, &shards))
    }

    /// The records after `from`, in batches of at most `max_batch` (DynamoDB returns at most
    /// 1,000 a call), waiting for new ones when caught up; the stream ends after a
    /// [`StreamItem::PositionLost`], or when the stream was disabled and read to its end.
    pub fn read(&self, from: FeedPosition, max_batch: usize) -> BoxStream<'_, Result<StreamItem>> {
        let start = async move {
            let position = decode(&from)?;
            let (arn, _) = self.stream().await?;
            let mut reader = ReadLoop::new(&self.streams, position, max_batch, self.poll_interval);
            if arn != reader.position.stream {
                reader.lost_at_start = Some(format!(
                    "the position belongs to stream {} but table `{}` now has stream {arn} \
                     (was the stream disabled and enabled again?)",
                    reader.position.stream, self.table
                ));
            }
            Ok(reader)
        };
        stream::once(start)
            .flat_map(|started: Result<ReadLoop<'_>>| match started {
                Ok(reader) => reader.into_stream(),
                Err(e) => stream::iter([Err(e)]).boxed(),
            })
            .boxed()
    }

    /// Fails unless the stream records new images, which following needs.
    async fn check_followable(&self) -> Result<()> {
        let (_, view) = self.stream().await?;
        if view.has_new_image() {
            return Ok(());
        }
        Err(StoreError::invalid_input(format!(
            "table `{}`'s stream records {view:?}; following it needs NEW_IMAGE or \
             NEW_AND_OLD_IMAGES",
            self.table
        )))
    }
}

#[async_trait]
impl ChangeFeed for StreamsReader {
    fn describe(&self) -> String {
        format!("dynamodb://{} (stream)", self.table)
    }

    async fn current_position(&self) -> Result<FeedPosition> {
        self.check_followable().await?;
        self.position_now().await
    }

    fn changes(&self, from: FeedPosition, max_batch: usize) -> BoxStream<'_, Result<FeedItem>> {
        stream::once(self.check_followable())
            .flat_map(move |checked| match checked {
                Ok(()) => self
                    .read(from.clone(), max_batch)
                    .map(|item| {
                        Ok(match item? {
                            StreamItem::PositionLost { reason } => {
                                FeedItem::PositionLost { reason }
                            }
                            StreamItem::Records(batch) => FeedItem::Changes(to_changes(batch)?),
                        })
                    })
                    .boxed(),
                Err(e) => stream::iter([Err(e)]).boxed(),
            })
            .boxed()
    }
}

/// A batch of stream records as a batch of changes.
fn to_changes(batch: StreamBatch) -> Result<ChangeBatch> {
    let source_time: Option<SystemTime> = batch
        .records
        .iter()
        .filter_map(|r| r.approximate_time)
        .max();
    Ok(ChangeBatch {
        changes: batch
            .records
            .iter()
            .map(StreamRecord::to_change)
            .collect::<Result<_>>()?,
        position: batch.position,
        source_time,
        pending: batch.caught_up.then_some(0),
    })
}
