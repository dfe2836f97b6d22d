//! Paging through a [`FallbackLayer`](crate::FallbackLayer): a cursor belongs to the store that served its page,
//! so the pages of one listing come from one store. A page the secondary served carries its
//! cursor marked as the secondary's, and the page after it is asked of the secondary again;
//! a cursor of the primary's is asked of the primary only, since the secondary cannot read
//! it (cursors name their backend and collection). A listing begun on one store thus ends on
//! it, or fails with that store's error, instead of being handed to the other one midway.
//! The mark names the fallback, so a store layered twice, each with a fallback, sends each
//! cursor to the store that made it.

use futures::future::BoxFuture;
use store_core::object::ListPage;
use store_core::{Cursor, Page, Result};

use crate::fallback::FallbackLayer;
use crate::layer::{Layer, as_call};
use crate::meta::OpMeta;
use crate::read::read;

/// A page with a cursor to the next one.
pub(crate) trait Paged {
    /// The next page's cursor.
    fn next_mut(&mut self) -> &mut Option<Cursor>;
}

impl<T> Paged for Page<T> {
    fn next_mut(&mut self) -> &mut Option<Cursor> {
        &mut self.next
    }
}

impl Paged for ListPage {
    fn next_mut(&mut self) -> &mut Option<Cursor> {
        &mut self.next
    }
}

/// The page at `cursor`: from the store its cursor belongs to, the first page from the
/// primary or, when it fails, from the secondary.
pub(crate) async fn page<'a, L, T, P, S>(
    layer: &'a L,
    meta: &'a OpMeta<'a>,
    cursor: Option<Cursor>,
    primary: P,
    secondary: Option<S>,
) -> Result<T>
where
    L: Layer,
    T: Paged + Send + 'a,
    P: Fn(Option<Cursor>) -> BoxFuture<'a, Result<T>> + Send + Sync + 'a,
    S: Fn(Option<Cursor>) -> BoxFuture<'a, Result<T>> + Send + Sync + 'a,
{
    let fallback = layer.fallback().filter(|_| secondary.is_some());
    let mark = fallback.map(FallbackLayer::cursor_mark);
    let Some(cursor) = cursor else {
        let secondary = secondary.zip(mark).map(|(s, mark)| {
            move || -> BoxFuture<'a, Result<T>> {
                let first = s(None);
                let mark = mark.clone();
                Box::pin(async move { first.await.map(|page| marked(page, &mark)) })
            }
        });
        return read(layer, meta, move || primary(None), secondary).await;
    };
    // A cursor this fallback's secondary made goes back to it. Any other (the primary's,
    // or one an inner layer's fallback marked) goes to the primary, untouched.
    let theirs = mark
        .as_deref()
        .and_then(|mark| cursor.as_token().strip_prefix(mark));
    match (theirs, fallback.zip(mark.as_deref()), secondary) {
        (Some(theirs), Some((fallback, mark)), Some(secondary)) => {
            // Traced and measured as any call, but none of the primary's breaker, retry
            // and limits: the page is the secondary's.
            let theirs = Cursor::from_token(theirs);
            let next = move || fallback.resumed(secondary(Some(theirs.clone())));
            let next = || -> BoxFuture<'_, Result<T>> { Box::pin(next()) };
            let page = layer.observed(meta, as_call(&next)).await;
            page.map(|page| marked(page, mark))
        }
        _ => {
            let no_fallback: Option<fn() -> BoxFuture<'a, Result<T>>> = None;
            read(
                layer,
                meta,
                move || primary(Some(cursor.clone())),
                no_fallback,
            )
            .await
        }
    }
}

/// A page the secondary served, its next cursor marked with `mark`.
fn marked<T: Paged>(mut page: T, mark: &str) -> T {
    let next = page.next_mut();
    if let Some(cursor) = next.take() {
        *next = Some(Cursor::from_token(format!("{mark}{}", cursor.as_token())));
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secondary_cursor_is_marked_and_the_last_page_stays_without_one() {
        let page = marked(Page::new(vec![1], Some(Cursor::from_token("abc"))), "m~");
        assert_eq!(page.next, Some(Cursor::from_token("m~abc")));
        let last = marked(Page::<u8>::new(vec![], None), "m~");
        assert_eq!(last.next, None);
    }
}
