//! Two object listings walked together by key: each listing comes in byte order of its keys
//! (held to it by [`in_key_order`](super::ordered::in_key_order)), so one pass over both,
//! holding one entry of each, pairs every key with its counterpart.

use std::cmp::Ordering;

use futures::stream::BoxStream;
use futures::{Stream, TryStreamExt};
use store_core::Result;
use store_core::object::ObjectMeta;

use super::ObjectLocation;

/// Where a relative key was found.
#[derive(Debug)]
pub(crate) enum Found {
    /// Under both locations: the left's object, then the right's.
    Both(ObjectMeta, ObjectMeta),
    /// Only under the left location.
    Left(ObjectMeta),
    /// Only under the right location.
    Right(ObjectMeta),
}

/// Every relative key under either location, in byte order, with where it was found. A
/// listing that is not in key order is an error naming its location, never a wrong pairing.
pub(crate) fn merge<'a>(
    left: &'a ObjectLocation,
    right: &'a ObjectLocation,
) -> impl Stream<Item = Result<(String, Found)>> + 'a {
    walk(
        Listing::new(left.listing_stream()),
        Listing::new(right.listing_stream()),
    )
}

fn walk<'a>(
    left: Listing<'a>,
    right: Listing<'a>,
) -> impl Stream<Item = Result<(String, Found)>> + 'a {
    let walk = Walk { left, right };
    futures::stream::try_unfold(walk, |mut walk| async move {
        Ok(walk.next().await?.map(|found| (found, walk)))
    })
}

struct Walk<'a> {
    left: Listing<'a>,
    right: Listing<'a>,
}

impl Walk<'_> {
    async fn next(&mut self) -> Result<Option<(String, Found)>> {
        self.left.fill().await?;
        self.right.fill().await?;
        Ok(match (self.left.head.take(), self.right.head.take()) {
            (None, None) => None,
            (Some((key, meta)), None) => Some((key, Found::Left(meta))),
            (None, Some((key, meta))) => Some((key, Found::Right(meta))),
            (Some(left), Some(right)) => match left.0.cmp(&right.0) {
                Ordering::Less => {
                    self.right.head = Some(right);
                    Some((left.0, Found::Left(left.1)))
                }
                Ordering::Greater => {
                    self.left.head = Some(left);
                    Some((right.0, Found::Right(right.1)))
                }
                Ordering::Equal => Some((left.0, Found::Both(left.1, right.1))),
            },
        })
    }
}

/// One location's listing and the entry read ahead of the walk.
struct Listing<'a> {
    entries: BoxStream<'a, Result<(String, ObjectMeta)>>,
    head: Option<(String, ObjectMeta)>,
}

impl<'a> Listing<'a> {
    fn new(entries: BoxStream<'a, Result<(String, ObjectMeta)>>) -> Self {
        Self {
            entries,
            head: None,
        }
    }

    /// Reads the next entry when none is waiting.
    async fn fill(&mut self) -> Result<()> {
        if self.head.is_some() {
            return Ok(());
        }
        self.head = self.entries.try_next().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    fn listing<'a>(label: &'a str, keys: &[&str]) -> Listing<'a> {
        let entries = futures::stream::iter(crate::objects::ordered::tests::entries(keys));
        let entries = crate::objects::ordered::in_key_order(label, entries);
        Listing::new(entries.fuse().boxed())
    }

    async fn walked(left: &[&str], right: &[&str]) -> Result<Vec<(String, char)>> {
        walk(listing("left", left), listing("right", right))
            .map_ok(|(key, found)| {
                let side = match found {
                    Found::Both(..) => 'b',
                    Found::Left(_) => 'l',
                    Found::Right(_) => 'r',
                };
                (key, side)
            })
            .try_collect()
            .await
    }

    #[tokio::test]
    async fn keys_pair_up_in_byte_order() {
        let found = walked(&["a", "b/1", "d", "é"], &["b/1", "c", "z", "é"])
            .await
            .unwrap();
        let expected = [
            ("a", 'l'),
            ("b/1", 'b'),
            ("c", 'r'),
            ("d", 'l'),
            ("z", 'r'),
            ("é", 'b'),
        ];
        let expected: Vec<(String, char)> = expected
            .iter()
            .map(|(k, s)| ((*k).to_owned(), *s))
            .collect();
        assert_eq!(found, expected);
        assert!(walked(&[], &[]).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_listing_out_of_key_order_is_refused_by_name() {
        let err = walked(&["a", "c", "b"], &["a"]).await.unwrap_err();
        assert_eq!(err.kind(), store_core::ErrorKind::Unsupported);
        assert!(
            err.message()
                .contains("listing of left is not in key order")
        );
        assert!(
            err.message().contains("`b` came after `c`"),
            "{}",
            err.message()
        );
    }
}
