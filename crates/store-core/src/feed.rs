//! Change feeds: what changed in a collection, in order, from a position a reader can save and
//! come back to — DynamoDB Streams, PostgreSQL logical replication, or a user's own log.
//!
//! A [`ChangeFeed`] turns a service's change log into [`Change`]s: the key's new content, or
//! the key's removal. Changes of one key come in the order they were made; no order across keys
//! is promised. Each [`ChangeBatch`] carries the [`FeedPosition`] after it, which a reader
//! saves once it has applied the batch and hands back to [`ChangeFeed::changes`] to go on.
//!
//! A feed whose saved position the service no longer holds (a trimmed stream, a dropped slot)
//! says so with [`FeedItem::PositionLost`] instead of skipping ahead: the reader must copy the
//! collection again, since changes were missed.
//!
//! ```
//! use futures::StreamExt;
//! use store_core::feed::{ChangeFeed, FeedItem};
//!
//! # async fn run(feed: &dyn ChangeFeed) -> store_core::Result<()> {
//! let start = feed.current_position().await?;
//! let mut changes = feed.changes(start, 500);
//! while let Some(item) = changes.next().await {
//!     match item? {
//!         FeedItem::Changes(batch) => {
//!             println!("{} changes", batch.changes.len());
//!             // ... apply them, save batch.position, then:
//!             feed.acknowledge(&batch.position).await?;
//!         }
//!         FeedItem::PositionLost { reason } => {
//!             eprintln!("copy the collection again: {reason}");
//!             break;
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::{Document, Result};

/// One change to a keyed collection.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The record with this key now holds `doc` (its whole content, key attributes included).
    Upsert {
        /// The key attributes.
        key: Document,
        /// The record's content after the change.
        doc: Document,
    },
    /// The record with this key is gone.
    Delete {
        /// The key attributes.
        key: Document,
    },
}

impl Change {
    /// The key attributes of the changed record.
    pub fn key(&self) -> &Document {
        match self {
            Self::Upsert { key, .. } | Self::Delete { key } => key,
        }
    }
}

/// A saved place in a feed: opaque text, meaningful only to the feed that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct FeedPosition(String);

impl FeedPosition {
    /// A position from the text a feed produced earlier.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The position's text, for saving.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FeedPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Changes read together, and the position after them.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeBatch {
    /// The changes, in the order the source made them (per key).
    pub changes: Vec<Change>,
    /// Where reading continues after these changes.
    pub position: FeedPosition,
    /// When the source made the last of these changes, as the source reports it (for lag).
    pub source_time: Option<SystemTime>,
    /// How many changes the feed knows are waiting after this batch, when it can tell.
    pub pending: Option<u64>,
}

/// What a feed yields.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedItem {
    /// Changes to apply. A batch may be empty: the position moved over changes that do not
    /// concern the collection, or the feed reports that it is caught up.
    Changes(ChangeBatch),
    /// The service no longer holds the changes after the position read from: they were
    /// trimmed, expired or dropped. The reader must copy the whole collection again; the
    /// stream ends after this item.
    PositionLost {
        /// What was lost, for the operator.
        reason: String,
    },
}

/// A collection's change log, read from a saved position.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// What this feed reads, for messages and checkpoints (never with a secret in it).
    fn describe(&self) -> String;

    /// The position now: reading from it yields every change made after this call returned
    /// (a feed may also yield some changes made before; applying a change twice is harmless
    /// when it is applied by key).
    async fn current_position(&self) -> Result<FeedPosition>;

    /// The changes after `from`, in batches of at most `max_batch`, waiting for new ones when
    /// caught up. The stream runs until the reader drops it, the feed ends (its source was
    /// removed), an error, or a [`FeedItem::PositionLost`].
    fn changes(&self, from: FeedPosition, max_batch: usize) -> BoxStream<'_, Result<FeedItem>>;

    /// Tells the source that everything up to `position` is applied durably, so it may let go
    /// of it (PostgreSQL advances its replication slot). The default does nothing.
    async fn acknowledge(&self, position: &FeedPosition) -> Result<()> {
        let _ = position;
        Ok(())
    }

    /// Frees what the feed holds on the server (a replication slot, a publication). The
    /// default does nothing.
    async fn cleanup(&self) -> Result<()> {
        Ok(())
    }
}
