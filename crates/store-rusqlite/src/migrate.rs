//! Versioned, checksummed SQL migrations applied under SQLite's own write lock.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::Connection;
use sha2::{Digest, Sha256};
use store_core::{Result, StoreError};

use crate::error::{BACKEND, map_sqlite};
use crate::exec;
use store_core::sql::quote_qualified;

use crate::sqltext::leading_keywords;
use crate::store::SqliteStore;

/// One migration: a version, a name and the SQL it runs (any number of statements).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Its position in the order of migrations; unique.
    pub version: i64,
    /// A short description.
    pub name: String,
    /// The SQL, run inside the migration's transaction.
    pub sql: String,
}

impl Migration {
    /// A migration.
    pub fn new(version: i64, name: impl Into<String>, sql: impl Into<String>) -> Self {
        Self {
            version,
            name: name.into(),
            sql: sql.into(),
        }
    }

    /// The SHA-256 of the SQL, hex: what is recorded when it is applied and compared after.
    pub fn checksum(&self) -> String {
        Sha256::digest(self.sql.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// What a [`Migrator::run`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this run, in order.
    pub applied: Vec<i64>,
    /// Versions found already applied (by an earlier run or another process).
    pub already_applied: Vec<i64>,
}

/// Applies [`Migration`]s in version order, each in its own transaction, recording them in a
/// history table (`store_rusqlite_migrations` by default) with their checksums.
///
/// Each migration runs inside `BEGIN IMMEDIATE`, SQLite's write lock on the file, and reads
/// the history again under it, so processes that migrate at once apply each migration exactly
/// once: the others wait (up to the busy timeout), then find it done. A migration whose SQL
/// changed after it was applied is refused (`PreconditionFailed`), as is a gap (a version
/// below the newest applied one that was never applied).
///
/// Inside a transaction SQLite ignores `PRAGMA foreign_keys` and refuses `BEGIN`, `COMMIT`
/// and `VACUUM`: to rebuild a table, use `PRAGMA defer_foreign_keys = ON` in the migration.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use store_rusqlite::{Migration, Migrator, SqliteStore};
///
/// let store = SqliteStore::memory().await?;
/// let migrator = Migrator::new(vec![
///     Migration::new(1, "users", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)"),
///     Migration::new(2, "email index", "CREATE UNIQUE INDEX users_email ON users (email)"),
/// ])?;
/// assert_eq!(migrator.run(&store).await?.applied, [1, 2]);
/// assert_eq!(migrator.run(&store).await?.already_applied, [1, 2]);
/// # Ok::<_, store_core::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Migrator {
    migrations: Vec<Migration>,
    table: String,
}

impl Migrator {
    /// A migrator for these migrations; versions must be unique.
    pub fn new(mut migrations: Vec<Migration>) -> Result<Self> {
        migrations.sort_by_key(|m| m.version);
        if let Some(w) = migrations.windows(2).find(|w| w[0].version == w[1].version) {
            return Err(StoreError::invalid_input(format!(
                "two migrations have version {}: `{}` and `{}`",
                w[0].version, w[0].name, w[1].name
            )));
        }
        Ok(Self {
            migrations,
            table: "store_rusqlite_migrations".into(),
        })
    }

    /// Reads `V<version>__<name>.sql` files from a folder (Flyway's and refinery's naming);
    /// other files are ignored.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let read_err = |e: std::io::Error| {
            StoreError::invalid_input(format!("reading migrations from {}: {e}", dir.display()))
                .with_source(e)
        };
        let mut migrations = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_err)? {
            let path = entry.map_err(read_err)?.path();
            let Some(stem) = path
                .file_name()
                .and_then(|f| f.to_str())
                .and_then(|f| f.strip_suffix(".sql"))
            else {
                continue;
            };
            let Some((version, name)) = stem.strip_prefix('V').and_then(|s| s.split_once("__"))
            else {
                continue;
            };
            let Ok(version) = version.parse::<i64>() else {
                continue;
            };
            let sql = std::fs::read_to_string(&path).map_err(read_err)?;
            migrations.push(Migration::new(version, name.replace('_', " "), sql));
        }
        Self::new(migrations)
    }

    /// Records history in this table instead (may be schema-qualified).
    pub fn table(mut self, name: impl Into<String>) -> Self {
        self.table = name.into();
        self
    }

    /// The migrations, in order.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    /// Applies every migration not yet applied.
    pub async fn run(&self, store: &SqliteStore) -> Result<MigrationReport> {
        let this = self.clone();
        let read_only = store.config().is_read_only();
        async move {
            let guard = store.writer("migrate").await?;
            let table = this.table.clone();
            guard
                .run(move |conn| this.apply(conn, read_only))
                .await
                .map_err(|e| e.in_context(BACKEND, "migrate").with_target(table))
        }
        .await
    }

    fn apply(&self, conn: &mut Connection, read_only: bool) -> Result<MigrationReport> {
        let table = quote_qualified(&self.table);
        let sql_err = |e| map_sqlite(e, "migrate");
        exec::run_script(
            conn,
            &format!(
                "CREATE TABLE IF NOT EXISTS {table} (
                    version INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    checksum TEXT NOT NULL,
                    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                )"
            ),
            "migrate",
        )?;
        let mut report = MigrationReport::default();
        for m in &self.migrations {
            conn.execute_batch(exec::begin_sql(read_only))
                .map_err(sql_err)?;
            let step = self.step(conn, &table, m);
            match step {
                Ok(applied) => {
                    if let Err(e) = conn.execute_batch("COMMIT") {
                        exec::rollback(conn);
                        return Err(sql_err(e));
                    }
                    if applied {
                        tracing::info!(version = m.version, name = %m.name, "migration applied");
                        report.applied.push(m.version);
                    } else {
                        report.already_applied.push(m.version);
                    }
                }
                Err(e) => {
                    exec::rollback(conn);
                    return Err(e);
                }
            }
        }
        Ok(report)
    }

    /// Under the write lock: checks the history and applies `m` if it is new. Returns
    /// whether it was applied.
    fn step(&self, conn: &Connection, table: &str, m: &Migration) -> Result<bool> {
        let sql_err = |e| map_sqlite(e, "migrate");
        let mut stmt = conn
            .prepare(&format!("SELECT version, checksum FROM {table}"))
            .map_err(sql_err)?;
        let applied: BTreeMap<i64, String> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sql_err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(sql_err)?;
        drop(stmt);
        if let Some(recorded) = applied.get(&m.version) {
            if *recorded != m.checksum() {
                return Err(StoreError::precondition_failed(format!(
                    "migration V{} `{}` changed after it was applied (checksum {recorded} \
                     recorded, {} now); add a new migration instead of editing an applied one",
                    m.version,
                    m.name,
                    m.checksum()
                )));
            }
            return Ok(false);
        }
        if let Some(newest) = applied.keys().next_back().filter(|n| **n > m.version) {
            return Err(StoreError::precondition_failed(format!(
                "migration V{} `{}` is older than V{newest} which is already applied",
                m.version, m.name
            )));
        }
        if let Some(k) = leading_keywords(&m.sql)
            .into_iter()
            .find(|k| matches!(k.as_str(), "BEGIN" | "COMMIT" | "END" | "VACUUM"))
        {
            return Err(StoreError::invalid_input(format!(
                "migration V{} `{}` has a {k} statement; migrations must not control \
                 transactions (each already runs in its own)",
                m.version, m.name
            )));
        }
        let failed = |e: rusqlite::Error| {
            let err = map_sqlite(e, "migrate");
            StoreError::new(
                err.kind(),
                format!(
                    "migration V{} `{}` failed: {}",
                    m.version,
                    m.name,
                    err.message()
                ),
            )
            .with_source(err)
        };
        exec::check_sql(&m.sql, "migrate")?;
        conn.execute_batch(&m.sql).map_err(failed)?;
        if conn.is_autocommit() {
            return Err(StoreError::invalid_input(format!(
                "migration V{} `{}` ended its transaction; migrations must not COMMIT or \
                 ROLLBACK (each already runs in its own transaction)",
                m.version, m.name
            )));
        }
        conn.execute(
            &format!("INSERT INTO {table} (version, name, checksum) VALUES (?1, ?2, ?3)"),
            rusqlite::params![m.version, m.name, m.checksum()],
        )
        .map_err(sql_err)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_versions_are_refused_and_order_is_by_version() {
        assert!(
            Migrator::new(vec![Migration::new(1, "a", ""), Migration::new(1, "b", "")]).is_err()
        );
        let m =
            Migrator::new(vec![Migration::new(2, "b", ""), Migration::new(1, "a", "")]).unwrap();
        assert_eq!(m.migrations()[0].version, 1);
    }

    #[test]
    fn checksums_are_sha256() {
        assert_eq!(
            Migration::new(1, "x", "").checksum(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
