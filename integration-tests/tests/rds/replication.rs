//! The logical replication feed against PostgreSQL 15 (`wal_level = logical`): inserts,
//! updates, deletes, key changes and untouched TOASTed values arrive as the table holds them;
//! the slot moves only when acknowledged; a dropped slot, a slot moved by someone else and a
//! TRUNCATE are lost positions; bad tables are clear errors; cleanup drops what was made.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use integration_tests::names::unique_ident;
use store_core::feed::{Change, ChangeFeed, FeedItem, FeedPosition};
use store_core::{Document, ErrorKind, SqlStore, Value};
use store_rds::{PgChangeFeed, PgStore, ReplicationOptions};

use crate::support::{store, within};

async fn table(store: &PgStore) -> String {
    let name = unique_ident("feed");
    store
        .batch_execute(&format!(
            "CREATE TABLE {name} (id bigint PRIMARY KEY, note text, n numeric, big text)"
        ))
        .await
        .unwrap();
    name
}

/// Waits until the WAL written so far is flushed: logical decoding sees a commit only then, and
/// the harness runs with `synchronous_commit = off` (flushes come within 200 ms).
async fn flushed(store: &PgStore) {
    let lsn = |sql: &'static str| async move {
        let rows = store.query_params(sql, &[]).await.unwrap();
        rows[0].get("lsn").and_then(Value::as_i64).unwrap()
    };
    let written = lsn("SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint AS lsn").await;
    within(Duration::from_secs(10), "the WAL flush", async {
        while lsn("SELECT (pg_current_wal_flush_lsn() - '0/0')::bigint AS lsn").await < written {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

async fn feed(store: &PgStore, table: &str) -> PgChangeFeed {
    let options = ReplicationOptions::new().poll_interval(Duration::from_millis(20));
    store.change_feed(table, options).await.unwrap()
}

/// Reads from `from` until the feed reports itself caught up; returns the changes and the
/// last position.
async fn read_until_caught_up(
    feed: &PgChangeFeed,
    from: FeedPosition,
) -> (Vec<Change>, FeedPosition) {
    within(Duration::from_secs(30), "reading the feed", async {
        let mut changes = Vec::new();
        let mut stream = feed.changes(from, 100);
        while let Some(item) = stream.next().await {
            match item.unwrap() {
                FeedItem::Changes(batch) => {
                    let caught_up = batch.pending == Some(0);
                    changes.extend(batch.changes);
                    if caught_up {
                        return (changes, batch.position);
                    }
                }
                FeedItem::PositionLost { reason } => panic!("lost: {reason}"),
            }
        }
        panic!("the feed ended")
    })
    .await
}

/// The rows of `table` by id.
async fn rows(store: &PgStore, table: &str) -> BTreeMap<String, Document> {
    store
        .query_params(&format!("SELECT * FROM {table}"), &[])
        .await
        .unwrap()
        .into_iter()
        .map(|row| (id_of(&row), row))
        .collect()
}

fn id_of(doc: &Document) -> String {
    match doc.get("id") {
        Some(Value::Number(n)) => n.to_string(),
        other => panic!("an id: {other:?}"),
    }
}

/// Applies changes in order to a map, as a sink would.
fn apply(state: &mut BTreeMap<String, Document>, changes: &[Change]) {
    for change in changes {
        match change {
            Change::Upsert { key, doc } => {
                state.insert(id_of(key), doc.clone());
            }
            Change::Delete { key } => {
                state.remove(&id_of(key));
            }
        }
    }
}

async fn slot_position(store: &PgStore, slot: &str) -> Option<String> {
    let rows = store
        .query_params(
            "SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .unwrap();
    rows.first()
        .and_then(|r| r.get("lsn"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[tokio::test]
async fn changes_arrive_as_the_table_holds_them_and_the_slot_moves_only_when_acknowledged() {
    let store = store().await;
    let table = table(&store).await;
    store
        .batch_execute(&format!(
            "INSERT INTO {table} VALUES (100, 'before', 1, NULL)"
        ))
        .await
        .unwrap();
    let feed = feed(&store, &table).await;
    let start = feed.current_position().await.unwrap();
    let big = "x".repeat(300_000);
    store
        .batch_execute(&format!(
            "INSERT INTO {table} VALUES (1, 'one', 12345678901234567890123456789012345678, NULL), \
                 (2, 'two', 0.1, NULL), (3, 'three', -1.50, NULL); \
             UPDATE {table} SET note = 'zwei ✓' WHERE id = 2; \
             DELETE FROM {table} WHERE id = 3; \
             UPDATE {table} SET id = 10 WHERE id = 1; \
             INSERT INTO {table} VALUES (4, 'toasted', 4, '{big}'); \
             UPDATE {table} SET note = 'still toasted' WHERE id = 4; \
             UPDATE {table} SET note = 'after' WHERE id = 100"
        ))
        .await
        .unwrap();
    flushed(&store).await;
    let (changes, position) = read_until_caught_up(&feed, start.clone()).await;
    // Replayed onto the rows as they were at the start, the changes give the table now.
    let mut state = BTreeMap::new();
    state.insert(
        "100".to_owned(),
        rows(&store, &table).await["100"]
            .clone()
            .with("note", "before"),
    );
    apply(&mut state, &changes);
    // (Compared by keys and equality only: a failure must not print 300 kB of `x`.)
    let now = rows(&store, &table).await;
    assert_eq!(
        state.keys().collect::<Vec<_>>(),
        now.keys().collect::<Vec<_>>()
    );
    assert!(state == now, "the replayed rows differ from the table");
    let deleted: Vec<String> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Delete { key } => Some(id_of(key)),
            Change::Upsert { .. } => None,
        })
        .collect();
    assert!(
        deleted.contains(&"1".to_owned()),
        "the old key of a key change: {deleted:?}"
    );
    assert!(deleted.contains(&"3".to_owned()), "{deleted:?}");
    assert_eq!(
        state["4"].get("big").and_then(Value::as_str).map(str::len),
        Some(300_000),
        "an untouched TOASTed value is read whole"
    );

    // Nothing was acknowledged: the slot has not moved, and the changes are read again.
    assert_eq!(
        slot_position(&store, feed.slot_name()).await,
        Some(start.to_string())
    );
    let (again, _) = read_until_caught_up(&feed, start.clone()).await;
    assert_eq!(again, changes);
    // Read from the saved position, nothing already read comes back.
    let (after, _) = read_until_caught_up(&feed, position.clone()).await;
    assert!(after.is_empty(), "{after:?}");
    feed.acknowledge(&position).await.unwrap();
    assert_eq!(
        slot_position(&store, feed.slot_name()).await,
        Some(position.to_string())
    );

    // A quiet table does not pin the WAL: with changes only elsewhere, its position moves on.
    let elsewhere = self::table(&store).await;
    store
        .batch_execute(&format!("INSERT INTO {elsewhere} VALUES (1, 'x', 1, NULL)"))
        .await
        .unwrap();
    flushed(&store).await;
    let (none, moved) = read_until_caught_up(&feed, position.clone()).await;
    assert!(none.is_empty(), "{none:?}");
    let later = store
        .query_params(
            "SELECT $1::text::pg_lsn > $2::text::pg_lsn AS later",
            &[&moved.as_str(), &position.as_str()],
        )
        .await
        .unwrap();
    assert_eq!(
        later[0].get("later"),
        Some(&Value::Bool(true)),
        "{moved} after {position}"
    );

    feed.cleanup().await.unwrap();
    assert_eq!(slot_position(&store, feed.slot_name()).await, None);
    let publications = store
        .query_params(
            "SELECT 1 FROM pg_publication WHERE pubname = $1",
            &[&feed.publication_name()],
        )
        .await
        .unwrap();
    assert!(publications.is_empty());
}

async fn first_item(feed: &PgChangeFeed, from: FeedPosition) -> FeedItem {
    within(Duration::from_secs(30), "reading the feed", async {
        feed.changes(from, 100).next().await.unwrap().unwrap()
    })
    .await
}

#[tokio::test]
async fn lost_positions_are_reported_never_skipped() {
    let store = store().await;
    let table = table(&store).await;
    let feed = feed(&store, &table).await;

    // The slot dropped behind the follower's back.
    let start = feed.current_position().await.unwrap();
    feed.cleanup().await.unwrap();
    match first_item(&feed, start).await {
        FeedItem::PositionLost { reason } => {
            assert!(reason.contains("no longer exists"), "{reason}")
        }
        other => panic!("{other:?}"),
    }

    // The slot moved past the saved position by another reader.
    let start = feed.current_position().await.unwrap();
    store
        .batch_execute(&format!("INSERT INTO {table} VALUES (1, 'a', 1, NULL)"))
        .await
        .unwrap();
    flushed(&store).await;
    let (_, moved) = read_until_caught_up(&feed, start.clone()).await;
    feed.acknowledge(&moved).await.unwrap();
    match first_item(&feed, start).await {
        FeedItem::PositionLost { reason } => assert!(reason.contains("past the saved"), "{reason}"),
        other => panic!("{other:?}"),
    }

    // A TRUNCATE.
    store
        .batch_execute(&format!("TRUNCATE {table}"))
        .await
        .unwrap();
    let truncated = within(Duration::from_secs(30), "reading the feed", async {
        let mut stream = feed.changes(moved, 100);
        loop {
            match stream.next().await.unwrap().unwrap() {
                FeedItem::PositionLost { reason } => return reason,
                FeedItem::Changes(_) => {}
            }
        }
    })
    .await;
    assert!(truncated.contains("truncated"), "{truncated}");
    feed.cleanup().await.unwrap();
}

#[tokio::test]
async fn tables_that_cannot_be_followed_are_clear_errors() {
    let store = store().await;
    let name = unique_ident("nokey");
    store
        .batch_execute(&format!("CREATE TABLE {name} (a int)"))
        .await
        .unwrap();
    let err = store
        .change_feed(&name, ReplicationOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.message().contains("no primary key"),
        "{}",
        err.message()
    );
    let err = store
        .change_feed("no_such_table", ReplicationOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = store
        .change_feed(&name, ReplicationOptions::new().slot("x".repeat(64)))
        .await
        .unwrap_err();
    assert!(err.message().contains("63"), "{}", err.message());
}

/// The watermark feed (no REPLICATION needed): new and changed rows in `(updated_at, key)`
/// order once older than the lag window, resumable from any batch; deletes are not seen.
#[tokio::test]
async fn the_watermark_feed_sees_new_and_changed_rows_but_not_deletes() {
    let store = store().await;
    let name = unique_ident("watermark");
    store
        .batch_execute(&format!(
            "CREATE TABLE {name} (id bigint PRIMARY KEY, note text, \
                 updated_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        ))
        .await
        .unwrap();
    let window = Duration::from_millis(300);
    let feed = store
        .watermark_feed(&name, "updated_at", window)
        .await
        .unwrap()
        .poll_interval(Duration::from_millis(20));
    let start = feed.current_position().await.unwrap();
    store
        .batch_execute(&format!(
            "INSERT INTO {name} (id, note) SELECT g, 'first' FROM generate_series(1, 25) g; \
             UPDATE {name} SET note = 'second', updated_at = clock_timestamp() WHERE id = 3; \
             DELETE FROM {name} WHERE id = 4"
        ))
        .await
        .unwrap();
    // Nothing is read before the lag window has passed.
    let (early, _) = read_batches(&feed, start.clone(), 10).await;
    assert!(early.is_empty(), "{early:?}");
    tokio::time::sleep(window + Duration::from_millis(100)).await;
    let (batches, _) = read_batches(&feed, start.clone(), 10).await;
    let ids: Vec<String> = batches.iter().flatten().map(|c| id_of(c.key())).collect();
    // 24 rows (4 was deleted: never seen), 3 last since it changed last.
    assert_eq!(ids.len(), 24, "{ids:?}");
    assert_eq!(ids.last().map(String::as_str), Some("3"));
    assert!(!ids.contains(&"4".to_owned()));
    assert!(
        batches
            .iter()
            .flatten()
            .all(|c| matches!(c, Change::Upsert { .. }))
    );
    // Resumed after any batch, exactly what followed comes again.
    let (_, positions) = read_batches(&feed, start.clone(), 10).await;
    for (i, position) in positions.iter().enumerate() {
        let (rest, _) = read_batches(&feed, position.clone(), 10).await;
        let expected: Vec<&Change> = batches[i + 1..].iter().flatten().collect();
        let got: Vec<&Change> = rest.iter().flatten().collect();
        assert_eq!(got, expected, "resumed after batch {i}");
    }
    let err = store
        .watermark_feed(&name, "no_such_column", window)
        .await
        .unwrap_err();
    assert!(
        err.message().contains("no_such_column"),
        "{}",
        err.message()
    );
}

/// Reads batches of `size` until caught up; returns the non-empty batches and the position
/// after each.
async fn read_batches(
    feed: &dyn ChangeFeed,
    from: FeedPosition,
    size: usize,
) -> (Vec<Vec<Change>>, Vec<FeedPosition>) {
    within(Duration::from_secs(30), "reading the feed", async {
        let mut batches = Vec::new();
        let mut positions = Vec::new();
        let mut stream = feed.changes(from, size);
        while let Some(item) = stream.next().await {
            let FeedItem::Changes(batch) = item.unwrap() else {
                panic!("a watermark is never lost");
            };
            let caught_up = batch.pending == Some(0);
            if !batch.changes.is_empty() {
                batches.push(batch.changes);
                positions.push(batch.position);
            }
            if caught_up {
                return (batches, positions);
            }
        }
        panic!("the feed ended")
    })
    .await
}
