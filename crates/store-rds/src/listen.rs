//! LISTEN/NOTIFY: [`PgStore::listen`] opens a connection of its own (outside the pool, which
//! cannot hand notifications out), listens on channels, and yields what arrives as a
//! [`Listener`] stream. A broken connection is opened again with backoff, every channel is
//! listened to again, and the stream says so with [`ListenEvent::Reconnected`]: PostgreSQL
//! keeps no notifications for a listener that is gone, so what was sent meanwhile is lost and
//! the caller knows to read the state again.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use futures::Stream;
use futures::future::{Either, select};
use futures::stream::poll_fn;
use store_core::{Result, RetryPolicy, StoreError};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_postgres::AsyncMessage;

use crate::error::{BACKEND, map_pg};
use crate::password::Opener;
use crate::store::PgStore;
use crate::tls::Connector;

/// The longest channel name PostgreSQL keeps (`NAMEDATALEN - 1` bytes).
pub const MAX_CHANNEL_LEN: usize = 63;
/// The largest payload PostgreSQL takes in a notification, in bytes (default build).
pub const MAX_PAYLOAD_LEN: usize = 7_999;
/// Events buffered between the connection and the stream's reader.
const BUFFER: usize = 1_024;

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The channel it was sent on.
    pub channel: String,
    /// Its payload (empty when none was given).
    pub payload: String,
    /// The process id of the sending backend.
    pub process_id: i32,
}

/// What a [`Listener`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenEvent {
    /// A notification arrived.
    Notification(Notification),
    /// The connection broke and is back, listening on every channel again. Notifications
    /// sent between `lost_at` and `resumed_at` were not received.
    Reconnected {
        /// When the connection was found broken.
        lost_at: SystemTime,
        /// When every channel was listened to again.
        resumed_at: SystemTime,
        /// Connection attempts it took.
        attempts: u32,
    },
}

/// A stream of [`ListenEvent`]s on the channels given to [`PgStore::listen`].
///
/// It ends with an `Unavailable` error when the connection cannot be opened again within the
/// reconnect policy. Dropping it closes its connection.
#[derive(Debug)]
pub struct Listener {
    events: mpsc::Receiver<Result<ListenEvent>>,
    task: JoinHandle<()>,
}

impl Stream for Listener {
    type Item = Result<ListenEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_recv(cx)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Checks a channel name: 1 to 63 bytes, no NUL.
fn check_channel(channel: &str) -> Result<()> {
    if channel.is_empty() || channel.len() > MAX_CHANNEL_LEN || channel.contains('\0') {
        return Err(StoreError::invalid_input(format!(
            "a channel name must have 1 to {MAX_CHANNEL_LEN} bytes and no NUL, `{}` has {}",
            channel.escape_debug(),
            channel.len()
        )));
    }
    Ok(())
}

/// `LISTEN` statements for the channels, each name quoted as an identifier (kept exactly,
/// case included).
fn listen_sql(channels: &[String]) -> String {
    channels
        .iter()
        .map(|c| format!("LISTEN \"{}\";", c.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

impl PgStore {
    /// Listens on `channels` on a connection of its own and streams what arrives; returns once
    /// every `LISTEN` has taken effect, so anything notified after it is received. A broken
    /// connection is reopened following `reconnect` (`RetryPolicy::default()` is 5 attempts
    /// within a minute) and reported with [`ListenEvent::Reconnected`].
    ///
    /// Needs the settings the store was built from: a store made by
    /// [`from_client`](Self::from_client) has none and gets `Unsupported`. A channel name of
    /// more than 63 bytes is `InvalidInput` (PostgreSQL would cut it silently).
    ///
    /// ```no_run
    /// # async fn demo(store: store_rds::PgStore) -> store_core::Result<()> {
    /// use futures::StreamExt;
    /// use store_core::RetryPolicy;
    /// use store_rds::ListenEvent;
    /// let mut events = store.listen(&["orders"], RetryPolicy::default()).await?;
    /// store.notify("orders", "42").await?;
    /// while let Some(event) = events.next().await {
    ///     match event? {
    ///         ListenEvent::Notification(n) => println!("order {}", n.payload),
    ///         ListenEvent::Reconnected { .. } => println!("missed some: reload the orders"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn listen(&self, channels: &[&str], reconnect: RetryPolicy) -> Result<Listener> {
        let context = |e: StoreError| e.in_context(BACKEND, "listen");
        if channels.is_empty() {
            return Err(context(StoreError::invalid_input(
                "listen needs at least one channel",
            )));
        }
        for channel in channels {
            check_channel(channel).map_err(context)?;
        }
        let Some(config) = self.config() else {
            return Err(context(StoreError::unsupported(
                "a store made from a pool has no connection settings to listen with; \
                 build it with PgConfig",
            )));
        };
        let mut pg = config.pg.clone();
        let name = pg.get_application_name().unwrap_or("stores").to_owned();
        pg.application_name(format!("{name} listener"));
        let channels: Vec<String> = channels.iter().map(|c| (*c).to_owned()).collect();
        let (events, receiver) = mpsc::channel(BUFFER);
        let (ready, started) = oneshot::channel();
        let opener = Opener {
            connector: self.connector.clone(),
            source: self.password_source.clone(),
        };
        let task = tokio::spawn(run(pg, opener, channels, reconnect, events, ready));
        match started.await {
            Ok(Ok(())) => Ok(Listener {
                events: receiver,
                task,
            }),
            Ok(Err(e)) => Err(context(e)),
            Err(_) => Err(context(StoreError::internal(
                "the listening task ended before it started",
            ))),
        }
    }

    /// Sends a notification on `channel` (`pg_notify`, so any text is a safe payload). It is
    /// delivered when the surrounding transaction commits (at once outside one). A payload
    /// over 7,999 bytes is `InvalidInput`.
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        let context = |e: StoreError| e.in_context(BACKEND, "notify");
        check_channel(channel).map_err(context)?;
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(context(StoreError::invalid_input(format!(
                "a notification payload has at most {MAX_PAYLOAD_LEN} bytes, this one {}",
                payload.len()
            ))));
        }
        self.execute_params("SELECT pg_notify($1, $2)", &[&channel, &payload])
            .await
            .map(|_| ())
    }
}

/// Why a connection stopped.
enum Stop {
    /// The stream's reader is gone.
    Closed,
    /// The connection broke.
    Lost,
}

/// The listening task: connect, listen, forward; on a broken connection, again.
async fn run(
    pg: tokio_postgres::Config,
    opener: Opener,
    channels: Vec<String>,
    reconnect: RetryPolicy,
    events: mpsc::Sender<Result<ListenEvent>>,
    ready: oneshot::Sender<Result<()>>,
) {
    let sql = listen_sql(&channels);
    let mut ready = Some(ready);
    let mut lost: Option<(SystemTime, u32)> = None;
    let mut backoff = reconnect.start();
    loop {
        let (listening, listened) = oneshot::channel();
        let session = std::pin::pin!(session(&pg, &opener, &sql, &events, listening));
        let outcome = select(session, listened).await;
        let stop = match outcome {
            // LISTEN took effect: tell whoever waits, then keep forwarding.
            Either::Right((Ok(()), session)) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Ok(()));
                }
                if let Some((lost_at, attempts)) = lost.take() {
                    let event = ListenEvent::Reconnected {
                        lost_at,
                        resumed_at: SystemTime::now(),
                        attempts,
                    };
                    if events.send(Ok(event)).await.is_err() {
                        return;
                    }
                }
                backoff = reconnect.start();
                session.await
            }
            Either::Right((Err(_), session)) => session.await,
            Either::Left((stop, _)) => stop,
        };
        let error = match stop {
            Ok(Stop::Closed) => return,
            Ok(Stop::Lost) => StoreError::unavailable("the listening connection closed"),
            Err(e) => e,
        };
        if let Some(ready) = ready.take() {
            // The first connection failed: listen() reports it.
            let _ = ready.send(Err(error));
            return;
        }
        let (_, attempts) = lost.get_or_insert((SystemTime::now(), 0));
        *attempts += 1;
        tracing::warn!(error = %error, attempt = *attempts, "the listening connection broke");
        match backoff.next(None) {
            Some(delay) => tokio::time::sleep(delay).await,
            None => {
                let gave_up = StoreError::unavailable(format!(
                    "the listening connection could not be opened again in {} attempts: {}",
                    *attempts,
                    error.message()
                ))
                .in_context(BACKEND, "listen")
                .with_source(error);
                let _ = events.send(Err(gave_up)).await;
                return;
            }
        }
    }
}

/// One connection, with the store's TLS choice and password source: connects, then
/// [`listen_on`] it.
async fn session(
    pg: &tokio_postgres::Config,
    opener: &Opener,
    sql: &str,
    events: &mpsc::Sender<Result<ListenEvent>>,
    listening: oneshot::Sender<()>,
) -> Result<Stop> {
    let pg = opener
        .settings(pg)
        .await
        .map_err(|e| e.in_context(BACKEND, "listen"))?;
    match &opener.connector {
        Connector::Plain => {
            let (client, connection) = pg
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| map_pg(e, "listen"))?;
            listen_on(client, connection, sql, events, listening).await
        }
        #[cfg(feature = "tls")]
        Connector::Rustls(tls) => {
            let (client, connection) = pg
                .connect(tls.clone())
                .await
                .map_err(|e| map_pg(e, "listen"))?;
            listen_on(client, connection, sql, events, listening).await
        }
    }
}

/// Runs `sql` (the LISTENs) on a connection, signals `listening`, then forwards
/// notifications until the connection ends or nobody reads them.
async fn listen_on<S, T>(
    client: tokio_postgres::Client,
    connection: tokio_postgres::Connection<S, T>,
    sql: &str,
    events: &mpsc::Sender<Result<ListenEvent>>,
    listening: oneshot::Sender<()>,
) -> Result<Stop>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut forward = std::pin::pin!(forward(connection, events));
    {
        let listen = std::pin::pin!(client.batch_execute(sql));
        match select(listen, &mut forward).await {
            Either::Left((Ok(()), _)) => {
                let _ = listening.send(());
            }
            Either::Left((Err(e), _)) => return Err(map_pg(e, "listen")),
            Either::Right((stop, _)) => return stop,
        }
    }
    // Forward until the connection ends; the client lives until then (dropping it would
    // close the connection).
    let stop = forward.await;
    drop(client);
    stop
}

/// Drives a connection, forwarding its notifications, until it ends or the reader is gone.
async fn forward<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
    events: &mpsc::Sender<Result<ListenEvent>>,
) -> Result<Stop>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures::StreamExt;
    let mut messages = poll_fn(move |cx| connection.poll_message(cx));
    loop {
        let next = select(messages.next(), Box::pin(events.closed())).await;
        let message = match next {
            Either::Left((message, _)) => message,
            Either::Right(((), _)) => return Ok(Stop::Closed),
        };
        match message {
            Some(Ok(AsyncMessage::Notification(n))) => {
                let event = ListenEvent::Notification(Notification {
                    channel: n.channel().to_owned(),
                    payload: n.payload().to_owned(),
                    process_id: n.process_id(),
                });
                if events.send(Ok(event)).await.is_err() {
                    return Ok(Stop::Closed);
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(map_pg(e, "listen")),
            None => return Ok(Stop::Lost),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_are_checked_and_quoted_exactly() {
        assert!(check_channel("orders").is_ok());
        assert!(check_channel(&"x".repeat(63)).is_ok());
        assert!(check_channel(&"x".repeat(64)).is_err());
        assert!(check_channel("").is_err());
        assert!(
            check_channel("a\\0b").is_ok(),
            "a backslash and a zero are fine"
        );
        assert!(check_channel("a\u{0}b").is_err(), "a NUL is not");
        let sql = listen_sql(&["Orders".into(), "a\"b; DROP".into()]);
        assert_eq!(sql, "LISTEN \"Orders\"; LISTEN \"a\"\"b; DROP\";");
    }
}
