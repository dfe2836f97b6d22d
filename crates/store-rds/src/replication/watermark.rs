//! The watermark feed: for roles without the REPLICATION attribute, a table's new and changed
//! rows found by a column that every write moves forward (`updated_at`), in `(column, key)`
//! order from a saved watermark.
//!
//! **Deletes are not seen in this mode**, nor the old key of a row whose key changed: rows
//! deleted from the table stay in the sink until a full `sync --delete`. A row whose write
//! committed with a timestamp older than rows already read would be missed; so only rows whose
//! column is older than the lag window (default 5 s) are read, which covers transactions that
//! commit within the window after they stamped the row. The lag of every change is at least
//! the window.

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use store_core::feed::{Change, ChangeBatch, ChangeFeed, FeedItem, FeedPosition};
use store_core::{Document, Result, StoreError, Value};
use tokio_postgres::types::ToSql;

use super::decode::Followed;
use super::slot;
use crate::{PgStore, quote_ident};

/// A table's changes found by a timestamp column that every write moves forward, for roles
/// without the REPLICATION attribute: new and changed rows in `(column, key)` order, each read
/// once it is older than the lag window. **Deletes are not seen**, nor the old key of a row
/// whose key changed.
#[derive(Debug)]
pub struct PgWatermarkFeed {
    store: PgStore,
    table: Followed,
    column: String,
    column_type: String,
    lag_window: Duration,
    poll_interval: Duration,
}

/// The saved watermark: the last `(column, key)` read, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Watermark {
    at: String,
    key: Option<Vec<String>>,
}

impl PgStore {
    /// The watermark feed of `table` on `column` (a timestamp every insert and update sets,
    /// such as `updated_at`). It sees new and changed rows only, never deletes.
    pub async fn watermark_feed(
        &self,
        table: &str,
        column: &str,
        lag_window: Duration,
    ) -> Result<PgWatermarkFeed> {
        let followed = slot::describe(self, table).await?;
        let qualified = format!(
            "{}.{}",
            quote_ident(&followed.namespace),
            quote_ident(&followed.name)
        );
        let rows = self
            .query_params(
                "SELECT format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a \
                 WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped",
                &[&qualified, &column],
            )
            .await?;
        let Some(column_type) = rows
            .first()
            .and_then(|r| r.get("type"))
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Err(StoreError::invalid_input(format!(
                "table `{table}` has no column `{column}` to follow as a watermark"
            )));
        };
        tracing::warn!(
            table,
            column,
            "following by watermark: deletes (and the old keys of changed keys) are NOT seen; \
             run `stores sync --delete` now and then, or grant REPLICATION for a full feed"
        );
        Ok(PgWatermarkFeed {
            store: self.clone(),
            table: followed,
            column: column.to_owned(),
            column_type,
            lag_window,
            poll_interval: Duration::from_secs(1),
        })
    }
}

impl PgWatermarkFeed {
    /// How long to wait before asking again when caught up (default one second).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The rows after `mark` (at most `limit`), old enough to be outside the lag window.
    fn select_sql(&self, mark: &Watermark, limit: usize) -> String {
        let column = quote_ident(&self.column);
        let key: Vec<String> = self.table.key.iter().map(|k| quote_ident(k)).collect();
        let texts: Vec<String> = key
            .iter()
            .enumerate()
            .map(|(i, k)| format!("t.{k}::text AS \"stores.key{i}\""))
            .collect();
        let after = match &mark.key {
            None => format!("t.{column} >= $1::text::{}", self.column_type),
            Some(_) => {
                let bounds: Vec<String> = (0..key.len())
                    .map(|i| format!("${}::text::{}", i + 2, self.table.key_types[i]))
                    .collect();
                format!(
                    "(t.{column}, {}) > ($1::text::{}, {})",
                    key.iter()
                        .map(|k| format!("t.{k}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.column_type,
                    bounds.join(", ")
                )
            }
        };
        let window = self.lag_window.as_secs_f64();
        format!(
            "SELECT t.*, t.{column}::text AS \"stores.at\", {} FROM {}.{} AS t \
             WHERE {after} AND t.{column} <= now() - interval '{window} seconds' \
             ORDER BY t.{column}, {} LIMIT {limit}",
            texts.join(", "),
            quote_ident(&self.table.namespace),
            quote_ident(&self.table.name),
            key.iter()
                .map(|k| format!("t.{k}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    /// The next rows after `mark`, and the watermark after them.
    async fn next_rows(&self, mark: &Watermark, limit: usize) -> Result<(Vec<Change>, Watermark)> {
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&mark.at];
        if let Some(key) = &mark.key {
            params.extend(key.iter().map(|k| k as &(dyn ToSql + Sync)));
        }
        let rows = self
            .store
            .query_params(&self.select_sql(mark, limit.max(1)), &params)
            .await?;
        let mut next = mark.clone();
        let mut changes = Vec::with_capacity(rows.len());
        for mut row in rows {
            let at = text_of(row.remove("stores.at"))?;
            let key_text = (0..self.table.key.len())
                .map(|i| text_of(row.remove(&format!("stores.key{i}"))))
                .collect::<Result<Vec<_>>>()?;
            let key: Document = self
                .table
                .key
                .iter()
                .map(|k| (k.clone(), row.get(k).cloned().unwrap_or_default()))
                .collect();
            changes.push(Change::Upsert { key, doc: row });
            next = Watermark {
                at,
                key: Some(key_text),
            };
        }
        Ok((changes, next))
    }
}

fn text_of(value: Option<Value>) -> Result<String> {
    match value {
        Some(Value::String(text)) => Ok(text),
        other => Err(StoreError::internal(format!(
            "a watermark column read back as {other:?}, not text"
        ))),
    }
}

/// A watermark as position text: `{"at": "...", "key": ["...", ...] | null}`.
fn encode(mark: &Watermark) -> Result<FeedPosition> {
    let json = serde_json::json!({"at": mark.at, "key": mark.key});
    Ok(FeedPosition::new(json.to_string()))
}

fn decode(position: &FeedPosition) -> Result<Watermark> {
    let bad = |what: &str| {
        StoreError::invalid_input(format!(
            "`{}` is not a watermark position ({what})",
            position.as_str()
        ))
    };
    let json: serde_json::Value =
        serde_json::from_str(position.as_str()).map_err(|e| bad(&e.to_string()))?;
    let at = json["at"]
        .as_str()
        .ok_or_else(|| bad("no `at`"))?
        .to_owned();
    let key = match &json["key"] {
        serde_json::Value::Null => None,
        serde_json::Value::Array(parts) => Some(
            parts
                .iter()
                .map(|p| {
                    p.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| bad("a key part is not text"))
                })
                .collect::<Result<_>>()?,
        ),
        _ => return Err(bad("`key` is not a list")),
    };
    Ok(Watermark { at, key })
}

#[async_trait]
impl ChangeFeed for PgWatermarkFeed {
    fn describe(&self) -> String {
        format!(
            "postgres table {}.{} (watermark {}; deletes not seen)",
            self.table.namespace, self.table.name, self.column
        )
    }

    async fn current_position(&self) -> Result<FeedPosition> {
        let window = self.lag_window.as_secs_f64();
        let rows = self
            .store
            .query_params(
                &format!(
                    "SELECT (now() - interval '{window} seconds')::{}::text AS at",
                    self.column_type
                ),
                &[],
            )
            .await?;
        let at = text_of(rows.into_iter().next().and_then(|mut r| r.remove("at")))?;
        encode(&Watermark { at, key: None })
    }

    fn changes(&self, from: FeedPosition, max_batch: usize) -> BoxStream<'_, Result<FeedItem>> {
        let start = match decode(&from) {
            Ok(mark) => mark,
            Err(e) => return stream::iter([Err(e)]).boxed(),
        };
        stream::try_unfold(start, move |mark| async move {
            let (changes, next) = self.next_rows(&mark, max_batch).await?;
            let caught_up = changes.len() < max_batch;
            if changes.is_empty() {
                tokio::time::sleep(self.poll_interval).await;
            }
            let batch = ChangeBatch {
                changes,
                position: encode(&next)?,
                source_time: None,
                pending: caught_up.then_some(0),
            };
            Ok(Some((FeedItem::Changes(batch), next)))
        })
        .boxed()
    }
}
