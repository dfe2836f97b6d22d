//! A table's changes through PostgreSQL logical replication (feature `replication`): a
//! [`ChangeFeed`] that `store_sync::follow` and `stores sync --follow` apply to any sink.
//!
//! The feed owns a publication for the table and a logical replication slot with the built-in
//! `pgoutput` plugin, both created on first use and named by [`default_feed_name`]
//! (`stores_<schema>_<table>`, with a hash when the name needed changing) unless named in
//! [`ReplicationOptions`]. It reads the slot through the SQL interface
//! (`pg_logical_slot_peek_binary_changes`), which needs no replication connection, and moves
//! the slot forward (`pg_replication_slot_advance`) only in [`ChangeFeed::acknowledge`], which
//! the follower calls after the sink has applied everything before it and the position is
//! saved. Until then the server keeps the WAL: a warning is logged when the slot holds more
//! than [`ReplicationOptions::max_retained_wal`], and [`ChangeFeed::cleanup`] drops the slot
//! and publication when following ends for good.
//!
//! Each change names a row by its primary key; the feed reads the row's current content by key
//! (one query per batch) and reports an upsert of it, or a delete when the row is gone, so
//! every value arrives exactly as the table source reads it, TOASTed columns included. A row
//! whose key changed is a delete of the old key and an upsert of the new one. A `TRUNCATE`, a
//! dropped slot, or a slot moved past the saved position by someone else is reported as
//! [`FeedItem::PositionLost`].
//!
//! Needs `wal_level = logical` (on RDS, `rds.logical_replication = 1`) and a role with the
//! REPLICATION attribute (RDS: `rds_replication`) that owns the table (for the publication).
//! Without them, [`PgStore::watermark_feed`] follows a timestamp column instead
//! ([`PgWatermarkFeed`]), which sees new and changed rows but **not deletes**.
//!
//! ```no_run
//! # async fn demo(store: store_rds::PgStore) -> store_core::Result<()> {
//! use store_core::feed::ChangeFeed;
//! use store_rds::ReplicationOptions;
//!
//! let feed = store.change_feed("public.orders", ReplicationOptions::new()).await?;
//! let start = feed.current_position().await?; // creates the slot and publication
//! # let _ = start; Ok(()) }
//! ```

mod decode;
mod pgoutput;
mod slot;
mod watermark;

pub use watermark::PgWatermarkFeed;

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use sha2::{Digest as _, Sha256};
use store_core::feed::{Change, ChangeBatch, ChangeFeed, FeedItem, FeedPosition};
use store_core::{Document, ErrorKind, Result, StoreError};
use tokio_postgres::types::ToSql;

use crate::{PgStore, quote_ident};
use decode::{Decoded, Followed, KeyText, Lsn, decode};

/// The longest name PostgreSQL keeps.
const MAX_NAME: usize = 63;

/// How a [`PgChangeFeed`] is set up.
#[derive(Debug, Clone)]
pub struct ReplicationOptions {
    job: Option<String>,
    slot: Option<String>,
    publication: Option<String>,
    max_retained_wal: u64,
    poll_interval: Duration,
}

impl Default for ReplicationOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplicationOptions {
    /// The defaults: names derived from the table, a warning past 1 GiB of retained WAL, and a
    /// poll every second when caught up.
    pub fn new() -> Self {
        Self {
            job: None,
            slot: None,
            publication: None,
            max_retained_wal: 1 << 30,
            poll_interval: Duration::from_secs(1),
        }
    }

    /// Who reads the feed (e.g. the sink's location): a slot is one reader's position, so
    /// each job gets its own default slot and publication, named with a hash of this text.
    pub fn job(mut self, job: impl Into<String>) -> Self {
        self.job = Some(job.into());
        self
    }

    /// The replication slot's name.
    pub fn slot(mut self, name: impl Into<String>) -> Self {
        self.slot = Some(name.into());
        self
    }

    /// The publication's name.
    pub fn publication(mut self, name: impl Into<String>) -> Self {
        self.publication = Some(name.into());
        self
    }

    /// Log a warning when the slot keeps more than this many bytes of WAL on the server.
    pub fn max_retained_wal(mut self, bytes: u64) -> Self {
        self.max_retained_wal = bytes;
        self
    }

    /// How long to wait before asking again when caught up.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }
}

/// The default name of a table's slot and publication: `stores_<schema>_<table>`; a name with
/// characters other than `a-z`, `0-9` and `_` (written as `_`) or longer than 63 bytes gets a
/// hash of the original name, so two tables never share one.
pub fn default_feed_name(schema: &str, table: &str) -> String {
    let mut exact = true;
    let plain: String = format!("stores_{schema}_{table}")
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' => c,
            _ => {
                exact = false;
                '_'
            }
        })
        .collect();
    if exact && plain.len() <= MAX_NAME {
        return plain;
    }
    // Names that had to change, or be cut, keep a hash of the original apart.
    let hash = Sha256::digest(format!("{schema}.{table}").as_bytes());
    let suffix: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
    let cut = plain.len().min(MAX_NAME - 9);
    format!("{}_{suffix}", &plain[..cut])
}

/// A PostgreSQL table's change feed.
#[derive(Debug)]
pub struct PgChangeFeed {
    store: PgStore,
    table: Followed,
    slot: String,
    publication: String,
    max_retained_wal: u64,
    poll_interval: Duration,
    last_wal_check: Mutex<Option<Instant>>,
}

impl PgStore {
    /// The change feed of `table` (optionally schema-qualified). Checks that the server does
    /// logical decoding and that the table has a primary key; creates nothing until
    /// [`ChangeFeed::current_position`].
    pub async fn change_feed(
        &self,
        table: &str,
        options: ReplicationOptions,
    ) -> Result<PgChangeFeed> {
        for given in [&options.slot, &options.publication].into_iter().flatten() {
            if given.is_empty() || given.len() > MAX_NAME {
                return Err(StoreError::invalid_input(format!(
                    "`{given}` cannot name a slot or publication: 1 to {MAX_NAME} bytes"
                )));
            }
        }
        slot::check_wal_level(self).await?;
        let followed = slot::describe(self, table).await?;
        let name = match &options.job {
            Some(job) => {
                // The hash covers the table's own names too, so `public.x_y` and `public_x.y`
                // never share a slot even though their plain names read the same.
                let whole = format!("{job}\0{}\0{}", followed.namespace, followed.name);
                let hash = Sha256::digest(whole.as_bytes());
                let short: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
                default_feed_name(&followed.namespace, &format!("{}_{short}", followed.name))
            }
            None => default_feed_name(&followed.namespace, &followed.name),
        };
        Ok(PgChangeFeed {
            store: self.clone(),
            slot: options.slot.unwrap_or_else(|| name.clone()),
            publication: options.publication.unwrap_or(name),
            table: followed,
            max_retained_wal: options.max_retained_wal,
            poll_interval: options.poll_interval,
            last_wal_check: Mutex::new(None),
        })
    }
}

impl PgChangeFeed {
    /// The replication slot's name.
    pub fn slot_name(&self) -> &str {
        &self.slot
    }

    /// The publication's name.
    pub fn publication_name(&self) -> &str {
        &self.publication
    }

    /// The current content of the rows with these keys: an upsert for each row found, a
    /// delete for each key that has none, in the keys' order.
    async fn changes_for(&self, keys: &[KeyText]) -> Result<Vec<Change>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let columns: Vec<Vec<String>> = (0..self.table.key.len())
            .map(|i| keys.iter().map(|k| k[i].clone()).collect())
            .collect();
        let params: Vec<&(dyn ToSql + Sync)> =
            columns.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
        let rows = self.store.query_params(&self.fetch_sql(), &params).await?;
        rows.into_iter()
            .map(|mut row| {
                row.remove("stores.ord");
                let mut key = Document::new();
                for (i, column) in self.table.key.iter().enumerate() {
                    let value = row.remove(&format!("stores.key{i}")).unwrap_or_default();
                    key.insert(column.clone(), value);
                }
                let found = row.get(&self.table.key[0]).is_some_and(|v| !v.is_null());
                Ok(if found {
                    Change::Upsert { key, doc: row }
                } else {
                    Change::Delete { key }
                })
            })
            .collect()
    }

    /// `SELECT` of the rows with the keys given as one text array per key column, each key's
    /// typed value beside its row (null columns when the row is gone), in the keys' order.
    fn fetch_sql(&self) -> String {
        let key = &self.table.key;
        let types = &self.table.key_types;
        let typed: Vec<String> = (0..key.len())
            .map(|i| format!("k.c{i}::{} AS \"stores.key{i}\"", types[i]))
            .collect();
        let arrays: Vec<String> = (1..=key.len()).map(|i| format!("${i}::text[]")).collect();
        let names: Vec<String> = (0..key.len()).map(|i| format!("c{i}")).collect();
        let on: Vec<String> = (0..key.len())
            .map(|i| format!("t.{} = k.c{i}::{}", quote_ident(&key[i]), types[i]))
            .collect();
        format!(
            "SELECT k.\"stores.ord\", {}, t.* FROM unnest({}) WITH ORDINALITY AS k({}, \
             \"stores.ord\") LEFT JOIN {}.{} AS t ON {} ORDER BY k.\"stores.ord\"",
            typed.join(", "),
            arrays.join(", "),
            names.join(", "),
            quote_ident(&self.table.namespace),
            quote_ident(&self.table.name),
            on.join(" AND ")
        )
    }

    /// Whether the saved position can still be read from; `Some(reason)` when it cannot.
    async fn lost(&self, from: Lsn) -> Result<Option<String>> {
        Ok(match slot::confirmed(&self.store, &self.slot).await? {
            None => Some(format!(
                "replication slot `{}` no longer exists: the changes it held are gone",
                self.slot
            )),
            Some(confirmed) if confirmed > from => Some(format!(
                "replication slot `{}` was moved to {confirmed}, past the saved position {from}, \
                 by another reader: the changes between were consumed",
                self.slot
            )),
            Some(_) => None,
        })
    }

    /// Logs a warning when the slot holds more WAL than allowed (checked once a minute).
    async fn check_retained_wal(&self) -> Result<()> {
        {
            let mut last = self
                .last_wal_check
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|at| at.elapsed() < Duration::from_secs(60)) {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        if let Some(bytes) = slot::retained_bytes(&self.store, &self.slot).await?
            && bytes as u64 > self.max_retained_wal
        {
            tracing::warn!(
                slot = %self.slot,
                retained_bytes = bytes,
                limit = self.max_retained_wal,
                "the replication slot keeps more WAL than allowed: the follower is behind or \
                 stopped; drop the slot (stores sync --follow --cleanup) if it is not coming back"
            );
        }
        Ok(())
    }

    /// One step of reading after `after`: the next batch, the position everything up to now
    /// is read to when nothing of this table is waiting, or a lost position.
    async fn next_step(&self, after: Lsn, max_batch: usize) -> Result<Step> {
        // Checked before every read: another reader of the same slot may have moved it.
        if let Some(reason) = self.lost(after).await? {
            return Ok(Step::Lost(reason));
        }
        let upto = slot::flushed(&self.store).await?;
        let mut window = i32::try_from(max_batch.max(1)).unwrap_or(i32::MAX);
        loop {
            let peeked = slot::peek(&self.store, &self.slot, &self.publication, window, upto).await;
            let messages = match peeked {
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    return match self.lost(after).await? {
                        Some(reason) => Ok(Step::Lost(reason)),
                        None => Err(e),
                    };
                }
                other => other?,
            };
            let decoded = decode(&messages, &self.table, after)?;
            if decoded.truncated {
                return Ok(Step::Lost(format!(
                    "{}.{} was truncated: its rows must be copied again",
                    self.table.namespace, self.table.name
                )));
            }
            if decoded.end.is_some() {
                let changes = self.changes_for(&decoded.keys).await?;
                return Ok(Step::Batch(decoded, changes));
            }
            // Everything peeked was applied already (not yet acknowledged): look further.
            if messages.len() >= usize::try_from(window).unwrap_or(usize::MAX)
                && window < i32::MAX / 2
            {
                window *= 2;
                continue;
            }
            // Every transaction that commits before `upto` was read and none concerns the
            // table: the position may move there, so the slot lets go of that WAL (PostgreSQL
            // 15 and later send no empty transactions that would move it otherwise).
            return Ok(Step::CaughtUp(after.max(upto)));
        }
    }
}

/// What one step of reading found.
enum Step {
    /// Changes, and where they end.
    Batch(Decoded, Vec<Change>),
    /// Nothing waiting; the position everything is read to.
    CaughtUp(Lsn),
    /// The position cannot be read from.
    Lost(String),
}

/// Microseconds since 2000-01-01 UTC as a time.
fn postgres_time(micros: i64) -> Option<SystemTime> {
    let since_2000 = Duration::from_micros(u64::try_from(micros).ok()?);
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(946_684_800) + since_2000)
}

/// What the stream of changes carries between steps.
struct Reading {
    after: Lsn,
    done: bool,
}

#[async_trait]
impl ChangeFeed for PgChangeFeed {
    fn describe(&self) -> String {
        format!(
            "postgres table {}.{} (slot {})",
            self.table.namespace, self.table.name, self.slot
        )
    }

    async fn current_position(&self) -> Result<FeedPosition> {
        slot::ensure_publication(&self.store, &self.publication, &self.table).await?;
        slot::ensure_slot(&self.store, &self.slot).await?;
        let now = slot::current(&self.store).await?;
        slot::advance(&self.store, &self.slot, now).await?;
        Ok(FeedPosition::new(now.to_string()))
    }

    fn changes(&self, from: FeedPosition, max_batch: usize) -> BoxStream<'_, Result<FeedItem>> {
        let start = Lsn::parse(from.as_str()).map(|after| Reading { after, done: false });
        let start = match start {
            Ok(reading) => reading,
            Err(e) => return stream::iter([Err(e)]).boxed(),
        };
        stream::try_unfold(start, move |mut reading| async move {
            if reading.done {
                return Ok(None);
            }
            let item = match self.next_step(reading.after, max_batch).await? {
                Step::Lost(reason) => {
                    reading.done = true;
                    FeedItem::PositionLost { reason }
                }
                Step::CaughtUp(to) => {
                    tokio::time::sleep(self.poll_interval).await;
                    reading.after = to;
                    FeedItem::Changes(ChangeBatch {
                        changes: Vec::new(),
                        position: FeedPosition::new(to.to_string()),
                        source_time: None,
                        pending: Some(0),
                    })
                }
                Step::Batch(decoded, changes) => {
                    let end = decoded.end.expect("a batch has an end");
                    reading.after = end;
                    FeedItem::Changes(ChangeBatch {
                        changes,
                        position: FeedPosition::new(end.to_string()),
                        source_time: decoded.commit_time.and_then(postgres_time),
                        pending: None,
                    })
                }
            };
            Ok(Some((item, reading)))
        })
        .boxed()
    }

    async fn acknowledge(&self, position: &FeedPosition) -> Result<()> {
        let lsn = Lsn::parse(position.as_str())?;
        slot::advance(&self.store, &self.slot, lsn).await?;
        self.check_retained_wal().await
    }

    async fn cleanup(&self) -> Result<()> {
        slot::drop_all(&self.store, &self.slot, &self.publication).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_are_valid_identifiers_within_63_bytes() {
        assert_eq!(
            default_feed_name("public", "orders"),
            "stores_public_orders"
        );
        let spaced = default_feed_name("sales", "line items");
        assert!(spaced.starts_with("stores_sales_line_items_"), "{spaced}");
        assert_ne!(spaced, default_feed_name("sales", "line_items"));
        assert_ne!(
            default_feed_name("public", "Orders"),
            default_feed_name("public", "orders")
        );
        let long = default_feed_name("public", &"x".repeat(80));
        assert_eq!(long.len(), MAX_NAME);
        assert_ne!(long, default_feed_name("public", &"x".repeat(81)));
        let unicode = default_feed_name("public", "заказы");
        assert!(unicode.is_ascii() && unicode.len() <= MAX_NAME, "{unicode}");
        assert_ne!(unicode, default_feed_name("public", "товары"));
    }
}
