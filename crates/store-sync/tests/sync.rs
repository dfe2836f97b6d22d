//! `sync` writes only what differs, deletes only with consent and within the cap, and
//! `--dry-run` writes nothing, with everything held in memory and with the keys spilled to
//! files (two in memory, so every partition is split again).

mod common;

use common::{dataset, documents};
use store_core::{Document, Value};
use store_sync::{CheckReport, RecordSource, Silent, SpillOptions, SyncOptions, check_with, sync};

/// Runs `$test(spill)` with the default spill options and with two keys in memory.
macro_rules! both_ways {
    ($test:ident) => {
        mod $test {
            use super::*;

            #[tokio::test]
            async fn in_memory() {
                $test(SpillOptions::default()).await;
            }

            #[tokio::test]
            async fn spilled() {
                $test(SpillOptions::keys(2)).await;
            }
        }
    };
}

async fn check(a: &dyn RecordSource, b: &dyn RecordSource, spill: &SpillOptions) -> CheckReport {
    check_with(a, b, 50, spill).await.unwrap()
}

async fn diverged() -> (
    store_sync::DocumentCollection,
    std::sync::Arc<store_core::memory::MemoryDocumentStore>,
    store_sync::DocumentCollection,
) {
    let data = dataset(100);
    let (_, source) = documents("src", &data).await;
    // The sink has 90 of the records, 5 of them changed, and 10 the source does not have.
    let mut theirs: Vec<Document> = data[..90].to_vec();
    for doc in &mut theirs[..5] {
        doc.insert("s", "changed");
    }
    for i in 0..10 {
        theirs.push(
            Document::new()
                .with("id", format!("extra-{i}"))
                .with("s", Value::Null),
        );
    }
    let (store, sink) = documents("dst", &theirs).await;
    (source, store, sink)
}

fn options(spill: &SpillOptions) -> SyncOptions {
    SyncOptions {
        batch_size: 16,
        spill: spill.clone(),
        ..SyncOptions::default()
    }
}

both_ways!(sync_writes_what_differs_and_keeps_extras_without_delete);
async fn sync_writes_what_differs_and_keeps_extras_without_delete(spill: SpillOptions) {
    let (source, store, sink) = diverged().await;
    let report = sync(&source, &sink, &sink, &options(&spill), &Silent)
        .await
        .unwrap();
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (10, 5, 85)
    );
    assert_eq!((report.deleted, report.extra_kept), (0, 10));
    let count = common::count(store.as_ref()).await as usize;
    assert_eq!(count, 110);
    let again = sync(&source, &sink, &sink, &options(&spill), &Silent)
        .await
        .unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 100));
}

both_ways!(dry_run_counts_and_writes_nothing);
async fn dry_run_counts_and_writes_nothing(spill: SpillOptions) {
    let (source, _store, sink) = diverged().await;
    let before = check(&sink, &sink, &spill).await.left;
    let dry = SyncOptions {
        dry_run: true,
        delete: true,
        ..options(&spill)
    };
    let report = sync(&source, &sink, &sink, &dry, &Silent).await.unwrap();
    assert_eq!(
        (report.created, report.updated, report.deleted),
        (10, 5, 10)
    );
    let after = check(&sink, &sink, &spill).await.left;
    assert_eq!(before, after, "a dry run changed the sink");
}

both_ways!(deletes_need_consent_and_stay_under_the_cap);
async fn deletes_need_consent_and_stay_under_the_cap(spill: SpillOptions) {
    let (source, _store, sink) = diverged().await;
    let before = check(&sink, &sink, &spill).await.left;
    let capped = SyncOptions {
        delete: true,
        max_delete: Some(9),
        ..options(&spill)
    };
    let err = sync(&source, &sink, &sink, &capped, &Silent)
        .await
        .unwrap_err();
    assert!(
        err.message().contains("more than --max-delete 9"),
        "{}",
        err.message()
    );
    assert_eq!(
        check(&source, &sink, &spill).await.only_right.count,
        10,
        "something was deleted"
    );
    // Refused, it wrote nothing at all: not the new and changed records either.
    let after = check(&sink, &sink, &spill).await.left;
    assert_eq!(before, after, "a refused sync changed the sink");

    let allowed = SyncOptions {
        delete: true,
        max_delete: Some(10),
        ..options(&spill)
    };
    let report = sync(&source, &sink, &sink, &allowed, &Silent)
        .await
        .unwrap();
    assert_eq!(report.deleted, 10);
    let verdict = check(&source, &sink, &spill).await;
    assert!(verdict.is_equal(), "{verdict:?}");
}

both_ways!(check_names_what_differs);
async fn check_names_what_differs(spill: SpillOptions) {
    let (source, _store, sink) = diverged().await;
    let verdict = check(&source, &sink, &spill).await;
    assert!(!verdict.is_equal());
    assert_eq!(verdict.only_left.count, 10);
    assert_eq!(verdict.only_right.count, 10);
    assert_eq!(verdict.differing.count, 5);
    assert!(verdict.only_right.sample.contains(&"extra-0".to_owned()));
    assert_ne!(verdict.left, verdict.right);
}

/// A SQLite table keyed by `id` compared without regard to case, holding `rows`.
async fn nocase_table(
    db: &std::sync::Arc<store_rusqlite::SqliteStore>,
    name: &str,
    rows: &[(&str, &str)],
) -> store_sync::SqlTable {
    use store_core::SqlStore as _;
    db.batch_execute(&format!(
        "CREATE TABLE {name} (id TEXT PRIMARY KEY COLLATE NOCASE, s TEXT)"
    ))
    .await
    .unwrap();
    for (id, s) in rows {
        db.execute(
            &format!("INSERT INTO {name} (id, s) VALUES ($1, $2)"),
            &[Value::from(*id), Value::from(*s)],
        )
        .await
        .unwrap();
    }
    store_sync::SqlTable::new(db.clone(), name, format!("sqlite://test?table={name}"))
}

both_ways!(a_row_a_case_blind_key_column_matched_is_updated_not_deleted);
async fn a_row_a_case_blind_key_column_matched_is_updated_not_deleted(spill: SpillOptions) {
    let db = std::sync::Arc::new(store_rusqlite::SqliteStore::memory().await.unwrap());
    // The source spells "Ada" where the sink's row says "ada"; "bob" is the same in both, and
    // "old" only the sink has.
    let source = nocase_table(&db, "src", &[("Ada", "new"), ("bob", "same")]).await;
    let sink = nocase_table(&db, "dst", &[("ada", "old"), ("bob", "same"), ("old", "x")]).await;
    let options = SyncOptions {
        delete: true,
        ..options(&spill)
    };

    let planned = sync(
        &source,
        &sink,
        &sink,
        &SyncOptions {
            dry_run: true,
            ..options.clone()
        },
        &Silent,
    )
    .await
    .unwrap();
    assert_eq!(
        (planned.created, planned.updated, planned.deleted),
        (0, 1, 1)
    );
    // Without --delete the counts agree: "ada" is neither new nor extra.
    let kept = sync(
        &source,
        &sink,
        &sink,
        &SyncOptions {
            dry_run: true,
            spill: spill.clone(),
            ..SyncOptions::default()
        },
        &Silent,
    )
    .await
    .unwrap();
    assert_eq!((kept.created, kept.updated, kept.extra_kept), (0, 1, 1));

    let report = sync(&source, &sink, &sink, &options, &Silent)
        .await
        .unwrap();
    assert_eq!((report.created, report.updated, report.deleted), (0, 1, 1));
    use store_core::SqlStoreExt as _;
    let rows = db
        .query_all("SELECT id, s FROM dst ORDER BY id", &[])
        .await
        .unwrap();
    let held: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            let text = |c: &str| r.get(c).and_then(Value::as_str).unwrap().to_owned();
            (text("id"), text("s"))
        })
        .collect();
    // The row matched by "Ada" took the source's values and stays; only "old" went.
    assert_eq!(
        held,
        [("ada".into(), "new".into()), ("bob".into(), "same".into())]
    );
}
