//! Partition plans: the processes of one partitioned copy of a SQL table read key ranges cut
//! once, from one snapshot, however the table changes between their starts.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{documents, sqlite_table};
use futures::TryStreamExt as _;
use store_core::memory::MemoryObjectStore;
use store_core::{ErrorKind, ObjectKey, ObjectStoreExt as _, SqlStore as _, Value};
use store_rusqlite::SqliteStore;
use store_sync::{
    ArchiveSink, ArchiveSource, CopyOptions, Partition, PlanHome, RecordSource, Silent, SqlTable,
    copy, share_plan,
};

/// A table `items` holding ids `first..first + n`, zero-padded so text order is number order.
async fn table_of(n: usize) -> (Arc<SqliteStore>, SqlTable) {
    let db = Arc::new(SqliteStore::memory().await.unwrap());
    let table = sqlite_table(db.clone(), "items", true).await;
    insert(&db, 1_000..1_000 + n).await;
    (db, table)
}

async fn insert(db: &SqliteStore, ids: std::ops::Range<usize>) {
    for id in ids {
        db.execute(
            "INSERT INTO items (id, i) VALUES ($1, $2)",
            &[Value::from(format!("{id:06}")), Value::from(id as i64)],
        )
        .await
        .unwrap();
    }
}

/// The ids partition `partition` of `table` reads.
async fn ids_of(table: &SqlTable, partition: Partition) -> BTreeSet<String> {
    let batches: Vec<_> = table.read(partition, None, 64).try_collect().await.unwrap();
    batches
        .into_iter()
        .flat_map(|b| b.records)
        .map(|r| r.key.id().to_owned())
        .collect()
}

fn ids(range: std::ops::Range<usize>) -> BTreeSet<String> {
    range.map(|id| format!("{id:06}")).collect()
}

#[tokio::test]
async fn partitions_started_while_rows_come_and_go_still_read_every_row_that_stayed() {
    let home_dir = tempfile::tempdir().unwrap();
    let home = PlanHome::in_dir(home_dir.path());
    let (db, table) = table_of(1_000).await;
    let first = Partition::new(0, 2).unwrap();
    let second = Partition::new(1, 2).unwrap();

    share_plan(&table, first, Some(&home)).await.unwrap();
    let mut read = ids_of(&table, first).await;
    // Before the second process starts, 200 rows are added after the last and the first 100
    // deleted: counted again now, the middle of the table would move by 150 rows.
    insert(&db, 5_000..5_200).await;
    db.execute("DELETE FROM items WHERE id < '001100'", &[])
        .await
        .unwrap();
    let later = SqlTable::new(db.clone(), "items", "sqlite://test?table=items");
    share_plan(&later, second, Some(&home)).await.unwrap();
    read.extend(ids_of(&later, second).await);

    let stayed = ids(1_100..2_000);
    let missed: Vec<_> = stayed.difference(&read).collect();
    assert!(
        missed.is_empty(),
        "{} rows read by neither: {missed:?}",
        missed.len()
    );
    assert!(
        read.is_superset(&ids(5_000..5_200)),
        "rows added after the plan are read"
    );

    // Cut separately at those two moments (two homes), the same partitions miss rows: the
    // case the shared plan exists for.
    let (db, table) = table_of(1_000).await;
    let own = tempfile::tempdir().unwrap();
    share_plan(&table, first, Some(&PlanHome::in_dir(own.path())))
        .await
        .unwrap();
    let mut alone = ids_of(&table, first).await;
    insert(&db, 5_000..5_200).await;
    db.execute("DELETE FROM items WHERE id < '001100'", &[])
        .await
        .unwrap();
    let other = tempfile::tempdir().unwrap();
    share_plan(&table, second, Some(&PlanHome::in_dir(other.path())))
        .await
        .unwrap();
    alone.extend(ids_of(&table, second).await);
    assert!(!ids(1_100..2_000).is_subset(&alone));
}

#[tokio::test]
async fn processes_arriving_at_once_all_read_by_the_first_plan_stored() {
    let home_dir = tempfile::tempdir().unwrap();
    let home = PlanHome::in_dir(home_dir.path());
    let (_db, table) = table_of(500).await;
    let tables: Vec<SqlTable> = (0..4).map(|_| table.clone()).collect();
    let shares = tables.iter().enumerate().map(|(i, t)| {
        let home = home.clone();
        async move {
            let partition = Partition::new(i as u32, 4).unwrap();
            share_plan(t, partition, Some(&home)).await.unwrap();
            ids_of(t, partition).await
        }
    });
    let read = futures::future::join_all(shares).await;
    let total: usize = read.iter().map(BTreeSet::len).sum();
    let union: BTreeSet<_> = read.into_iter().flatten().collect();
    assert_eq!(union, ids(1_000..1_500));
    assert_eq!(total, 500, "no row is read by two partitions");
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home_dir.path().join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["format"], "stores partition plan");
    assert_eq!(plan["partitions"], 4);
    assert_eq!(plan["splits"]["key"], serde_json::json!(["id"]));
    assert_eq!(plan["splits"]["last_keys"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_plan_in_an_object_store_is_created_once_and_checked_against_its_job() {
    let store = Arc::new(MemoryObjectStore::new());
    let key = ObjectKey::new("jobs/copy-items/plan.json").unwrap();
    let home = PlanHome::object(store.clone(), &key);
    let (_db, table) = table_of(100).await;
    share_plan(&table, Partition::new(0, 2).unwrap(), Some(&home))
        .await
        .unwrap();
    let stored = store.get_bytes(&key).await.unwrap();

    // Another count of partitions is refused, and so is another source; the plan stays.
    let err = share_plan(&table, Partition::new(0, 3).unwrap(), Some(&home))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("into 2 partitions, not 3"), "{err}");
    let (db, _) = table_of(10).await;
    let stranger = SqlTable::new(db, "items", "sqlite://other?table=items");
    let err = share_plan(&stranger, Partition::new(1, 2).unwrap(), Some(&home))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(err.message().contains("sqlite://other"), "{err}");
    assert_eq!(store.get_bytes(&key).await.unwrap(), stored);

    // A damaged plan is named, not used.
    store
        .put_bytes(&key, "{\"format\": 1}".into())
        .await
        .unwrap();
    let err = share_plan(&table, Partition::new(1, 2).unwrap(), Some(&home))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("jobs/copy-items/plan.json"), "{err}");
}

#[tokio::test]
async fn a_partitioned_copy_of_a_table_without_a_plan_home_writes_nothing() {
    let (_db, table) = table_of(100).await;
    let (target_store, target) = documents("target", &[]).await;
    let options = CopyOptions {
        partition: Partition::new(1, 2).unwrap(),
        ..CopyOptions::default()
    };
    let err = copy(&table, &target, &options, &Silent).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("--plan"), "{err}");
    assert_eq!(common::count(target_store.as_ref()).await, 0);

    // Read directly, a partition with no plan given is refused too.
    let err = table
        .read(Partition::new(0, 2).unwrap(), None, 10)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    // With one, the two partitions copy the table between them.
    let home_dir = tempfile::tempdir().unwrap();
    let mut copied = 0;
    for i in 0..2 {
        let options = CopyOptions {
            partition: Partition::new(i, 2).unwrap(),
            plan: Some(PlanHome::in_dir(home_dir.path())),
            ..CopyOptions::default()
        };
        copied += copy(&table, &target, &options, &Silent)
            .await
            .unwrap()
            .records;
    }
    assert_eq!(copied, 100);
    assert_eq!(common::count(target_store.as_ref()).await, 100);
}

#[tokio::test]
async fn more_partitions_than_rows_leave_some_empty_and_miss_nothing() {
    let home_dir = tempfile::tempdir().unwrap();
    let home = PlanHome::in_dir(home_dir.path());
    let (_db, table) = table_of(3).await;
    let mut read = BTreeSet::new();
    let mut total = 0;
    for i in 0..8 {
        let partition = Partition::new(i, 8).unwrap();
        share_plan(&table, partition, Some(&home)).await.unwrap();
        let share = ids_of(&table, partition).await;
        total += share.len();
        read.extend(share);
    }
    assert_eq!(read, ids(1_000..1_003));
    assert_eq!(total, 3);
}

#[tokio::test]
async fn a_conflict_while_another_put_of_the_plan_lands_reads_that_plan() {
    use store_layers::{Fault, FaultLayer, LayerExt as _};
    let (_db, table) = table_of(100).await;
    let key = ObjectKey::new("plan.json").unwrap();
    // S3 answers 409 to a conditional put racing another: here the put lands, and its caller
    // is told of a conflict all the same.
    let racing = FaultLayer::seeded(1).with(
        Fault::error(ErrorKind::Conflict, 1.0)
            .operations(&["put"])
            .after_success(),
    );
    let store = Arc::new(MemoryObjectStore::new().layer(racing));
    let home = PlanHome::object(store.clone(), &key);
    share_plan(&table, Partition::new(0, 2).unwrap(), Some(&home))
        .await
        .unwrap();
    let stored: serde_json::Value =
        serde_json::from_slice(&store.get_bytes(&key).await.unwrap()).unwrap();
    assert_eq!(stored["partitions"], 2);

    // A store that never lets the plan be made gives up, naming it, instead of looping.
    let refusing =
        FaultLayer::seeded(1).with(Fault::error(ErrorKind::Conflict, 1.0).operations(&["put"]));
    let store = Arc::new(MemoryObjectStore::new().layer(refusing));
    let err = share_plan(
        &table,
        Partition::new(0, 2).unwrap(),
        Some(&PlanHome::object(store, &key)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains("plan.json"), "{err}");
}

#[tokio::test]
async fn a_run_is_never_resumed_by_another_plan_than_its_checkpoint_was_read_by() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("copy.json");
    let (db, table) = table_of(200).await;
    let (_target_store, target) = documents("target", &[]).await;
    let options = |plans: &str| CopyOptions {
        batch_size: 10,
        partition: Partition::new(0, 2).unwrap(),
        checkpoint: Some(checkpoint.clone()),
        plan: Some(PlanHome::in_dir(dir.path().join(plans))),
        ..CopyOptions::default()
    };
    copy(&table, &target, &options("first"), &Silent)
        .await
        .unwrap();
    // Made unfinished again, as if killed before its last step.
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    assert!(state["plan"].is_string(), "the checkpoint names its plan");
    state["done"] = false.into();
    std::fs::write(&checkpoint, serde_json::to_vec(&state).unwrap()).unwrap();

    // Elsewhere, after the table grew, a plan is cut again: its ranges differ.
    insert(&db, 5_000..5_300).await;
    let err = copy(&table, &target, &options("second"), &Silent)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("--restart"), "{err}");
    assert!(
        !dir.path().join("second/plan.json").exists(),
        "refused before a plan was made there"
    );

    // By the plan it was read by, it resumes and finishes.
    let report = copy(&table, &target, &options("first"), &Silent)
        .await
        .unwrap();
    assert_eq!(report.resumed_records, 100);
}

/// A partitioned backup into `dir`: partition `index` of 2 of `table`.
async fn back_up_share(
    table: &SqlTable,
    dir: &std::path::Path,
    index: u32,
) -> store_core::Result<()> {
    let partition = Partition::new(index, 2).unwrap();
    let sink = ArchiveSink::in_dir(dir, "file://archive", "stores-test", partition)
        .with_source(table.describe());
    let options = CopyOptions {
        partition,
        batch_size: 100,
        ..CopyOptions::default()
    };
    copy(table, &sink, &options, &Silent).await.map(|_| ())
}

#[tokio::test]
async fn the_merged_manifest_names_the_plan_every_partition_read_by() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, table) = table_of(600).await;
    back_up_share(&table, dir.path(), 0).await.unwrap();
    back_up_share(&table, dir.path(), 1).await.unwrap();

    let plan_file = std::fs::read(dir.path().join("partitions/plan.json")).unwrap();
    let plan_sha = hex_sha256(&plan_file);
    let archive = ArchiveSource::in_dir(dir.path(), "archive");
    let manifest = archive.manifest().await.unwrap();
    assert_eq!(
        manifest.plan.as_deref(),
        Some(plan_sha.as_str()),
        "as `sha256sum plan.json` prints for a plan stores wrote"
    );
    assert_eq!(manifest.collections[0].records, 600);
}

#[tokio::test]
async fn partitions_read_by_different_plans_are_never_merged() {
    let dir = tempfile::tempdir().unwrap();
    let (db, table) = table_of(600).await;
    back_up_share(&table, dir.path(), 0).await.unwrap();
    // The plan is deleted mid-backup and the table grows: the second partition cuts its
    // range from a new plan, whose first range ends later than the one partition 0 read.
    std::fs::remove_file(dir.path().join("partitions/plan.json")).unwrap();
    insert(&db, 5_000..5_600).await;

    let err = back_up_share(&table, dir.path(), 1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    for said in [
        "partitions/0-of-2.json was read by partition plan",
        "but partitions/1-of-2.json by",
        "no manifest was written",
    ] {
        assert!(
            err.message().contains(said),
            "{said:?} not in {}",
            err.message()
        );
    }
    assert!(
        !dir.path().join("manifest.json").exists(),
        "no manifest for mixed partitions"
    );
    let archive = ArchiveSource::in_dir(dir.path(), "archive");
    assert!(
        archive.manifest().await.is_err(),
        "a restore refuses the unfinished archive"
    );
}

/// A partition manifest written before manifests recorded plans (no `plan`) agrees with the
/// plan the others recorded: an archive begun by an older stores is finished by a newer one.
#[tokio::test]
async fn a_partition_manifest_without_a_plan_merges_with_one_that_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, table) = table_of(600).await;
    back_up_share(&table, dir.path(), 0).await.unwrap();
    let older = dir.path().join("partitions/0-of-2.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&older).unwrap()).unwrap();
    assert!(manifest.as_object_mut().unwrap().remove("plan").is_some());
    std::fs::write(&older, manifest.to_string()).unwrap();

    back_up_share(&table, dir.path(), 1).await.unwrap();
    let plan_file = std::fs::read(dir.path().join("partitions/plan.json")).unwrap();
    let archive = ArchiveSource::in_dir(dir.path(), "archive");
    let merged = archive.manifest().await.unwrap();
    assert_eq!(merged.plan, Some(hex_sha256(&plan_file)));
    assert_eq!(merged.collections[0].records, 600);
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
