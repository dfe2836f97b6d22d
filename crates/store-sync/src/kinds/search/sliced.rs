//! Reads in slices: a [`SliceScanner`] reads an index in several slices at once from one
//! consistent view, and the cursor of a batch holds where each slice stands (`seqs:` and a
//! JSON array), so a resumed read starts every slice after its own last hit.

use std::sync::Arc;

use futures::stream::BoxStream;
use store_core::search::{Hit, SearchRequest};
use store_core::{Number, Result, StoreError, Value};

/// Reads every hit of a request (in its sort) from one consistent view in as many slices as
/// it is given starts, read at once; a slice with a start reads only the hits after those
/// sort values. A backend that cannot slice may read a fresh read (no start) as one slice,
/// and says so in each hit.
pub type SliceScanner = Arc<
    dyn Fn(SearchRequest, Vec<Option<Vec<Value>>>) -> BoxStream<'static, Result<SlicedHit>>
        + Send
        + Sync,
>;

/// A hit of a read in slices.
#[derive(Debug, Clone, PartialEq)]
pub struct SlicedHit {
    /// Its slice, from 0.
    pub slice: usize,
    /// How many slices the read has (one, when the backend could not slice a fresh read).
    pub slices: usize,
    /// The hit.
    pub hit: Hit,
}

impl SlicedHit {
    /// `hit`, of slice `slice` of `slices`.
    pub fn new(slice: usize, slices: usize, hit: Hit) -> Self {
        Self { slice, slices, hit }
    }
}

/// The mark of a cursor of a sliced read: `seqs:` and, per slice, `null` (nothing read yet)
/// or `["<sequence number>", "<id>"]`, its last hit's sort values.
const SLICES_PREFIX: &str = "seqs:";

/// Where each slice stands after the hits read so far: the sort values of its last hit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SlicePositions(Vec<Option<Vec<Value>>>);

impl SlicePositions {
    /// `slices` slices, none read yet.
    pub(crate) fn new(slices: usize) -> Self {
        Self(vec![None; slices.max(1)])
    }

    /// The positions a cursor holds; `None` when it is not the cursor of a sliced read.
    pub(crate) fn resume(cursor: &str) -> Option<Result<Self>> {
        let json = cursor.strip_prefix(SLICES_PREFIX)?;
        let bad = || {
            StoreError::invalid_input(format!(
                "the checkpoint's search cursor `{cursor}` is not `seqs:` and a JSON array of \
                 null or [\"<sequence number>\", \"<id>\"] per slice"
            ))
        };
        let parsed: Vec<Option<(String, String)>> = match serde_json::from_str(json) {
            Ok(parsed) => parsed,
            Err(_) => return Some(Err(bad())),
        };
        if parsed.is_empty() {
            return Some(Err(bad()));
        }
        let mut positions = Vec::with_capacity(parsed.len());
        for slice in parsed {
            positions.push(match slice {
                None => None,
                Some((seq_no, id)) => {
                    let Ok(seq_no) = seq_no.parse::<Number>() else {
                        return Some(Err(bad()));
                    };
                    Some(vec![Value::Number(seq_no), Value::String(id)])
                }
            });
        }
        Some(Ok(Self(positions)))
    }

    /// The starts of a read that resumes from here.
    pub(crate) fn starts(&self) -> Vec<Option<Vec<Value>>> {
        self.0.clone()
    }

    /// Moves slice `slice` of `slices` to the hit whose sort values are `sort`. A read asked
    /// for more slices than it has (a backend that could not slice it) keeps as many positions
    /// as it has slices, so that its cursor resumes the read it was.
    pub(crate) fn advance(&mut self, slice: usize, slices: usize, sort: Vec<Value>) -> Result<()> {
        let asked = self.0.len();
        if slices != asked {
            let unread =
                slices >= 1 && slices < asked && self.0[slices..].iter().all(Option::is_none);
            if !unread {
                return Err(StoreError::internal(format!(
                    "a read in {asked} slices came back in {slices}"
                )));
            }
            self.0.truncate(slices);
        }
        let position = self.0.get_mut(slice).ok_or_else(|| {
            StoreError::internal(format!("a hit of slice {slice} came from no slice read"))
        })?;
        *position = Some(sort);
        Ok(())
    }

    /// The cursor that resumes after these positions.
    pub(crate) fn cursor(&self) -> Result<String> {
        let slices = self
            .0
            .iter()
            .map(|position| match position.as_deref() {
                None => Ok(None),
                Some([Value::Number(seq_no), Value::String(id)]) => {
                    Ok(Some((seq_no.to_string(), id.as_str())))
                }
                Some(other) => Err(StoreError::internal(format!(
                    "a hit read by _seq_no, _id came back with the sort values {other:?}"
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        let json = serde_json::to_string(&slices)
            .map_err(|e| StoreError::internal(format!("a slice cursor: {e}")))?;
        Ok(format!("{SLICES_PREFIX}{json}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_holds_every_slice_and_resumes_them_all() {
        let mut positions = SlicePositions::new(3);
        positions
            .advance(2, 3, vec![Value::from(41), Value::from("a:\"b|c")])
            .unwrap();
        positions
            .advance(0, 3, vec![Value::from(7), Value::from("x")])
            .unwrap();
        let cursor = positions.cursor().unwrap();
        assert_eq!(cursor, r#"seqs:[["7","x"],null,["41","a:\"b|c"]]"#);
        let resumed = SlicePositions::resume(&cursor).unwrap().unwrap();
        assert_eq!(resumed, positions);
        assert_eq!(resumed.starts().len(), 3);
        assert!(positions.advance(3, 3, vec![]).is_err());
        assert!(positions.advance(0, 2, vec![]).is_err(), "slice 2 was read");

        // A read that could not be sliced keeps one position, and resumes as one slice.
        let mut unsliced = SlicePositions::new(2);
        unsliced
            .advance(0, 1, vec![Value::from(3), Value::from("y")])
            .unwrap();
        assert_eq!(unsliced.cursor().unwrap(), r#"seqs:[["3","y"]]"#);
    }

    #[test]
    fn other_cursors_are_not_sliced_and_damaged_ones_are_refused() {
        for cursor in ["seq:1:a", "id:seqs:[]", "doc-7"] {
            assert!(SlicePositions::resume(cursor).is_none(), "{cursor}");
        }
        for cursor in [
            "seqs:",
            "seqs:[]",
            "seqs:[[1,\"a\"]]",
            "seqs:[[\"x\",\"a\"]]",
            "seqs:{}",
        ] {
            let err = SlicePositions::resume(cursor).unwrap().unwrap_err();
            assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput, "{cursor}");
        }
        let mut unsorted = SlicePositions::new(1);
        unsorted.advance(0, 1, vec![Value::from("a")]).unwrap();
        assert!(unsorted.cursor().is_err());
    }
}
