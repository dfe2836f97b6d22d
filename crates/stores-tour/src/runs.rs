//! The tour's own log of runs, kept in the stores themselves, so a second run with the same
//! `--data-dir` shows the data of the first one surviving.

use serde::{Deserialize, Serialize};
use store_core::document::{ReturnValues, Update, UpdateOptions};
use store_core::object::{PutMode, PutOptions};
use store_core::search::IndexOptions;
use store_core::sql::{SqlStore, SqlStoreExt};
use store_core::{
    DocKey, Document, DocumentStore, ErrorKind, ObjectKey, ObjectStore, ObjectStoreExt,
    SearchIndex, Value,
};

use crate::step;

/// The runs counter object.
const RUNS_KEY: &str = "tour/runs.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Runs {
    runs: u64,
}

/// Counts this run in an object, with a conditional write (create-only the first time,
/// if-match after), and returns how many runs the store has seen.
pub(crate) async fn count_in_objects(store: &dyn ObjectStore) -> anyhow::Result<u64> {
    let key = ObjectKey::new(RUNS_KEY)?;
    let (seen, mode) = match store.head(&key).await {
        Ok(meta) => {
            let runs: Runs = store.get_json(&key).await?;
            let etag = meta
                .etag
                .ok_or_else(|| anyhow::anyhow!("{RUNS_KEY} has no etag"))?;
            (runs.runs, PutMode::IfMatch(etag))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => (0, PutMode::CreateOnly),
        Err(e) => return Err(e.into()),
    };
    let body = serde_json::to_vec(&Runs { runs: seen + 1 })?;
    store
        .put(
            &key,
            body.into(),
            PutOptions::new()
                .mode(mode)
                .content_type("application/json"),
        )
        .await?;
    step(
        store.backend(),
        "runs recorded in this store",
        format!("{} (this one included)", seen + 1),
    );
    Ok(seen + 1)
}

/// Counts this run in an item `tour-runs` of the users table with an atomic `ADD`, and
/// returns how many runs the table has seen.
pub(crate) async fn count_in_documents(store: &dyn DocumentStore) -> anyhow::Result<u64> {
    let key = DocKey::partition("tour-runs");
    let update = Update::new().add("runs", 1);
    let after = store
        .update(
            &key,
            &update,
            UpdateOptions::new().returns(ReturnValues::AllNew),
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("the update returned no item"))?;
    let runs = after
        .get("runs")
        .and_then(Value::as_number)
        .and_then(|n| n.to_u64())
        .ok_or_else(|| anyhow::anyhow!("the runs counter is not a number"))?;
    step(
        store.backend(),
        "runs recorded in this table",
        format!("{runs} (this one included)"),
    );
    Ok(runs)
}

/// Counts this run in a document `tour-runs` of the search index and returns how many runs
/// the index has seen.
pub(crate) async fn count_in_index(index: &dyn SearchIndex) -> anyhow::Result<u64> {
    let seen = match index.get("tour-runs").await? {
        Some(stored) => stored
            .source
            .get("runs")
            .and_then(Value::as_number)
            .and_then(|n| n.to_u64())
            .ok_or_else(|| anyhow::anyhow!("the runs counter is not a number"))?,
        None => 0,
    };
    let runs = seen + 1;
    index
        .index(
            "tour-runs",
            Document::new().with("runs", runs),
            IndexOptions::new().refresh(),
        )
        .await?;
    step(
        index.backend(),
        "runs recorded in this index",
        format!("{runs} (this one included)"),
    );
    Ok(runs)
}

/// Counts this run in a `tour_runs` table and returns how many runs the database has seen.
pub(crate) async fn count_in_sql(store: &dyn SqlStore) -> anyhow::Result<u64> {
    store
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS tour_runs (run INTEGER PRIMARY KEY, started TEXT NOT NULL)",
        )
        .await?;
    let started = format!("{:?}", std::time::SystemTime::now());
    store
        .execute(
            "INSERT INTO tour_runs (run, started) \
             SELECT COALESCE(MAX(run), 0) + 1, $1 FROM tour_runs",
            &[Value::String(started)],
        )
        .await?;
    let row = store
        .query_one("SELECT COUNT(*) AS n FROM tour_runs", &[])
        .await?;
    let runs = row
        .get("n")
        .and_then(Value::as_number)
        .and_then(|n| n.to_plain_string().parse::<u64>().ok())
        .ok_or_else(|| anyhow::anyhow!("COUNT(*) gave no number"))?;
    step(
        store.backend(),
        "runs recorded in this database",
        format!("{runs} (this one included)"),
    );
    Ok(runs)
}
