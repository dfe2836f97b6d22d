//! Binary COPY of 1,000,000 rows, checked by count and checksum, and read back as streams in
//! bounded memory.

use std::time::Instant;

use futures::{FutureExt, StreamExt, TryStreamExt};
use integration_tests::names::unique_ident;
use store_core::sql::{SqlStore, SqlStoreExt};
use store_core::{Document, Number, Value};

use super::support::store;

const ROWS: i64 = 1_000_000;

/// Row `i`: (id, name, email, age, score) — score has two decimals.
fn row(i: i64) -> Vec<Value> {
    vec![
        Value::from(i),
        Value::String(format!("user {i}")),
        Value::String(format!("user{i}@example.com")),
        Value::from((i % 90) as i32),
        Value::Number(
            format!("{}.{:02}", i % 1000, i % 100)
                .parse()
                .expect("score"),
        ),
    ]
}

/// What the checksum of the data should be: sum(id), sum(length(name) + length(email)),
/// sum(age), and sum(score) in hundredths, exact.
#[derive(Debug, Default, PartialEq, Eq)]
struct Checksum {
    count: i64,
    ids: i128,
    lengths: i128,
    ages: i128,
    cents: i128,
}

impl Checksum {
    fn add(&mut self, id: i64, name: &str, email: &str, age: i64, cents: i128) {
        self.count += 1;
        self.ids += i128::from(id);
        self.lengths += (name.chars().count() + email.chars().count()) as i128;
        self.ages += i128::from(age);
        self.cents += cents;
    }

    fn add_doc(&mut self, doc: &Document) {
        let text = |k: &str| doc.get(k).and_then(Value::as_str).expect("text").to_owned();
        self.add(
            doc.get("id").and_then(Value::as_i64).expect("id"),
            &text("name"),
            &text("email"),
            doc.get("age").and_then(Value::as_i64).expect("age"),
            cents(doc.get("score").and_then(Value::as_number).expect("score")),
        );
    }
}

/// A numeric(12,2) value in hundredths, exactly (its scale is always 2).
fn cents(score: &Number) -> i128 {
    assert_eq!(
        score.exponent(),
        -2,
        "numeric(12,2) keeps its scale: {score}"
    );
    let magnitude: i128 = score.digits().parse().expect("digits");
    if score.is_negative() {
        -magnitude
    } else {
        magnitude
    }
}

fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn copy_of_a_million_rows_is_exact_and_reads_back_in_bounded_memory() {
    let store = store().await;
    let table = unique_ident("copy");
    store
        .batch_execute(&format!(
            "CREATE TABLE {table} (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, \
             age int NOT NULL, score numeric(12,2) NOT NULL)"
        ))
        .await
        .expect("create");
    let outcome = std::panic::AssertUnwindSafe(async {
        let mut expected = Checksum::default();
        for i in 1..=ROWS {
            let r = row(i);
            expected.add(
                i,
                r[1].as_str().expect("name"),
                r[2].as_str().expect("email"),
                r[3].as_i64().expect("age"),
                cents(r[4].as_number().expect("score")),
            );
        }
        let started = Instant::now();
        let rows = futures::stream::iter((1..=ROWS).map(|i| Ok(row(i))));
        let written = store
            .copy_in(&table, &["id", "name", "email", "age", "score"], rows)
            .await
            .expect("copy in");
        eprintln!("COPY IN of {ROWS} rows: {:?}", started.elapsed());
        assert_eq!(written, ROWS as u64);

        // The server's own count and checksum.
        let server = store
            .query_one(
                &format!(
                    "SELECT count(*) AS n, sum(id) AS ids, sum(length(name) + length(email)) AS lengths, \
                     sum(age) AS ages, sum(score * 100) AS cents FROM {table}"
                ),
                &[],
            )
            .await
            .expect("checksum query");
        let int = |k: &str| -> i128 {
            server
                .get(k)
                .and_then(Value::as_number)
                .and_then(|n| n.to_i128().or_else(|| n.to_plain_string().split('.').next()?.parse().ok()))
                .unwrap_or_else(|| panic!("{k} in {server:?}"))
        };
        assert_eq!(
            Checksum {
                count: int("n") as i64,
                ids: int("ids"),
                lengths: int("lengths"),
                ages: int("ages"),
                cents: int("cents"),
            },
            expected,
            "the server holds exactly the rows sent"
        );

        // COPY OUT as a stream: the same checksum, computed while streaming.
        let before = resident_kib();
        let mut streamed = Checksum::default();
        let mut out = store
            .copy_out(&format!("SELECT id, name, email, age, score FROM {table}"))
            .await
            .expect("copy out");
        while let Some(doc) = out.next().await {
            streamed.add_doc(&doc.expect("a copied row"));
        }
        drop(out);
        assert_eq!(streamed, expected, "COPY OUT returns every row exactly");

        // The row stream of `query`, in bounded memory.
        let mut queried = Checksum::default();
        store
            .query(&format!("SELECT id, name, email, age, score FROM {table}"), &[])
            .try_for_each(|doc| {
                queried.add_doc(&doc);
                futures::future::ready(Ok(()))
            })
            .await
            .expect("query stream");
        assert_eq!(queried, expected, "query streams every row exactly");
        if let (Some(before), Some(after)) = (before, resident_kib()) {
            // A million rows held in memory would take well over 200 MiB as documents.
            let grown = after.saturating_sub(before);
            assert!(grown < 96 * 1024, "streaming grew memory by {grown} KiB");
        }
    })
    .catch_unwind()
    .await;
    let _ = store
        .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
        .await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
