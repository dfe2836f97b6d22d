//! Time to live, as DynamoDB has it: a table may name a TTL attribute; an item whose value
//! there is a number of seconds since the Unix epoch at or before now has expired and is
//! deleted by [`RedbStore::purge_expired`](crate::RedbStore::purge_expired), which a background
//! task may call on a schedule ([`RedbConfig::ttl_sweep_every`](crate::RedbConfig)).
//!
//! As on DynamoDB, an expired item stays readable until it is deleted, an item without the
//! attribute or with a value that is not a number never expires, and a value more than five
//! years in the past is ignored (it is taken for a mistake, such as milliseconds written as
//! seconds the other way round). A deletion by expiry removes the item from every index in the
//! same transaction.

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::ReadableTable;
use store_core::{Document, Result, StoreError, Value};

use crate::codec::decode_document;
use crate::db::Inner;
use crate::error::OrStore;

/// Expiry times further in the past than this are ignored (DynamoDB's rule).
const IGNORED_AFTER: Duration = Duration::from_secs(5 * 365 * 24 * 60 * 60);

/// Seconds since the Unix epoch, now.
pub(crate) fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Whether `item` has expired at `now` (seconds since the epoch) by its attribute `attribute`.
pub(crate) fn is_expired(item: &Document, attribute: &str, now: f64) -> bool {
    let Some(Value::Number(at)) = item.get(attribute) else {
        return false;
    };
    let at = at.to_f64();
    at <= now && now - at <= IGNORED_AFTER.as_secs_f64()
}

impl Inner {
    /// Deletes, in one write transaction, every item expired at `now`; returns how many.
    pub(crate) fn purge_expired(&self, now: f64) -> Result<u64> {
        let Some(attribute) = self.ttl.as_deref() else {
            return Err(StoreError::invalid_input(format!(
                "the store {} has no TTL attribute: set RedbConfig::ttl_attribute",
                self.path.display()
            )));
        };
        self.write(|w| {
            let mut expired = Vec::new();
            for entry in w.items().iter().or_store()? {
                let (key, value) = entry.or_store()?;
                let item = decode_document(value.value())?;
                if is_expired(&item, attribute, now) {
                    expired.push((key.value().to_vec(), item));
                }
            }
            for (key, item) in &expired {
                w.delete(key, item)?;
            }
            Ok(expired.len() as u64)
        })
    }
}

/// Starts the task that purges expired items every `every` until the store is dropped.
pub(crate) fn spawn_sweeper(inner: &Arc<Inner>, every: Duration) {
    let weak: Weak<Inner> = Arc::downgrade(inner);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(inner) = weak.upgrade() else {
                return;
            };
            let swept =
                tokio::task::spawn_blocking(move || inner.purge_expired(now_seconds())).await;
            match swept {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::debug!(deleted = n, "store-redb: expired items deleted"),
                Ok(Err(e)) => tracing::warn!(error = %e, "store-redb: the TTL sweep failed"),
                Err(e) => tracing::warn!(error = %e, "store-redb: the TTL sweep panicked"),
            }
        }
    });
}
