//! Partition plans: how a source that splits by its own data (a SQL table, by key ranges) is
//! cut into N partitions, decided once and shared by every process of one partitioned job.
//!
//! A key range cut from row counts depends on the moment it is cut: two processes that each
//! counted for themselves while rows came and went would disagree about where partition I ends
//! and I+1 begins, and the rows between their two answers would be copied by neither. So the
//! first process to arrive cuts the ranges from one snapshot and stores the plan where every
//! process can reach it (a backup's archive, or `--plan`), created only if absent; every other
//! process, and every resumed run, reads that plan instead of cutting its own.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value as Json, json};
use store_core::{ErrorKind, ObjectKey, ObjectStore, Result, StoreError};

use crate::archive::storage::Storage;
use crate::source::{Partition, RecordSource};

/// The format name in every plan file.
const PLAN_FORMAT: &str = "stores partition plan";

/// The plan format's version.
const PLAN_VERSION: u64 = 1;

/// How a source is cut into `total` partitions: source-specific split points (for a SQL table,
/// the last key of each partition but the last), and the source they were cut from.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionPlan {
    source: String,
    total: u32,
    splits: Json,
}

impl PartitionPlan {
    /// A plan cutting `source` (as the source describes itself) into `total` partitions at
    /// `splits`, in the source's own encoding.
    pub fn new(source: impl Into<String>, total: u32, splits: Json) -> Self {
        Self {
            source: source.into(),
            total,
            splits,
        }
    }

    /// The source the plan was cut from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// How many partitions it makes.
    pub fn total(&self) -> u32 {
        self.total
    }

    /// The split points, in the source's own encoding.
    pub fn splits(&self) -> &Json {
        &self.splits
    }

    /// The SHA-256 of the plan (in hex): a checkpoint keeps it, so that a run is never
    /// resumed by another plan than the one its position was read by.
    pub fn digest(&self) -> String {
        use sha2::{Digest as _, Sha256};
        crate::digest::hex(&Sha256::digest(self.to_json()))
    }

    fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(&json!({
            "format": PLAN_FORMAT,
            "version": PLAN_VERSION,
            "source": self.source,
            "partitions": self.total,
            "splits": self.splits,
        }))
        .expect("a plan serializes");
        bytes.push(b'\n');
        bytes
    }

    fn parse(bytes: &[u8], name: &str) -> Result<Self> {
        let bad = |why: &str| StoreError::invalid_input(format!("{name} is not a plan: {why}"));
        let json: Json = serde_json::from_slice(bytes).map_err(|e| bad(&e.to_string()))?;
        if json["format"] != PLAN_FORMAT {
            return Err(bad("its format is not `stores partition plan`"));
        }
        if json["version"] != PLAN_VERSION {
            return Err(StoreError::invalid_input(format!(
                "{name} is a partition plan of version {}; this tool reads version \
                 {PLAN_VERSION}",
                json["version"]
            )));
        }
        let total = json["partitions"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| bad("`partitions` is not a positive count"))?;
        let source = json["source"]
            .as_str()
            .ok_or_else(|| bad("`source` is missing"))?;
        Ok(Self::new(source, total, json["splits"].clone()))
    }
}

/// Where the processes of one partitioned job keep their shared plan: a file in a directory
/// they all reach, or an object in a store they all reach.
#[derive(Debug, Clone)]
pub struct PlanHome {
    storage: Storage,
    path: String,
    /// Whether this is an archive's own plan (`partitions/plan.json` in it).
    in_archive: bool,
}

impl PlanHome {
    /// The plan file `plan.json` in the local directory `dir` (created if missing): a volume
    /// every process mounts.
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        Self::new(Storage::Dir(dir.as_ref().to_path_buf()), "plan.json")
    }

    /// The object `plan.json` under `prefix` of `store` (the whole store for an empty
    /// prefix).
    pub fn under(store: Arc<dyn ObjectStore>, prefix: impl Into<String>) -> Self {
        let storage = Storage::Objects {
            store,
            prefix: prefix.into(),
        };
        Self::new(storage, "plan.json")
    }

    /// The plan of a partitioned backup into the archive whose files `storage` holds.
    pub(crate) fn of_archive(storage: &Storage) -> Self {
        Self {
            in_archive: true,
            ..Self::new(storage.clone(), "partitions/plan.json")
        }
    }

    /// The object `key` of `store`.
    pub fn object(store: Arc<dyn ObjectStore>, key: &ObjectKey) -> Self {
        let storage = Storage::Objects {
            store,
            prefix: String::new(),
        };
        Self::new(storage, key.as_str())
    }

    pub(crate) fn new(storage: Storage, path: impl Into<String>) -> Self {
        Self {
            storage,
            path: path.into(),
            in_archive: false,
        }
    }

    fn name(&self) -> String {
        self.storage.describe(&self.path)
    }

    /// The plan stored here, if there is one.
    async fn load(&self) -> Result<Option<PartitionPlan>> {
        match self.storage.read(&self.path).await? {
            Some(bytes) => PartitionPlan::parse(&bytes, &self.name()).map(Some),
            None => Ok(None),
        }
    }

    /// The plan stored here, or one cut from `source` now and created here. Of processes
    /// creating it at once, one succeeds and the others read its plan; a create that neither
    /// succeeded nor found one (S3 answers a conflict while another conditional put of the key
    /// is under way) is tried again, a few times.
    async fn load_or_create(&self, source: &dyn RecordSource, total: u32) -> Result<PartitionPlan> {
        let mut ours: Option<PartitionPlan> = None;
        let mut tries = 0u64;
        loop {
            if let Some(plan) = self.load().await? {
                return Ok(plan);
            }
            let plan = match ours.take() {
                Some(plan) => plan,
                None => source.cut_plan(total).await?,
            };
            match self
                .storage
                .create(&self.path, plan.to_json(), "application/json")
                .await
            {
                Ok(true) => return Ok(plan),
                // Another process's plan is there (or being put): read it on the next turn.
                Ok(false) => {}
                Err(e) if e.kind() == ErrorKind::Conflict => {}
                Err(e) => return Err(e),
            }
            tries += 1;
            if tries == 5 {
                if let Some(plan) = self.load().await? {
                    return Ok(plan);
                }
                return Err(StoreError::conflict(format!(
                    "{} could not be created or read after {tries} tries",
                    self.name()
                )));
            }
            ours = Some(plan);
            tokio::time::sleep(std::time::Duration::from_millis(50 * tries)).await;
        }
    }

    /// Checks that `plan`, found here, cuts `source` into `total` partitions.
    fn fits(&self, plan: &PartitionPlan, source: &str, total: u32) -> Result<()> {
        if plan.source != source {
            return Err(StoreError::already_exists(format!(
                "{} is the partition plan of {}, not of {source}; {}",
                self.name(),
                plan.source,
                self.elsewhere("a plan location of its own")
            )));
        }
        if plan.total != total {
            return Err(StoreError::invalid_input(format!(
                "{} cuts {source} into {} partitions, not {total}: run every partition of one \
                 job with the same N, or {}",
                self.name(),
                plan.total,
                self.elsewhere("a new plan location")
            )));
        }
        Ok(())
    }

    /// What to do instead of sharing this plan: an archive's plan is the archive's (back up
    /// into a new location); any other is given as a location (`giving`).
    fn elsewhere(&self, giving: &str) -> String {
        if self.in_archive {
            "back up into a new location".to_owned()
        } else {
            format!("give this job {giving}")
        }
    }
}

/// Gives `source` the plan its `partition` is read by, when it needs one
/// ([`RecordSource::plans_partitions`]): the plan stored in `home`, or, when there is none yet,
/// one cut now and stored there (created only if absent, so of two processes arriving at once,
/// both use the plan of the one that stored it first). Nothing happens for a whole source or a
/// source that splits itself.
///
/// A plan of another source or another partition count in `home` is refused, and so is a
/// partitioned read of such a source without a home. Returns the plan given to the source.
pub async fn share_plan(
    source: &dyn RecordSource,
    partition: Partition,
    home: Option<&PlanHome>,
) -> Result<Option<PartitionPlan>> {
    let Some(home) = require_plan_home(source, partition, home)? else {
        return Ok(None);
    };
    let name = source.describe();
    let total = partition.total();
    let plan = home.load_or_create(source, total).await?;
    home.fits(&plan, &name, total)?;
    source.use_plan(&plan)?;
    Ok(Some(plan))
}

/// The home `partition` of `source` shares its plan in, when it needs one: `None` when it
/// needs none, and an error when it needs one and `home` is `None`.
pub(crate) fn require_plan_home<'a>(
    source: &dyn RecordSource,
    partition: Partition,
    home: Option<&'a PlanHome>,
) -> Result<Option<&'a PlanHome>> {
    if partition.is_whole() || !source.plans_partitions() {
        return Ok(None);
    }
    home.map(Some).ok_or_else(|| {
        StoreError::invalid_input(format!(
            "partition {partition} of {} is a key range of a plan that every partition must \
             share: give a plan location all {} processes reach (--plan), or back up into an \
             archive, which keeps the plan",
            source.describe(),
            partition.total()
        ))
    })
}

/// Checks, writing nothing, that a plan already in `home` fits `partition` of `source`, and
/// that it is the plan `read_by` (a digest a checkpoint kept) names: a copy refuses a plan of
/// another job, or a run resumed by another plan, before it prepares its sink or stores a plan.
pub(crate) async fn check_stored_plan(
    source: &dyn RecordSource,
    partition: Partition,
    home: Option<&PlanHome>,
    read_by: Option<&str>,
) -> Result<()> {
    let Some(home) = require_plan_home(source, partition, home)? else {
        return Ok(());
    };
    let stored = home.load().await?;
    if let Some(plan) = &stored {
        home.fits(plan, &source.describe(), partition.total())?;
    }
    match (read_by, stored.as_ref().map(PartitionPlan::digest)) {
        (Some(read_by), Some(digest)) if read_by != digest => Err(resumed_by_another(home)),
        (Some(_), None) => Err(resumed_by_another(home)),
        _ => Ok(()),
    }
}

/// A checkpoint read by another plan than the one `home` holds (or with none there now).
pub(crate) fn resumed_by_another(home: &PlanHome) -> StoreError {
    StoreError::invalid_input(format!(
        "the checkpoint was read by another partition plan than {} holds (the plan location \
         changed, or its plan was removed or made again): resuming would miss or repeat \
         records; pass --restart",
        home.name()
    ))
}

/// As [`share_plan`], but writing nothing: the plan stored in `home` when there is one, else
/// one cut now and kept in this process only (what a dry run counts by).
pub async fn preview_plan(
    source: &dyn RecordSource,
    partition: Partition,
    home: Option<&PlanHome>,
) -> Result<()> {
    if partition.is_whole() || !source.plans_partitions() {
        return Ok(());
    }
    let total = partition.total();
    let stored = match home {
        Some(home) => match home.load().await? {
            Some(plan) => {
                home.fits(&plan, &source.describe(), total)?;
                Some(plan)
            }
            None => None,
        },
        None => None,
    };
    let plan = match stored {
        Some(plan) => plan,
        None => source.cut_plan(total).await?,
    };
    source.use_plan(&plan)
}
