//! Paging through a [`FallbackLayer`](crate::FallbackLayer): a cursor belongs to the store that served its page,
//! so the pages of one listing come from one store. A page the secondary served carries its
//! cursor marked as the secondary's, and the page after it is asked of the secondary again;
//! a cursor of the primary's is asked of the primary only, since the secondary cannot read
//! it (cursors name their backend and collection). A listing begun on one store thus ends on
//! it, or fails with that store's error, instead of being handed to the other one midway.

use futures::future::BoxFuture;
use store_core::object::ListPage;
use store_core::{Cursor, Page, Result, StoreError};

use crate::layer::Layer;
use crate::meta::OpMeta;
use crate::read::read;

/// The mark on the cursors of pages the secondary served.
const SECONDARY: &str = "fallback~";

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
    let Some(cursor) = cursor else {
        let secondary = secondary.map(|s| {
            move || -> BoxFuture<'a, Result<T>> {
                let first = s(None);
                Box::pin(async move { first.await.map(secondary_page) })
            }
        });
        return read(layer, meta, move || primary(None), secondary).await;
    };
    match cursor.as_token().strip_prefix(SECONDARY) {
        None => {
            let no_fallback: Option<fn() -> BoxFuture<'a, Result<T>>> = None;
            read(
                layer,
                meta,
                move || primary(Some(cursor.clone())),
                no_fallback,
            )
            .await
        }
        Some(theirs) => {
            let (Some(fallback), Some(secondary)) = (layer.fallback(), secondary) else {
                return Err(StoreError::invalid_input(format!(
                    "`{meta}` was given a cursor of a fallback store, and this store has none"
                )));
            };
            let next = secondary(Some(Cursor::from_token(theirs)));
            fallback.resumed(next).await.map(secondary_page)
        }
    }
}

/// A page the secondary served, its cursor marked as the secondary's.
fn secondary_page<T: Paged>(mut page: T) -> T {
    let next = page.next_mut();
    if let Some(cursor) = next.take() {
        *next = Some(Cursor::from_token(format!(
            "{SECONDARY}{}",
            cursor.as_token()
        )));
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secondary_cursor_is_marked_and_the_last_page_stays_without_one() {
        let page = secondary_page(Page::new(vec![1], Some(Cursor::from_token("abc"))));
        assert_eq!(page.next, Some(Cursor::from_token("fallback~abc")));
        let last = secondary_page(Page::<u8>::new(vec![], None));
        assert_eq!(last.next, None);
    }
}
