//! Queries and scans as range scans over the ordered keys.
//!
//! A query reads the range of its partition (in the table, or in an index, whose entry keys
//! start with the index key), narrowed by its sort condition to a sub-range: `=`, `<`, `<=`,
//! `>`, `>=`, `BETWEEN` and `begins_with` are all bounds, none is a filter. It reads forwards or
//! backwards, at most one page plus one entry (to know whether more follow). Filters and
//! projections apply after reading, as on DynamoDB: a page counts the entries read.

use std::ops::Bound;

use redb::ReadOnlyTable;
use store_core::document::eval::eval_condition;
use store_core::document::validate::{
    check_condition, check_page_size, check_projection, check_query,
};
use store_core::document::{Query, Scan, SortCondition};
use store_core::{Cursor, Document, KeyValue, Page, Result, StoreError, Value};

use crate::codec::key::key_value_len;
use crate::codec::{encode_key_value, encode_sort_prefix};
use crate::db::Inner;
use crate::error::OrStore;
use crate::ops::project;

/// Entries read per page when the caller does not say.
pub const DEFAULT_PAGE_SIZE: usize = 100;

type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);
type Rows = Vec<(Vec<u8>, Vec<u8>)>;

fn page_size(requested: Option<usize>) -> Result<usize> {
    check_page_size(requested)?;
    Ok(requested.unwrap_or(DEFAULT_PAGE_SIZE))
}

impl Inner {
    pub(crate) fn query(&self, query: &Query, cursor: Option<Cursor>) -> Result<Page<Document>> {
        let index = match &query.index {
            None => None,
            Some(name) => Some(self.layout.index(name).ok_or_else(|| {
                StoreError::invalid_input(format!("the table has no index named `{name}`"))
            })?),
        };
        let schema = index.map_or(&self.layout.schema, |i| &i.schema);
        if query.consistent && index.is_some_and(|i| !i.local) {
            return Err(StoreError::invalid_input(
                "strongly consistent reads are not supported on a global secondary index",
            ));
        }
        let partition = check_query(query, schema)?;
        let limit = page_size(query.page_size)?;
        let index_name = query.index.as_deref();
        let prefix = encode_key_value(partition);
        let (mut start, mut end) = sort_range(&prefix, query.sort.as_ref())?;
        if let Some(cursor) = cursor {
            let after = self.decode_cursor(&cursor, "query", index_name)?;
            if !after.starts_with(&prefix) {
                return Err(self.foreign_cursor("query", index_name));
            }
            if query.reverse {
                end = tighter_end(end, after);
            } else {
                start = tighter_start(start, after);
            }
        }
        let (rows, more) = self.read(|r| {
            let (rows, more) = match index {
                None => read_range(&r.items, &start, &end, query.reverse, limit)?,
                Some(def) => {
                    let (entries, more) =
                        read_range(&r.index(def)?, &start, &end, query.reverse, limit)?;
                    let mut rows = Vec::with_capacity(entries.len());
                    for (entry, table_key) in entries {
                        let item =
                            r.items
                                .get(table_key.as_slice())
                                .or_store()?
                                .ok_or_else(|| {
                                    StoreError::internal(format!(
                                        "the index `{}` names an item that is not in the table",
                                        def.name
                                    ))
                                })?;
                        rows.push((entry, item.value().to_vec()));
                    }
                    (rows, more)
                }
            };
            Ok((rows, more))
        })?;
        let next = match rows.last() {
            Some((position, _)) if more => Some(self.encode_cursor("query", index_name, position)),
            _ => None,
        };
        let items = finish(rows, query.filter.as_ref(), query.projection.as_ref())?;
        Ok(Page::new(items, next))
    }

    pub(crate) fn scan(&self, scan: &Scan, cursor: Option<Cursor>) -> Result<Page<Document>> {
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
        let start = match cursor {
            Some(cursor) => Bound::Excluded(self.decode_cursor(&cursor, "scan", None)?),
            None => Bound::Unbounded,
        };
        let partition_type = self.layout.schema.partition.key_type;
        let in_segment = |key: &[u8]| {
            scan.segment.is_none_or(|s| {
                let partition = key_value_len(key, partition_type).map_or(key, |n| &key[..n]);
                fnv1a(partition) % u64::from(s.total) == u64::from(s.index)
            })
        };
        let rows: Rows = self.read(|r| {
            let range = r
                .items
                .range::<&[u8]>((as_ref(&start), Bound::Unbounded))
                .or_store()?;
            let mut rows = Vec::new();
            for row in range {
                let (key, value) = row.or_store()?;
                if in_segment(key.value()) {
                    rows.push((key.value().to_vec(), value.value().to_vec()));
                    if rows.len() > limit {
                        break;
                    }
                }
            }
            Ok(rows)
        })?;
        let more = rows.len() > limit;
        let rows: Rows = rows.into_iter().take(limit).collect();
        let next = match rows.last() {
            Some((position, _)) if more => Some(self.encode_cursor("scan", None, position)),
            _ => None,
        };
        let items = finish(rows, scan.filter.as_ref(), scan.projection.as_ref())?;
        Ok(Page::new(items, next))
    }
}

/// Decodes the items read, keeps those passing the filter, projects them.
fn finish(
    rows: Rows,
    filter: Option<&store_core::document::Condition>,
    projection: Option<&Vec<String>>,
) -> Result<Vec<Document>> {
    let mut out = Vec::with_capacity(rows.len());
    for (_, bytes) in rows {
        let doc = crate::codec::decode_document(&bytes)?;
        if filter.is_none_or(|f| eval_condition(f, Some(&doc))) {
            out.push(project(doc, projection));
        }
    }
    Ok(out)
}

/// Up to `limit` entries of a range, in either direction, and whether more follow.
fn read_range(
    table: &ReadOnlyTable<&'static [u8], &'static [u8]>,
    start: &Bound<Vec<u8>>,
    end: &Bound<Vec<u8>>,
    reverse: bool,
    limit: usize,
) -> Result<(Rows, bool)> {
    if is_empty(start, end) {
        return Ok((Vec::new(), false));
    }
    let range = table
        .range::<&[u8]>((as_ref(start), as_ref(end)))
        .or_store()?;
    let iter: Box<dyn Iterator<Item = _>> = if reverse {
        Box::new(range.rev())
    } else {
        Box::new(range)
    };
    let mut rows: Rows = Vec::new();
    for row in iter.take(limit + 1) {
        let (key, value) = row.or_store()?;
        rows.push((key.value().to_vec(), value.value().to_vec()));
    }
    let more = rows.len() > limit;
    rows.truncate(limit);
    Ok((rows, more))
}

fn as_ref(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(b) => Bound::Included(b.as_slice()),
        Bound::Excluded(b) => Bound::Excluded(b.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Whether a range certainly holds nothing (redb wants `start <= end`).
fn is_empty(start: &Bound<Vec<u8>>, end: &Bound<Vec<u8>>) -> bool {
    match (start, end) {
        (Bound::Included(s), Bound::Included(e)) => s > e,
        (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e))
        | (Bound::Excluded(s), Bound::Included(e)) => s >= e,
        _ => false,
    }
}

/// The start after the entry `after`, unless `start` is already past it.
fn tighter_start(start: Bound<Vec<u8>>, after: Vec<u8>) -> Bound<Vec<u8>> {
    match &start {
        Bound::Included(s) if *s > after => start,
        Bound::Excluded(s) if *s >= after => start,
        _ => Bound::Excluded(after),
    }
}

/// The end before the entry `before`, unless `end` is already before it.
fn tighter_end(end: Bound<Vec<u8>>, before: Vec<u8>) -> Bound<Vec<u8>> {
    match &end {
        Bound::Included(e) if *e < before => end,
        Bound::Excluded(e) if *e <= before => end,
        _ => Bound::Excluded(before),
    }
}

/// The smallest byte string greater than every string starting with `prefix`.
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let last = prefix.iter().rposition(|&b| b != 0xFF)?;
    let mut out = prefix[..=last].to_vec();
    out[last] += 1;
    Some(out)
}

/// The range of every key starting with `prefix`.
fn past(prefix: &[u8]) -> Bound<Vec<u8>> {
    successor(prefix).map_or(Bound::Unbounded, Bound::Excluded)
}

/// A checked sort value as a key value.
fn key_value(value: &Value) -> Result<KeyValue> {
    match value {
        Value::String(s) => Ok(KeyValue::String(s.clone())),
        Value::Number(n) => Ok(KeyValue::Number(n.clone())),
        Value::Bytes(b) => Ok(KeyValue::Bytes(b.clone())),
        other => Err(StoreError::invalid_input(format!(
            "a sort condition needs a string, number or bytes value, got a {}",
            other.type_name()
        ))),
    }
}

/// The key range of a partition (encoded as `partition`), narrowed by a sort condition. Works
/// for table keys (partition, sort) and index entries (partition, sort, table key) alike,
/// because every encoded value is prefix-free.
fn sort_range(partition: &[u8], sort: Option<&SortCondition>) -> Result<KeyRange> {
    let with = |v: &Value| -> Result<Vec<u8>> {
        let mut out = partition.to_vec();
        out.extend(encode_key_value(&key_value(v)?));
        Ok(out)
    };
    let all = |p: Vec<u8>| {
        let end = past(&p);
        (Bound::Included(p), end)
    };
    Ok(match sort {
        None => all(partition.to_vec()),
        Some(SortCondition::Eq(v)) => all(with(v)?),
        Some(SortCondition::Lt(v)) => (
            Bound::Included(partition.to_vec()),
            Bound::Excluded(with(v)?),
        ),
        Some(SortCondition::Le(v)) => (Bound::Included(partition.to_vec()), past(&with(v)?)),
        Some(SortCondition::Gt(v)) => match successor(&with(v)?) {
            Some(start) => (Bound::Included(start), past(partition)),
            None => (
                Bound::Excluded(partition.to_vec()),
                Bound::Excluded(partition.to_vec()),
            ),
        },
        Some(SortCondition::Ge(v)) => (Bound::Included(with(v)?), past(partition)),
        Some(SortCondition::Between(low, high)) => {
            (Bound::Included(with(low)?), past(&with(high)?))
        }
        Some(SortCondition::BeginsWith(prefix)) => {
            let bytes: &[u8] = match prefix {
                Value::String(s) => s.as_bytes(),
                Value::Bytes(b) => b,
                other => {
                    return Err(StoreError::invalid_input(format!(
                        "begins_with needs a string or bytes prefix, got a {}",
                        other.type_name()
                    )));
                }
            };
            let mut p = partition.to_vec();
            p.extend(encode_sort_prefix(bytes));
            all(p)
        }
    })
}

/// FNV-1a, stable across processes: a scan segment holds the partitions whose encoded value
/// hashes to it.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
