//! LISTEN/NOTIFY against the server: notifications sent by store-rds and by a plain
//! tokio-postgres client arrive exactly; a listener whose backend is terminated, or whose
//! network breaks, comes back by itself, listens again and says what it missed.

use std::time::Duration;

use futures::StreamExt;
use integration_tests::names::unique_ident;
use store_core::{ErrorKind, RetryPolicy};
use store_rds::{ListenEvent, Listener, Notification, PgConfig, PgStore};

use crate::support::{config, proxied, url, within};

/// Reconnects quickly, for tests.
fn quick() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(50))
        .max_delay(Duration::from_millis(500))
        .max_attempts(40)
        .max_elapsed(Some(Duration::from_secs(30)))
}

/// The next event, within 10 s.
async fn next(listener: &mut Listener) -> ListenEvent {
    within(
        Duration::from_secs(10),
        "the next listen event",
        listener.next(),
    )
    .await
    .expect("the stream goes on")
    .expect("no error")
}

/// The next notification, skipping nothing else.
async fn notification(listener: &mut Listener) -> Notification {
    match next(listener).await {
        ListenEvent::Notification(n) => n,
        other => panic!("expected a notification, got {other:?}"),
    }
}

/// A plain client, not store-rds's pool.
async fn plain_client() -> store_rds::tokio_postgres::Client {
    let (client, connection) =
        store_rds::tokio_postgres::connect(&url().await, store_rds::tokio_postgres::NoTls)
            .await
            .expect("a plain connection");
    tokio::spawn(connection);
    client
}

/// How many backends run under `application_name`.
async fn backends(client: &store_rds::tokio_postgres::Client, name: &str) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn notifications_arrive_exactly_and_survive_a_terminated_backend() {
    let app = unique_ident("listen");
    let store = config().await.application_name(&app).build().unwrap();
    let channels = ["Orders", "odd \"name\"; DROP"];
    let mut listener = store.listen(&channels, quick()).await.unwrap();

    store.notify("Orders", "42").await.unwrap();
    let n = notification(&mut listener).await;
    assert_eq!((n.channel.as_str(), n.payload.as_str()), ("Orders", "42"));

    let plain = plain_client().await;
    plain
        .batch_execute(r#"NOTIFY "odd ""name""; DROP", 'ü ''quoted'' payload'"#)
        .await
        .unwrap();
    let n = notification(&mut listener).await;
    assert_eq!(n.channel, channels[1]);
    assert_eq!(n.payload, "ü 'quoted' payload");
    // Channel names are case-sensitive once quoted: `orders` is another channel.
    store.notify("orders", "not ours").await.unwrap();
    // Only a committed transaction's notification is delivered.
    plain
        .batch_execute("BEGIN; SELECT pg_notify('Orders', 'rolled back'); ROLLBACK;")
        .await
        .unwrap();
    plain
        .batch_execute("BEGIN; SELECT pg_notify('Orders', 'committed'); COMMIT;")
        .await
        .unwrap();
    assert_eq!(notification(&mut listener).await.payload, "committed");

    // The server ends the listener's backend: the listener comes back and says so.
    let listener_app = format!("{app} listener");
    assert_eq!(backends(&plain, &listener_app).await, 1);
    plain
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&listener_app],
        )
        .await
        .unwrap();
    match next(&mut listener).await {
        ListenEvent::Reconnected {
            lost_at,
            resumed_at,
            attempts,
        } => {
            assert!(resumed_at >= lost_at);
            assert!(attempts >= 1);
        }
        other => panic!("expected Reconnected, got {other:?}"),
    }
    store.notify("Orders", "after").await.unwrap();
    assert_eq!(notification(&mut listener).await.payload, "after");

    // Dropping the stream closes its connection.
    drop(listener);
    within(
        Duration::from_secs(10),
        "the listener's backend to end",
        async {
            while backends(&plain, &listener_app).await > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        },
    )
    .await;
}

#[tokio::test]
async fn a_broken_network_is_reported_as_a_gap_after_several_attempts() {
    let (proxy, through) = proxied().await;
    let store = PgConfig::from_url(&through).unwrap().build().unwrap();
    let mut listener = store.listen(&["gap"], quick()).await.unwrap();
    let direct = crate::support::store().await;
    direct.notify("gap", "before").await.unwrap();
    assert_eq!(notification(&mut listener).await.payload, "before");

    // Connections reset and new ones refused for a while: attempts fail, then succeed.
    proxy.set_reset_new_connections(true);
    proxy.reset_connections();
    tokio::time::sleep(Duration::from_millis(600)).await;
    direct.notify("gap", "missed").await.unwrap();
    proxy.set_reset_new_connections(false);
    match next(&mut listener).await {
        ListenEvent::Reconnected { attempts, .. } => {
            assert!(attempts >= 2, "refused attempts are counted: {attempts}")
        }
        other => panic!("expected Reconnected, got {other:?}"),
    }
    direct.notify("gap", "after").await.unwrap();
    assert_eq!(
        notification(&mut listener).await.payload,
        "after",
        "what was sent during the gap is not delivered; the gap was reported instead"
    );
}

#[tokio::test]
async fn a_listener_that_cannot_come_back_ends_with_unavailable() {
    let (proxy, through) = proxied().await;
    let store = PgConfig::from_url(&through).unwrap().build().unwrap();
    let policy = RetryPolicy::default()
        .base_delay(Duration::from_millis(20))
        .max_attempts(3);
    let mut listener = store.listen(&["never"], policy).await.unwrap();
    proxy.set_reset_new_connections(true);
    proxy.reset_connections();
    let end = within(
        Duration::from_secs(10),
        "the listener to give up",
        listener.next(),
    )
    .await
    .expect("an error item");
    let e = end.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(listener.next().await.is_none(), "the stream ends after it");
}

#[tokio::test]
async fn bad_channels_payloads_and_pool_stores_are_refused() {
    let store = crate::support::store().await;
    let long = "x".repeat(64);
    for channels in [&[][..], &[""][..], &[long.as_str()][..]] {
        let e = store.listen(channels, quick()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{channels:?}: {e}");
    }
    let e = store.notify("c", &"p".repeat(8_000)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    store.notify("c", &"p".repeat(7_999)).await.unwrap();
    let from_pool = PgStore::from_client(store.pool().clone());
    let e = from_pool.listen(&["c"], quick()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}
