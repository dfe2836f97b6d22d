//! [`ReadOrder`]: the order a [`SearchCollection`](super::SearchCollection) reads an index
//! in, and the resume cursors that follow it.

use store_core::search::{Hit, SortField};
use store_core::{Number, Result, StoreError, Value};

/// The mark of a cursor taken in [`ReadOrder::SeqNo`]: `seq:<sequence number>:<id>`.
const SEQ_PREFIX: &str = "seq:";

/// The mark of a cursor taken in [`ReadOrder::Id`]: `id:<id>`, so that an id that itself
/// begins with `seq:` is never read as a sequence number. A cursor with neither mark is a bare
/// `_id`, as checkpoints written before the mark hold them; such a bare id that itself begins
/// with `id:` or `seq:` is still read as marked (only a checkpoint version could tell), and a
/// build older than the mark reads a marked cursor as a bare id: resume a checkpoint with the
/// build that wrote it, or restart.
const ID_PREFIX: &str = "id:";

/// The order a search collection is read in. A resumed read continues in the order its
/// checkpoint's cursor was taken in, whatever the collection is set to now, so a checkpoint
/// never points into another order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadOrder {
    /// By `_id`, which every backend sorts by (the default).
    #[default]
    Id,
    /// By `_seq_no`, then `_id`: for OpenSearch and Elasticsearch, where a sort on `_id`
    /// alone builds the ids' field data and compares them as text on every page (2.4–3x
    /// the server's time of this order on 100,000 documents of OpenSearch 2.19), while
    /// `_seq_no` is a numeric column and `_id` only breaks ties between shards. A document
    /// changed after a crash gets a higher sequence number, so a resumed read of an index of
    /// one shard still meets it (numbers count per shard: on several, a change may sort
    /// before the cursor).
    SeqNo,
}

impl ReadOrder {
    /// The sort of a read in this order.
    pub(crate) fn sort(self) -> Vec<SortField> {
        match self {
            Self::Id => vec![SortField::asc("_id")],
            Self::SeqNo => vec![SortField::asc("_seq_no"), SortField::asc("_id")],
        }
    }

    /// The order `cursor` was taken in, and the `search_after` values it stands for.
    pub(crate) fn resume(cursor: &str) -> Result<(Self, Vec<Value>)> {
        if let Some(id) = cursor.strip_prefix(ID_PREFIX) {
            return Ok((Self::Id, vec![Value::String(id.to_owned())]));
        }
        let Some(rest) = cursor.strip_prefix(SEQ_PREFIX) else {
            return Ok((Self::Id, vec![Value::String(cursor.to_owned())]));
        };
        let bad = || {
            StoreError::invalid_input(format!(
                "the checkpoint's search cursor `{cursor}` is not `seq:<number>:<id>`"
            ))
        };
        let (seq_no, id) = rest.split_once(':').ok_or_else(bad)?;
        let seq_no: Number = seq_no.parse().map_err(|_| bad())?;
        Ok((
            Self::SeqNo,
            vec![Value::Number(seq_no), Value::String(id.to_owned())],
        ))
    }

    /// The cursor after `hit`, read in this order.
    pub(crate) fn cursor(self, hit: &Hit) -> Result<String> {
        match self {
            Self::Id => Ok(format!("{ID_PREFIX}{}", hit.id)),
            Self::SeqNo => match hit.sort.first() {
                Some(Value::Number(seq_no)) => Ok(format!("{SEQ_PREFIX}{seq_no}:{}", hit.id)),
                other => Err(StoreError::internal(format!(
                    "a hit read by _seq_no came back with the sort value {other:?}"
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: &str, sort: Vec<Value>) -> Hit {
        Hit {
            id: id.to_owned(),
            score: None,
            source: store_core::Document::new(),
            sort,
        }
    }

    #[test]
    fn a_cursor_resumes_in_the_order_it_was_taken_in() {
        let by_seq = hit("a:b", vec![Value::from(41), Value::from("a:b")]);
        let cursor = ReadOrder::SeqNo.cursor(&by_seq).unwrap();
        assert_eq!(cursor, "seq:41:a:b", "an id may hold colons");
        assert_eq!(
            ReadOrder::resume(&cursor).unwrap(),
            (ReadOrder::SeqNo, vec![Value::from(41), Value::from("a:b")])
        );
        let by_id = ReadOrder::Id.cursor(&hit("doc-7", Vec::new())).unwrap();
        assert_eq!(
            ReadOrder::resume(&by_id).unwrap(),
            (ReadOrder::Id, vec![Value::from("doc-7")])
        );
    }

    /// Ids that look like cursors of the other order, or like marks, resume by `_id`.
    #[test]
    fn an_id_that_looks_like_a_cursor_resumes_by_id() {
        for id in ["seq:12:x", "seq:", "id:7", "", "id:seq:1:a"] {
            let cursor = ReadOrder::Id.cursor(&hit(id, Vec::new())).unwrap();
            assert_eq!(
                ReadOrder::resume(&cursor).unwrap(),
                (ReadOrder::Id, vec![Value::from(id)]),
                "{id:?} as {cursor:?}"
            );
        }
        // A bare id, as older checkpoints hold them, still resumes by `_id`.
        assert_eq!(
            ReadOrder::resume("doc-7").unwrap(),
            (ReadOrder::Id, vec![Value::from("doc-7")])
        );
    }

    #[test]
    fn a_damaged_cursor_is_refused() {
        for cursor in ["seq:", "seq:12", "seq:x:id"] {
            let err = ReadOrder::resume(cursor).unwrap_err();
            assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput, "{cursor}");
        }
        let unsorted = hit("a", Vec::new());
        assert!(ReadOrder::SeqNo.cursor(&unsorted).is_err());
    }
}
