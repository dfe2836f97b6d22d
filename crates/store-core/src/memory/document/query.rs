//! Queries, scans and their cursors for [`MemoryDocumentStore`].
//!
//! A cursor is the position of the last item read: its table key and, for an index query, its
//! index sort value, as a small JSON record tagged with the table, the index and the kind of
//! call, so that a cursor from anywhere else is `InvalidInput`.

use std::hash::{Hash, Hasher};
use std::ops::Bound;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{MemoryDocumentStore, project};
use crate::document::eval::{eval_condition, sort_matches};
use crate::document::validate::check_condition;
use crate::document::validate::{check_page_size, check_projection, check_query};
use crate::document::{Query, Scan};
use crate::error::{Result, StoreError};
use crate::keys::{DocKey, KeyValue};
use crate::page::{Cursor, Page};
use crate::value::Document;

/// Items read per page when the caller does not say.
const DEFAULT_PAGE_SIZE: usize = 100;
const CURSOR_TAG: &str = "store-core/memory-document/1";

/// Where an item sits in a query's order: its index sort value (index queries only), then its
/// table key.
type Position = (Option<KeyValue>, DocKey);

fn page_size(requested: Option<usize>) -> Result<usize> {
    check_page_size(requested)?;
    Ok(requested.unwrap_or(DEFAULT_PAGE_SIZE))
}

impl MemoryDocumentStore {
    pub(super) fn run_query(
        &self,
        query: &Query,
        cursor: Option<Cursor>,
    ) -> Result<Page<Document>> {
        let schema = match &query.index {
            None => &self.schema,
            Some(name) => self.indexes.get(name).ok_or_else(|| {
                StoreError::invalid_input(format!("the table has no index named `{name}`"))
            })?,
        };
        if query.index.is_some() && query.consistent {
            return Err(StoreError::invalid_input(
                "strongly consistent reads are not supported on a secondary index",
            ));
        }
        let partition = check_query(query, schema)?;
        let limit = page_size(query.page_size)?;
        let after = cursor
            .map(|c| self.decode_cursor(&c, "query", query.index.as_deref()))
            .transpose()?;

        let items = self.read();
        let in_range = |sort: Option<&KeyValue>| match (&query.sort, sort) {
            (None, _) => true,
            (Some(condition), Some(value)) => sort_matches(condition, value),
            (Some(_), None) => false,
        };
        let mut hits: Vec<(Position, &Document)> = match &query.index {
            None => {
                let start = DocKey {
                    partition: partition.clone(),
                    sort: None,
                };
                items
                    .range(start..)
                    .take_while(|(key, _)| key.partition == *partition)
                    .filter(|(key, _)| in_range(key.sort.as_ref()))
                    .map(|(key, doc)| ((None, key.clone()), doc))
                    .collect()
            }
            Some(_) => {
                let mut hits: Vec<(Position, &Document)> = items
                    .iter()
                    .filter_map(|(key, doc)| {
                        let index_key = schema.key_of(doc).ok()?;
                        (index_key.partition == *partition && in_range(index_key.sort.as_ref()))
                            .then(|| ((index_key.sort, key.clone()), doc))
                    })
                    .collect();
                hits.sort_by(|a, b| a.0.cmp(&b.0));
                hits
            }
        };
        if query.reverse {
            hits.reverse();
        }
        if let Some(after) = &after {
            hits.retain(|(position, _)| {
                if query.reverse {
                    position < after
                } else {
                    position > after
                }
            });
        }
        let more = hits.len() > limit;
        hits.truncate(limit);
        let next = match hits.last() {
            Some((position, _)) if more => {
                Some(self.encode_cursor("query", query.index.as_deref(), position))
            }
            _ => None,
        };
        let page = hits
            .into_iter()
            .filter(|(_, doc)| {
                query
                    .filter
                    .as_ref()
                    .is_none_or(|f| eval_condition(f, Some(doc)))
            })
            .map(|(_, doc)| project(doc, query.projection.as_ref()))
            .collect();
        Ok(Page::new(page, next))
    }

    pub(super) fn run_scan(&self, scan: &Scan, cursor: Option<Cursor>) -> Result<Page<Document>> {
        if let Some(segment) = scan.segment
            && segment.index >= segment.total
        {
            return Err(StoreError::invalid_input(format!(
                "scan segment {} of {} does not exist: segments are numbered from 0 to total - 1, \
                 and total must be at least 1",
                segment.index, segment.total
            )));
        }
        if let Some(filter) = &scan.filter {
            check_condition(filter)?;
        }
        check_projection(scan.projection.as_ref())?;
        let limit = page_size(scan.page_size)?;
        let after = cursor
            .map(|c| self.decode_cursor(&c, "scan", None))
            .transpose()?;

        let items = self.read();
        let range = match &after {
            Some((_, key)) => items.range((Bound::Excluded(key), Bound::Unbounded)),
            None => items.range::<DocKey, _>(..),
        };
        let in_segment = |key: &DocKey| {
            scan.segment.is_none_or(|s| {
                partition_hash(&key.partition) % u64::from(s.total) == u64::from(s.index)
            })
        };
        let mut hits: Vec<(&DocKey, &Document)> = range
            .filter(|(key, _)| in_segment(key))
            .take(limit + 1)
            .collect();
        let more = hits.len() > limit;
        hits.truncate(limit);
        let next = match hits.last() {
            Some((key, _)) if more => {
                Some(self.encode_cursor("scan", None, &(None, (*key).clone())))
            }
            _ => None,
        };
        let page = hits
            .into_iter()
            .filter(|(_, doc)| {
                scan.filter
                    .as_ref()
                    .is_none_or(|f| eval_condition(f, Some(doc)))
            })
            .map(|(_, doc)| project(doc, scan.projection.as_ref()))
            .collect();
        Ok(Page::new(page, next))
    }

    fn encode_cursor(&self, call: &str, index: Option<&str>, position: &Position) -> Cursor {
        let record = CursorRecord {
            tag: CURSOR_TAG.to_owned(),
            table: self.table.to_string(),
            call: call.to_owned(),
            index: index.map(str::to_owned),
            index_sort: position.0.as_ref().map(RawValue::from),
            partition: RawValue::from(&position.1.partition),
            sort: position.1.sort.as_ref().map(RawValue::from),
        };
        let json = serde_json::to_vec(&record).unwrap_or_default();
        Cursor::encode(&json)
    }

    fn decode_cursor(&self, cursor: &Cursor, call: &str, index: Option<&str>) -> Result<Position> {
        let foreign = || {
            StoreError::invalid_input(format!(
                "the cursor was not issued by a {call} of the memory table `{}`{}",
                self.table,
                index
                    .map(|i| format!(" on index `{i}`"))
                    .unwrap_or_default()
            ))
        };
        let record: CursorRecord =
            serde_json::from_slice(&cursor.decode()?).map_err(|_| foreign())?;
        if record.tag != CURSOR_TAG
            || record.table != self.table.as_str()
            || record.call != call
            || record.index.as_deref() != index
        {
            return Err(foreign());
        }
        let key = DocKey {
            partition: record.partition.into_key().ok_or_else(foreign)?,
            sort: record
                .sort
                .map(|s| s.into_key().ok_or_else(foreign))
                .transpose()?,
        };
        self.schema.validate(&key).map_err(|_| foreign())?;
        let index_sort = record
            .index_sort
            .map(|s| s.into_key().ok_or_else(foreign))
            .transpose()?;
        Ok((index_sort, key))
    }
}

/// A segment of a parallel scan holds the partitions whose stable hash falls on it.
fn partition_hash(value: &KeyValue) -> u64 {
    let mut hasher = Fnv1a::default();
    value.hash(&mut hasher);
    hasher.finish()
}

/// FNV-1a: stable across processes, unlike the standard library's seeded hasher.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[derive(Serialize, Deserialize)]
struct CursorRecord {
    tag: String,
    table: String,
    call: String,
    index: Option<String>,
    index_sort: Option<RawValue>,
    partition: RawValue,
    sort: Option<RawValue>,
}

/// A key value as text, typed as DynamoDB types it.
#[derive(Serialize, Deserialize)]
enum RawValue {
    S(String),
    N(String),
    B(String),
}

impl From<&KeyValue> for RawValue {
    fn from(value: &KeyValue) -> Self {
        match value {
            KeyValue::String(s) => RawValue::S(s.clone()),
            KeyValue::Number(n) => RawValue::N(n.to_string()),
            KeyValue::Bytes(b) => RawValue::B(base64::engine::general_purpose::STANDARD.encode(b)),
        }
    }
}

impl RawValue {
    fn into_key(self) -> Option<KeyValue> {
        Some(match self {
            RawValue::S(s) => KeyValue::String(s),
            RawValue::N(n) => KeyValue::Number(n.parse().ok()?),
            RawValue::B(b) => KeyValue::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .ok()?
                    .into(),
            ),
        })
    }
}
