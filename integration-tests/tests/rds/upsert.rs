//! `upsert_rows` on PostgreSQL: binary `COPY` straight into the table while its keys are new
//! writes exactly what the staged `INSERT … ON CONFLICT` would, and refuses what it refuses.

use integration_tests::names::unique_ident;
use store_core::sql::{SqlStore, SqlStoreExt};
use store_core::{StoreError, Value};
use store_rds::PgStore;

use super::support::store;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// A fresh table of `columns`, dropped by the caller.
async fn table(store: &PgStore, columns: &str) -> String {
    let table = unique_ident("upsert_route");
    store
        .batch_execute(&format!("CREATE TABLE {table} ({columns})"))
        .await
        .expect("create the table");
    table
}

async fn count(store: &PgStore, sql: &str) -> i64 {
    let row = store.query_one(sql, &[]).await.expect("count");
    row.get("n").and_then(Value::as_i64).expect("a count")
}

async fn upsert(
    store: &PgStore,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<u64, StoreError> {
    store
        .upsert_rows(table, &names(columns), &names(&["id"]), &rows)
        .await
}

/// Rows in `t`.
async fn rows_in(store: &PgStore, t: &str) -> i64 {
    count(store, &format!("SELECT count(*) AS n FROM {t}")).await
}

/// Asserts `outcome` is an error and `t` holds no row, then drops `t`.
async fn refused_and_empty(store: &PgStore, t: &str, outcome: Result<u64, StoreError>, why: &str) {
    assert!(outcome.is_err(), "{why}: {outcome:?}");
    assert_eq!(rows_in(store, t).await, 0, "{why}: nothing is written");
    drop_table(store, t).await;
}

async fn drop_table(store: &PgStore, t: &str) {
    store
        .batch_execute(&format!("DROP TABLE {t}"))
        .await
        .unwrap();
}

fn rows(ids: std::ops::Range<i64>, v: &str) -> Vec<Vec<Value>> {
    ids.map(|i| vec![i.into(), v.into()]).collect()
}

#[tokio::test]
async fn batches_meeting_stored_keys_replace_them_and_nothing_is_duplicated() {
    let store = store().await;
    let t = table(&store, "id bigint PRIMARY KEY, v text NOT NULL").await;
    // New keys (copied straight in), then half old keys (the batch is redone through
    // staging), then new keys again (staging from then on).
    for (ids, v) in [(0..1_000, "a"), (500..1_500, "b"), (1_500..1_600, "c")] {
        let written = upsert(&store, &t, &["id", "v"], rows(ids.clone(), v))
            .await
            .expect("upsert");
        assert_eq!(written, (ids.end - ids.start) as u64);
    }
    let total = format!("SELECT count(*) AS n FROM {t}");
    let distinct = format!("SELECT count(DISTINCT id) AS n FROM {t}");
    assert_eq!(count(&store, &total).await, 1_600);
    assert_eq!(count(&store, &distinct).await, 1_600);
    for (v, expected) in [("a", 500), ("b", 1_000), ("c", 100)] {
        let sql = format!("SELECT count(*) AS n FROM {t} WHERE v = '{v}'");
        assert_eq!(count(&store, &sql).await, expected, "rows holding {v}");
    }
    drop_table(&store, &t).await;
}

#[tokio::test]
async fn a_key_without_a_unique_index_is_refused_and_nothing_is_written() {
    let store = store().await;
    let t = table(&store, "id bigint NOT NULL, v text").await;
    let first = upsert(&store, &t, &["id", "v"], rows(0..10, "a")).await;
    assert!(first.is_err(), "an upsert with no unique key: {first:?}");
    let again = upsert(&store, &t, &["id", "v"], rows(0..10, "a")).await;
    refused_and_empty(&store, &t, again, "the same upsert again").await;
}

#[tokio::test]
async fn a_generated_always_identity_column_is_refused_as_insert_refuses_it() {
    let store = store().await;
    let columns = "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text";
    let t = table(&store, columns).await;
    let outcome = upsert(&store, &t, &["id", "v"], rows(1..5, "a")).await;
    refused_and_empty(
        &store,
        &t,
        outcome,
        "COPY would take the ids, INSERT does not",
    )
    .await;
}

#[tokio::test]
async fn another_unique_constraint_fails_the_batch_and_keeps_nothing_of_it() {
    let store = store().await;
    let t = table(&store, "id bigint PRIMARY KEY, v text UNIQUE").await;
    let refused = upsert(
        &store,
        &t,
        &["id", "v"],
        vec![vec![1.into(), "same".into()], vec![2.into(), "same".into()]],
    )
    .await;
    assert!(refused.is_err(), "two rows share v: {refused:?}");
    assert_eq!(rows_in(&store, &t).await, 0, "nothing of the batch is kept");
    // The table's keys are still new: the next batches are written, then replaced.
    let distinct = (0..100).map(|i: i64| vec![i.into(), format!("x{i}").into()]);
    upsert(&store, &t, &["id", "v"], distinct.collect())
        .await
        .expect("distinct values");
    upsert(&store, &t, &["id", "v"], vec![vec![5.into(), "y".into()]])
        .await
        .expect("a stored key replaced");
    assert_eq!(rows_in(&store, &t).await, 100);
    assert_eq!(
        count(
            &store,
            &format!("SELECT count(*) AS n FROM {t} WHERE v = 'y'")
        )
        .await,
        1
    );
    drop_table(&store, &t).await;
}

#[tokio::test]
async fn a_row_that_does_not_encode_after_chunks_were_sent_fails_whole_on_both_routes() {
    let store = store().await;
    let t = table(&store, "id bigint PRIMARY KEY, v text NOT NULL").await;
    // About 1.5 MB of rows (the COPY is sent in chunks of 256 KiB as it is encoded), the last
    // one's id not a number: the chunks already sent are rolled back with the rest.
    let long = "x".repeat(1_000);
    let mut batch = rows(0..1_500, &long);
    batch.push(vec!["not a number".into(), "v".into()]);
    let refused = upsert(&store, &t, &["id", "v"], batch.clone()).await;
    let err = refused.expect_err("a text id in a bigint column");
    assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("row 1501"), "{}", err.message());
    assert!(err.message().contains("`id`"), "{}", err.message());
    assert_eq!(rows_in(&store, &t).await, 0, "nothing of the batch is kept");
    // Through staging (the table's keys met once), the same batch fails the same way.
    upsert(&store, &t, &["id", "v"], rows(0..10, "a"))
        .await
        .unwrap();
    upsert(&store, &t, &["id", "v"], rows(0..10, "b"))
        .await
        .unwrap();
    let refused = upsert(&store, &t, &["id", "v"], batch).await;
    let err = refused.expect_err("a text id in a bigint column, staged");
    assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("row 1501"), "{}", err.message());
    let stored = format!("SELECT count(*) AS n FROM {t} WHERE v = 'b'");
    assert_eq!(
        count(&store, &stored).await,
        10,
        "the earlier rows are intact"
    );
    assert_eq!(rows_in(&store, &t).await, 10);
    drop_table(&store, &t).await;
}

#[tokio::test]
async fn enum_and_citext_columns_are_written_by_copy_without_waiting_forever() {
    // The driver looks a type it has not met on a connection up with a query of its own: on
    // a fresh store, that query must not queue behind a COPY waiting for rows.
    let setup = store().await;
    let mood = unique_ident("mood");
    setup
        .batch_execute(&format!(
            "CREATE EXTENSION IF NOT EXISTS citext; CREATE TYPE {mood} AS ENUM ('sad', 'happy')"
        ))
        .await
        .unwrap();
    let t = table(
        &setup,
        &format!("id bigint PRIMARY KEY, m {mood}, c citext"),
    )
    .await;
    let row = |id: i64, m: &str, c: &str| vec![Value::from(id), m.into(), c.into()];
    let within = std::time::Duration::from_secs(30);
    let fresh = store().await;
    let written = tokio::time::timeout(
        within,
        fresh.upsert_rows(
            &t,
            &names(&["id", "m", "c"]),
            &names(&["id"]),
            &[row(1, "sad", "Aa")],
        ),
    )
    .await
    .expect("the upsert finishes");
    assert_eq!(written.unwrap(), 1);
    let fresh = store().await;
    let inserted = tokio::time::timeout(
        within,
        fresh.insert_rows(&t, &names(&["id", "m", "c"]), &[row(2, "happy", "Bb")]),
    )
    .await
    .expect("the insert finishes");
    assert_eq!(inserted.unwrap(), 1);
    let found = format!("SELECT count(*) AS n FROM {t} WHERE c = 'aa' AND m = 'sad'");
    assert_eq!(
        count(&setup, &found).await,
        1,
        "citext compares without case"
    );
    assert_eq!(rows_in(&setup, &t).await, 2);
    drop_table(&setup, &t).await;
    setup
        .batch_execute(&format!("DROP TYPE {mood}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn dates_and_timestamps_before_1_ad_are_written_as_read() {
    // A read gives PostgreSQL's own ` BC` form; a write (a restore, a copy) takes it back.
    let store = store().await;
    let t = table(
        &store,
        "id bigint PRIMARY KEY, d date, ts timestamp, tz timestamptz",
    )
    .await;
    store
        .batch_execute(&format!(
            "INSERT INTO {t} VALUES (1, '0044-03-15 BC', '0044-03-15 12:00:00.5 BC', \
             '4713-01-01 00:00:00+00 BC')"
        ))
        .await
        .unwrap();
    let read = store
        .query_one(&format!("SELECT d, ts, tz FROM {t}"), &[])
        .await
        .unwrap();
    let values: Vec<Value> = ["d", "ts", "tz"]
        .iter()
        .map(|c| read.get(c).cloned().unwrap())
        .collect();
    assert_eq!(values[0], Value::from("0044-03-15 BC"));
    let mut row = vec![Value::from(2)];
    row.extend(values);
    upsert(&store, &t, &["id", "d", "ts", "tz"], vec![row])
        .await
        .unwrap();
    let same = format!(
        "SELECT count(*) AS n FROM {t} a JOIN {t} b ON a.id = 1 AND b.id = 2 \
         AND a.d = b.d AND a.ts = b.ts AND a.tz = b.tz"
    );
    assert_eq!(
        count(&store, &same).await,
        1,
        "the BC row read back as written"
    );
    drop_table(&store, &t).await;
}
