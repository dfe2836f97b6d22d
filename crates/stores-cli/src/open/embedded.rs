//! Opening the embedded stores: a store-redb file's table (its key read from the file, or
//! taken from the source for a new one) and a store-tantivy index.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use store_core::memory::MemoryDocumentStore;
use store_core::{DocumentStore, ErrorKind, KeySchema};
use store_redb::{RedbStore, StoredTable};
use store_sync::CollectionSchema;
use store_tantivy::TantivyIndex;

use super::created::{Created, remember};
use super::folders::{missing_folder, parent_folder_exists};
use super::{Access, key_schema_of};
use crate::location::key_params;

/// What a `redb://` location asks of its file: the table and key it names, if any.
pub(super) struct RedbTarget<'a> {
    pub(super) path: &'a Path,
    pub(super) table: Option<&'a str>,
    pub(super) key: Option<&'a KeySchema>,
}

/// The table of a store-redb file, opened as `access` needs it. An existing file is opened as
/// it is (every index kept; read-only unless written to; repaired first when a crash left it
/// unclean); a missing one is created for a
/// write, keyed by the location's key or else the source's, or read as an empty store in
/// memory by a dry run.
pub(super) async fn open_redb(
    target: &RedbTarget<'_>,
    access: Access,
    schema: Option<&CollectionSchema>,
    create: bool,
) -> Result<Arc<dyn DocumentStore>> {
    let path = target.path;
    // A file a crash left unclean (a killed copy into it) is repaired, to its last commit,
    // unless this is a dry run, which writes nothing.
    let stored = if access == Access::DryRun {
        StoredTable::read(path).await
    } else {
        StoredTable::read_repairing(path).await
    };
    let missing = match stored {
        Ok(stored) => return open_stored(target, &stored, access).await,
        Err(e) if e.kind() == ErrorKind::NotFound => e,
        Err(e) => return Err(e.into()),
    };
    if access == Access::Read || !create {
        return Err(anyhow!("{}", missing.message()));
    }
    let keys = new_key(target, schema)?;
    let name = table_name(target)?;
    if access == Access::DryRun {
        return Ok(Arc::new(MemoryDocumentStore::new(&name, keys)?));
    }
    parent_folder_exists(path)?;
    // An empty file held no store: made now, it is this run's (to remove if the run fails).
    let existed = path.metadata().is_ok_and(|m| m.len() > 0);
    let store = RedbStore::open(path, &name, keys).await?;
    if !existed {
        remember(Created::Redb(path.to_owned()));
    }
    Ok(Arc::new(store))
}

/// The key of a new file: the source's, which the location may repeat but not change (keyed
/// otherwise, records would not match by key, and two sharing a value would become one).
fn new_key(target: &RedbTarget<'_>, schema: Option<&CollectionSchema>) -> Result<KeySchema> {
    let shown = target.path.display();
    let theirs = schema.and_then(key_schema_of);
    let their_names = schema.map(CollectionSchema::key_names);
    match (target.key, theirs) {
        (Some(ours), Some(theirs)) if *ours != theirs => bail!(
            "the source is keyed {}, so {shown} must be too (not {}): drop ?key= to take the \
             source's key",
            shown_key(&theirs),
            shown_key(ours)
        ),
        (Some(ours), None)
            if let Some(names) = their_names.as_ref().filter(|n| **n != names_of(ours)) =>
        {
            bail!(
                "the source is keyed by ({}), so {shown} must be too (not {}): name those \
                 with ?key=NAME:S (S text, N number, B bytes)",
                names.join(", "),
                shown_key(ours),
            )
        }
        (Some(ours), _) => Ok(ours.clone()),
        (None, Some(theirs)) => Ok(theirs),
        (None, None) => match their_names {
            Some(names) if names.len() > 2 => bail!(
                "the source is keyed by ({}), but a redb table's key has at most two parts \
                 (a partition and a sort key): copy into a SQL table instead",
                names.join(", ")
            ),
            _ => bail!(
                "{shown} does not exist and the source does not say its key types; name them \
                 with ?key=NAME:S (S text, N number, B bytes) and ?sort=NAME:N for a sort key"
            ),
        },
    }
}

/// The names of a key's parts, in order.
fn names_of(key: &KeySchema) -> Vec<String> {
    std::iter::once(key.partition.name.clone())
        .chain(key.sort.iter().map(|s| s.name.clone()))
        .collect()
}

/// An existing file's table, after checking it is the one the location names.
async fn open_stored(
    target: &RedbTarget<'_>,
    stored: &StoredTable,
    access: Access,
) -> Result<Arc<dyn DocumentStore>> {
    let shown = target.path.display();
    if let Some(table) = target.table.filter(|t| *t != stored.table) {
        bail!(
            "{shown} holds the table `{}`, not `{table}` (a store file holds one table); drop \
             ?table= or name another file",
            stored.table
        );
    }
    if let Some(key) = target.key.filter(|k| **k != stored.key_schema) {
        bail!(
            "the table in {shown} is keyed {}, not {}; drop ?key= or name another file",
            shown_key(&stored.key_schema),
            shown_key(key)
        );
    }
    let config = stored.config(target.path);
    // Read-only for reading: no writer lock, so a check beside a running copy works.
    let config = config.read_only(access != Access::Write);
    Ok(Arc::new(config.build().await?))
}

/// `?key=pk:S&sort=sk:N`, as a location writes it.
fn shown_key(key: &KeySchema) -> String {
    format!("?{}", key_params(key))
}

/// The name of a new file's table: the location's, or the file's stem.
fn table_name(target: &RedbTarget<'_>) -> Result<String> {
    if let Some(table) = target.table {
        return Ok(table.to_owned());
    }
    let stem = target
        .path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("");
    match store_core::TableName::new(stem) {
        Ok(_) => Ok(stem.to_owned()),
        Err(e) => Err(anyhow!(
            "the table of a new store file is named after the file, but `{stem}` cannot name \
             one ({}); add ?table=NAME",
            e.message()
        )),
    }
}

/// The index `index` in the directory `root`. Writing needs the directory to exist (the
/// index's own directory is made when the index is created); reading needs the index, which
/// is opened for reading only (no lock), so it reads beside a process writing it.
pub(super) async fn open_tantivy(root: &Path, index: &str, access: Access) -> Result<TantivyIndex> {
    if access == Access::Write && !root.is_dir() {
        return Err(missing_folder(root).into());
    }
    let existed = root.join(index).exists();
    if access != Access::Write && root.join(index).join("meta.json").exists() {
        return Ok(TantivyIndex::open_read_only(root, index).await?);
    }
    let opened = TantivyIndex::open(root, index).await?;
    if access == Access::Write && !existed {
        remember(Created::Tantivy {
            root: root.to_owned(),
            index: index.to_owned(),
        });
    }
    Ok(opened)
}
