//! Pages and opaque cursors shared by every listing, query and scan.

use std::fmt;

use base64::Engine as _;
use futures::stream::{self, BoxStream, StreamExt};

use crate::error::{Result, StoreError};

/// An opaque, resumable position in a listing, query or scan.
///
/// Hand it back to the same call with the same arguments to get the next page. It is plain
/// text (a backend's is URL-safe base64; a layer may add a URL-safe mark of its own, as
/// store-layers' fallback does), so an API can pass it to its own clients and take it back
/// later.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// Encodes a backend's own position as a cursor.
    pub fn encode(raw: &[u8]) -> Self {
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
    }

    /// Decodes the backend's position; a tampered or foreign cursor is `InvalidInput`.
    pub fn decode(&self) -> Result<Vec<u8>> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&self.0)
            .map_err(|_| StoreError::invalid_input("the cursor is not one this library issued"))
    }

    /// Wraps cursor text received from a client.
    pub fn from_token(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The cursor as text, to hand to a client.
    pub fn as_token(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({})", self.0)
    }
}

/// One page of results and the cursor of the next page, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The results on this page.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// A page.
    pub fn new(items: Vec<T>, next: Option<Cursor>) -> Self {
        Self { items, next }
    }
}

/// Turns a page call into a stream of items that fetches the next page when it needs it.
///
/// The stream ends after the page whose `next` is `None`, or after the first error.
pub fn paginate<'a, T, F, Fut>(fetch: F) -> BoxStream<'a, Result<T>>
where
    T: Send + 'a,
    F: FnMut(Option<Cursor>) -> Fut + Send + 'a,
    Fut: std::future::Future<Output = Result<Page<T>>> + Send + 'a,
{
    enum State {
        Start,
        Next(Cursor),
        Done,
    }
    stream::unfold((State::Start, fetch), |(state, mut fetch)| async move {
        let cursor = match state {
            State::Start => None,
            State::Next(c) => Some(c),
            State::Done => return None,
        };
        match fetch(cursor).await {
            Ok(page) => {
                let next = page.next.map_or(State::Done, State::Next);
                let items = stream::iter(page.items.into_iter().map(Ok));
                Some((items.boxed(), (next, fetch)))
            }
            Err(e) => Some((stream::iter([Err(e)]).boxed(), (State::Done, fetch))),
        }
    })
    .flatten()
    .boxed()
}
