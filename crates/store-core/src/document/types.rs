//! Options, requests and results of [`DocumentStore`](super::DocumentStore) calls.

use std::time::Duration;

use super::expr::{Condition, SortCondition};
use crate::error::StoreError;
use crate::keys::{DocKey, KeyValue};
use crate::value::Document;

/// The most actions one transaction may hold.
pub const MAX_TRANSACTION_ACTIONS: usize = 100;

/// The largest item, in bytes, DynamoDB stores.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// What a document store can do beyond the basics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DocumentCapabilities {
    /// `transact_write` and `transact_get` work.
    pub transactions: bool,
    /// Scans can be split into segments.
    pub parallel_scan: bool,
    /// Queries can use secondary indexes.
    pub secondary_indexes: bool,
}

impl DocumentCapabilities {
    /// Nothing beyond the basics (the same as `default()`); add flags with the setters.
    ///
    /// ```
    /// use store_core::document::DocumentCapabilities;
    /// let caps = DocumentCapabilities::none().transactions(true).secondary_indexes(true);
    /// assert!(caps.transactions && caps.secondary_indexes && !caps.parallel_scan);
    /// ```
    pub const fn none() -> Self {
        Self {
            transactions: false,
            parallel_scan: false,
            secondary_indexes: false,
        }
    }

    /// Every capability this version knows.
    pub const fn all() -> Self {
        Self {
            transactions: true,
            parallel_scan: true,
            secondary_indexes: true,
        }
    }

    /// Sets whether `transact_write` and `transact_get` work.
    pub const fn transactions(mut self, on: bool) -> Self {
        self.transactions = on;
        self
    }

    /// Sets whether scans can be split into segments.
    pub const fn parallel_scan(mut self, on: bool) -> Self {
        self.parallel_scan = on;
        self
    }

    /// Sets whether queries can use secondary indexes.
    pub const fn secondary_indexes(mut self, on: bool) -> Self {
        self.secondary_indexes = on;
        self
    }
}

/// Options of a put.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PutItemOptions {
    /// Write only if this holds on the current item (a missing item has no attributes).
    pub condition: Option<Condition>,
    /// Return the item that was replaced.
    pub return_old: bool,
}

impl PutItemOptions {
    /// No condition, nothing returned.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes only if the condition holds.
    pub fn condition(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Returns the replaced item.
    pub fn return_old(mut self) -> Self {
        self.return_old = true;
        self
    }
}

/// Options of a get.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetItemOptions {
    /// Strongly consistent read.
    pub consistent: bool,
    /// Return only these top-level attributes.
    pub projection: Option<Vec<String>>,
}

impl GetItemOptions {
    /// Eventually consistent, all attributes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Strongly consistent read.
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    /// Only these attributes.
    pub fn projection<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.projection = Some(fields.into_iter().map(Into::into).collect());
        self
    }
}

/// What an update returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnValues {
    /// Nothing.
    #[default]
    None,
    /// The whole item before the update.
    AllOld,
    /// The whole item after the update.
    AllNew,
}

/// Options of an update.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpdateOptions {
    /// Update only if this holds.
    pub condition: Option<Condition>,
    /// What to return.
    pub returns: ReturnValues,
}

impl UpdateOptions {
    /// No condition, nothing returned.
    pub fn new() -> Self {
        Self::default()
    }

    /// Updates only if the condition holds.
    pub fn condition(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Chooses what to return.
    pub fn returns(mut self, returns: ReturnValues) -> Self {
        self.returns = returns;
        self
    }
}

/// Options of a delete.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteItemOptions {
    /// Delete only if this holds.
    pub condition: Option<Condition>,
    /// Return the deleted item.
    pub return_old: bool,
}

impl DeleteItemOptions {
    /// No condition, nothing returned.
    pub fn new() -> Self {
        Self::default()
    }

    /// Deletes only if the condition holds.
    pub fn condition(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Returns the deleted item.
    pub fn return_old(mut self) -> Self {
        self.return_old = true;
        self
    }
}

/// A query: all items of one partition, optionally narrowed on the sort key and filtered.
///
/// ```
/// use store_core::document::{attr, Query, SortCondition};
/// let q = Query::partition("user#1")
///     .sort(SortCondition::BeginsWith("order#2024".into()))
///     .filter(attr("status").eq("open"))
///     .reverse()
///     .page_size(50);
/// assert!(q.reverse);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// The partition key value (of the index's partition key when `index` is set).
    pub partition: Option<KeyValue>,
    /// A condition on the sort key.
    pub sort: Option<SortCondition>,
    /// A secondary index to query instead of the table.
    pub index: Option<String>,
    /// Applied after reading; items that fail it are not returned.
    pub filter: Option<Condition>,
    /// Items read per page (DynamoDB's `Limit`).
    pub page_size: Option<usize>,
    /// Descending sort-key order.
    pub reverse: bool,
    /// Strongly consistent read.
    pub consistent: bool,
    /// Return only these top-level attributes.
    pub projection: Option<Vec<String>>,
}

impl Query {
    /// A query of one partition.
    pub fn partition(value: impl Into<KeyValue>) -> Self {
        Self {
            partition: Some(value.into()),
            ..Self::default()
        }
    }

    /// Narrows on the sort key.
    pub fn sort(mut self, condition: SortCondition) -> Self {
        self.sort = Some(condition);
        self
    }

    /// Queries a secondary index.
    pub fn index(mut self, name: impl Into<String>) -> Self {
        self.index = Some(name.into());
        self
    }

    /// Filters the results.
    pub fn filter(mut self, condition: Condition) -> Self {
        self.filter = Some(condition);
        self
    }

    /// Items per page.
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = Some(n);
        self
    }

    /// Descending order.
    pub fn reverse(mut self) -> Self {
        self.reverse = true;
        self
    }

    /// Strongly consistent.
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    /// Only these attributes.
    pub fn projection<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.projection = Some(fields.into_iter().map(Into::into).collect());
        self
    }
}

/// One segment of a parallel scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// This segment's number, from 0.
    pub index: u32,
    /// How many segments the scan is split into.
    pub total: u32,
}

/// A scan of the whole table (or one segment of it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scan {
    /// Applied after reading.
    pub filter: Option<Condition>,
    /// Items read per page.
    pub page_size: Option<usize>,
    /// Strongly consistent read.
    pub consistent: bool,
    /// Return only these top-level attributes.
    pub projection: Option<Vec<String>>,
    /// Scan only this segment.
    pub segment: Option<Segment>,
}

impl Scan {
    /// A scan of everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Filters the results.
    pub fn filter(mut self, condition: Condition) -> Self {
        self.filter = Some(condition);
        self
    }

    /// Items per page.
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = Some(n);
        self
    }

    /// Only these attributes.
    pub fn projection<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.projection = Some(fields.into_iter().map(Into::into).collect());
        self
    }

    /// Only one segment of `total`; a segment outside `0..total` is `InvalidInput` when used.
    pub fn segment(mut self, index: u32, total: u32) -> Self {
        self.segment = Some(Segment { index, total });
        self
    }
}

/// One write of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Put a whole item.
    Put(Document),
    /// Delete by key.
    Delete(DocKey),
}

/// Options of a batch write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchWriteOptions {
    /// Give up retrying unprocessed items after this long; they go in the report.
    pub deadline: Duration,
    /// How many batch calls may be in flight at once.
    pub concurrency: usize,
}

impl Default for BatchWriteOptions {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(60),
            concurrency: 4,
        }
    }
}

/// What a batch write did.
#[derive(Debug, Default)]
pub struct BatchWriteReport {
    /// Writes that landed.
    pub written: usize,
    /// Writes that did not, with the reason: nothing is dropped silently.
    pub failed: Vec<(WriteOp, StoreError)>,
}

impl BatchWriteReport {
    /// Whether every write landed.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

/// One action of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum TransactAction {
    /// Put an item, optionally under a condition.
    Put {
        /// The item.
        item: Document,
        /// The condition.
        condition: Option<Condition>,
    },
    /// Update an item, optionally under a condition.
    Update {
        /// The key.
        key: DocKey,
        /// The update.
        update: super::expr::Update,
        /// The condition.
        condition: Option<Condition>,
    },
    /// Delete an item, optionally under a condition.
    Delete {
        /// The key.
        key: DocKey,
        /// The condition.
        condition: Option<Condition>,
    },
    /// Only check a condition on an item.
    ConditionCheck {
        /// The key.
        key: DocKey,
        /// The condition that must hold.
        condition: Condition,
    },
}

/// Why one action of a cancelled transaction failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancellationReason {
    /// Position of the action in the transaction.
    pub index: usize,
    /// The backend's code (`"None"` for actions that were fine, `"ConditionalCheckFailed"`...).
    pub code: String,
    /// The backend's message, if any.
    pub message: Option<String>,
}

impl CancellationReason {
    /// Whether this action itself was fine.
    pub fn is_ok(&self) -> bool {
        self.code == "None"
    }
}
