//! Sort keys, the sort values kept in the `_sort` fast field, and `search_after` positions.
//!
//! A document's `_sort` value is one columnar (fast) bytes value holding, for each keyword,
//! number, date or boolean path it indexed, the smallest and the largest exact value (the one an
//! ascending or descending sort uses for a list). Sorting reads that column, never the stored
//! documents, and compares values exactly (numbers as decimals, not as `f64`).

use std::io::Write as _;

use store_core::Value;
use store_core::search::SortOrder;
use store_core::search::engine::{Exact, SortKey, sort_values};

/// The sort values of a hit from its id, score and `_sort` bytes; a missing field gives `Null`.
pub(crate) fn hit_sort_values(
    keys: &[SortKey],
    id: &str,
    score: f32,
    sort_bytes: &[u8],
) -> Vec<Value> {
    sort_values(keys, id, f64::from(score), |name, order| {
        find_sort_value(sort_bytes, name, order)
    })
}

/// Encodes the `_sort` value of a document: for each path, its smallest and largest value.
///
/// Layout: repeated `path`, `min`, `max`; a path is a length-prefixed string, a value a tag
/// byte (`0` false, `1` true, `2` number as exact decimal text, `3` string) and, for numbers
/// and strings, a length-prefixed string. Lengths are little-endian `u32`.
pub(crate) fn encode_sort_values(values: &[(&str, &Exact, &Exact)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 48);
    let put = |out: &mut Vec<u8>, s: &[u8]| {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s);
    };
    let put_exact = |out: &mut Vec<u8>, e: &Exact| match e {
        Exact::Bool(b) => out.push(u8::from(*b)),
        Exact::Num(n) => {
            out.push(2);
            // The length goes before the digits: written once they are.
            let at = out.len();
            out.extend_from_slice(&[0; 4]);
            let _ = write!(out, "{n}");
            let len = (out.len() - at - 4) as u32;
            out[at..at + 4].copy_from_slice(&len.to_le_bytes());
        }
        Exact::Str(s) => {
            out.push(3);
            put(out, s.as_bytes());
        }
    };
    for (path, min, max) in values {
        put(&mut out, path.as_bytes());
        put_exact(&mut out, min);
        put_exact(&mut out, max);
    }
    out
}

/// The value a sort on `path` in `order` uses, from a document's `_sort` bytes.
fn find_sort_value(bytes: &[u8], path: &str, order: SortOrder) -> Option<Exact> {
    let mut r = Reader(bytes);
    while !r.0.is_empty() {
        let p = r.str()?;
        let min = r.exact()?;
        let max = r.exact()?;
        if p == path {
            return Some(match order {
                SortOrder::Asc => min,
                SortOrder::Desc => max,
            });
        }
    }
    None
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn str(&mut self) -> Option<&'a str> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        std::str::from_utf8(self.take(len)?).ok()
    }

    fn exact(&mut self) -> Option<Exact> {
        Some(match self.take(1)?[0] {
            0 => Exact::Bool(false),
            1 => Exact::Bool(true),
            2 => Exact::Num(self.str()?.parse().ok()?),
            3 => Exact::Str(self.str()?.to_owned()),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_values_round_trip_and_pick_by_order() {
        let lo = Exact::Num("-1.50".parse().unwrap());
        let hi = Exact::Num(7.into());
        let k = Exact::Str("k".into());
        let t = Exact::Bool(true);
        let bytes = encode_sort_values(&[("n", &lo, &hi), ("key", &k, &k), ("b", &t, &t)]);
        assert_eq!(find_sort_value(&bytes, "n", SortOrder::Asc), Some(lo));
        assert_eq!(find_sort_value(&bytes, "n", SortOrder::Desc), Some(hi));
        assert_eq!(find_sort_value(&bytes, "key", SortOrder::Asc), Some(k));
        assert_eq!(find_sort_value(&bytes, "b", SortOrder::Asc), Some(t));
        assert_eq!(find_sort_value(&bytes, "missing", SortOrder::Asc), None);
    }
}
