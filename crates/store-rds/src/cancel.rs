//! Work given up on the client is given up on the server too. A statement that outlives its
//! time limit ([`PgConfig::query_timeout`](crate::PgConfig::query_timeout)), a caller that
//! stopped waiting (its future dropped), or a row stream dropped halfway has its query
//! cancelled with PostgreSQL's cancel request (sent on a connection of its own, TLS as the
//! store's), and the connection it ran on leaves the pool instead of going back to it busy.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use deadpool_postgres::Object;
use futures::future::Either;
use futures::{FutureExt, Stream};
use store_core::{Result, StoreError};
use tokio_postgres::CancelToken;

use crate::error::BACKEND;
use crate::tls::Connector;

/// How long a cancel request may take before the connection is closed anyway (the server
/// may be unreachable: that is often why the statement was given up).
const CANCEL_WAIT: Duration = Duration::from_secs(5);

/// A pooled connection doing one statement: dropped before [`release`](Self::release), its
/// statement is cancelled on the server and the connection discarded.
pub(crate) struct Guarded {
    conn: Option<Object>,
    connector: Connector,
}

impl Guarded {
    pub(crate) fn new(conn: Object, connector: &Connector) -> Self {
        Self {
            conn: Some(conn),
            connector: connector.clone(),
        }
    }

    /// The statement is over (done or failed): the connection goes back to the pool.
    pub(crate) fn release(mut self) {
        self.conn.take();
    }

    /// The connection is closed, not pooled, with nothing to cancel (its session state is
    /// unknown).
    pub(crate) fn discard(mut self) {
        if let Some(conn) = self.conn.take() {
            drop(Object::take(conn));
        }
    }
}

impl Deref for Guarded {
    type Target = Object;

    fn deref(&self) -> &Object {
        self.conn
            .as_ref()
            .expect("a guarded connection is used before release")
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let token = conn.cancel_token();
        // Out of the pool: the client closes once the cancel request has gone.
        let client = Object::take(conn);
        let connector = self.connector.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                cancel(&token, connector).await;
                drop(client);
            });
        }
    }
}

/// Sends a cancel request for `token`'s connection, waiting at most [`CANCEL_WAIT`].
pub(crate) async fn cancel(token: &CancelToken, connector: Connector) {
    match tokio::time::timeout(CANCEL_WAIT, send_cancel(token, connector)).await {
        Ok(Ok(())) => tracing::debug!("statement cancelled on the server"),
        Ok(Err(e)) => tracing::warn!(error = %e, "cancelling a statement failed"),
        Err(_) => tracing::warn!("cancelling a statement took over {CANCEL_WAIT:?}"),
    }
}

async fn send_cancel(
    token: &CancelToken,
    connector: Connector,
) -> std::result::Result<(), tokio_postgres::Error> {
    match connector {
        Connector::Plain => token.cancel_query(tokio_postgres::NoTls).await,
        #[cfg(feature = "tls")]
        Connector::Rustls(tls) => token.cancel_query(tls).await,
    }
}

/// Runs `work` within `limit` (no limit: `None`). On expiry `work` is dropped, and with it
/// the [`Guarded`] connection it owns, which cancels its statement.
pub(crate) fn within<T>(
    limit: Option<Duration>,
    operation: &'static str,
    work: impl Future<Output = Result<T>>,
) -> impl Future<Output = Result<T>> {
    limited(limit, work)
        .map(move |outcome| outcome.unwrap_or_else(|limit| Err(timed_out(operation, limit))))
}

/// `work`'s outcome, or the limit it overran (`work` dropped).
///
/// A plain function returning one of two futures, not an `async fn`: an `async fn` would keep
/// `work` in its state beside the future awaiting it, doubling the size of every statement's
/// future (a pooled query's grew to 3.5 KiB, copied on each move and allocated outside the
/// allocator's small-block cache).
pub(crate) fn limited<T>(
    limit: Option<Duration>,
    work: impl Future<Output = T>,
) -> impl Future<Output = std::result::Result<T, Duration>> {
    match limit {
        None => Either::Left(work.map(Ok)),
        Some(limit) => Either::Right(
            tokio::time::timeout(limit, work).map(move |outcome| outcome.map_err(|_| limit)),
        ),
    }
}

/// The error of a statement cancelled for taking longer than `limit`: retryable.
pub(crate) fn timed_out(operation: &'static str, limit: Duration) -> StoreError {
    StoreError::unavailable(format!(
        "`{operation}` did not finish within {limit:?}; it was cancelled on the server"
    ))
    .in_context(BACKEND, operation)
}

/// A row stream holding its [`Guarded`] connection: the connection is released when the
/// rows end (or the server reports an error, which ends its query), and the query cancelled
/// and the connection closed if the stream is dropped before or the client fails to read it.
pub(crate) struct GuardedRows<S> {
    rows: Pin<Box<S>>,
    conn: Option<Guarded>,
}

impl<S> GuardedRows<S> {
    pub(crate) fn new(rows: S, conn: Guarded) -> Self {
        Self {
            rows: Box::pin(rows),
            conn: Some(conn),
        }
    }
}

impl<S, T> Stream for GuardedRows<S>
where
    S: Stream<Item = std::result::Result<T, tokio_postgres::Error>>,
{
    type Item = std::result::Result<T, tokio_postgres::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = self.rows.as_mut().poll_next(cx);
        // Whether the query is over with its connection fine: at the rows' end, or at the
        // server's error; any other error (a broken connection, a message the client could
        // not read) leaves the connection's state unknown.
        let over = match &next {
            Poll::Ready(None) => Some(true),
            Poll::Ready(Some(Err(e))) => Some(e.as_db_error().is_some()),
            _ => None,
        };
        if let Some(fine) = over
            && let Some(conn) = self.conn.take()
        {
            if fine {
                conn.release();
            } else {
                // Dropped unreleased: cancelled and closed.
                drop(conn);
            }
        }
        next
    }
}
