//! Versioned, checksummed SQL migrations applied under an advisory lock.
//!
//! A small runner of our own rather than refinery: refinery takes no lock around its run (two
//! processes starting together both try to apply the same migration and one fails), and it
//! brings regex, toml, time, walkdir and url with it. This runner is ~200 lines on the pool we
//! already have.

use std::path::Path;

use sha2::{Digest, Sha256};
use store_core::{Result, StoreError};

use crate::error::{BACKEND, map_pg};
use crate::quote_qualified;
use crate::store::PgStore;

/// One migration: a version, a name and the SQL it runs (any number of statements).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Its position in the order of migrations; unique.
    pub version: i64,
    /// A short description.
    pub name: String,
    /// The SQL, run as one transaction.
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
    /// Versions found already applied (by an earlier run or a concurrent process).
    pub already_applied: Vec<i64>,
}

/// Applies [`Migration`]s in version order, each in its own transaction, recording them in a
/// history table (`store_rds_migrations` by default) with their checksums.
///
/// The whole run holds a PostgreSQL advisory lock, so processes that start at once apply each
/// migration exactly once: the others wait, then find it done. A migration whose SQL changed
/// after it was applied is refused (`PreconditionFailed`), as is a gap (a version below the
/// newest applied one that was never applied).
///
/// ```no_run
/// # async fn demo(store: &store_rds::PgStore) -> store_core::Result<()> {
/// use store_rds::{Migration, Migrator};
/// let migrator = Migrator::new(vec![
///     Migration::new(1, "users", "CREATE TABLE users (id bigint PRIMARY KEY, email text)"),
///     Migration::new(2, "email index", "CREATE UNIQUE INDEX users_email ON users (email)"),
/// ])?;
/// let report = migrator.run(store).await?;
/// println!("applied {:?}", report.applied);
/// # Ok(()) }
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
            table: "store_rds_migrations".into(),
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
            let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
                continue;
            };
            let Some(stem) = file.strip_suffix(".sql") else {
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

    /// The advisory lock key: derived from the history table's name.
    fn lock_key(&self) -> i64 {
        let digest = Sha256::digest(format!("store-rds migrations {}", self.table).as_bytes());
        let mut key = [0u8; 8];
        key.copy_from_slice(&digest[..8]);
        i64::from_be_bytes(key)
    }

    /// Applies every migration not yet applied, under the advisory lock.
    pub async fn run(&self, store: &PgStore) -> Result<MigrationReport> {
        async {
            // Guarded: if this future is dropped while the lock is held (or a migration runs),
            // the connection is closed, never pooled, so the session and its lock end with it.
            let conn = store.guarded("migrate").await?;
            let key = self.lock_key();
            conn.execute("SELECT pg_advisory_lock($1)", &[&key])
                .await
                .map_err(|e| map_pg(e, "migrate"))?;
            let outcome = self.apply(&conn).await;
            match conn.execute("SELECT pg_advisory_unlock($1)", &[&key]).await {
                Ok(_) => conn.release(),
                // The lock dies with the session: never pool a connection that may hold it.
                Err(_) => conn.discard(),
            }
            outcome.map_err(|e| {
                e.in_context(BACKEND, "migrate")
                    .with_target(self.table.clone())
            })
        }
        .await
    }

    async fn apply(&self, conn: &deadpool_postgres::Object) -> Result<MigrationReport> {
        let table = quote_qualified(&self.table);
        conn.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                version bigint PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )"
        ))
        .await
        .map_err(|e| map_pg(e, "migrate"))?;
        let rows = conn
            .query(&format!("SELECT version, checksum FROM {table}"), &[])
            .await
            .map_err(|e| map_pg(e, "migrate"))?;
        let applied: std::collections::BTreeMap<i64, String> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let newest = applied.keys().next_back().copied();
        let mut report = MigrationReport::default();
        for m in &self.migrations {
            if let Some(recorded) = applied.get(&m.version) {
                if *recorded != m.checksum() {
                    return Err(StoreError::precondition_failed(format!(
                        "migration V{} `{}` changed after it was applied (checksum {} recorded, \
                         {} now); add a new migration instead of editing an applied one",
                        m.version,
                        m.name,
                        recorded,
                        m.checksum()
                    )));
                }
                report.already_applied.push(m.version);
                continue;
            }
            if newest.is_some_and(|n| n > m.version) {
                return Err(StoreError::precondition_failed(format!(
                    "migration V{} `{}` is older than V{} which is already applied",
                    m.version,
                    m.name,
                    newest.unwrap_or_default()
                )));
            }
            conn.batch_execute("BEGIN")
                .await
                .map_err(|e| map_pg(e, "migrate"))?;
            let step = async {
                conn.batch_execute(&m.sql).await?;
                conn.execute(
                    &format!("INSERT INTO {table} (version, name, checksum) VALUES ($1, $2, $3)"),
                    &[&m.version, &m.name, &m.checksum()],
                )
                .await?;
                conn.batch_execute("COMMIT").await
            }
            .await;
            if let Err(e) = step {
                let _ = conn.batch_execute("ROLLBACK").await;
                let err = map_pg(e, "migrate");
                return Err(StoreError::new(
                    err.kind(),
                    format!(
                        "migration V{} `{}` failed: {}",
                        m.version,
                        m.name,
                        err.message()
                    ),
                )
                .with_source(err));
            }
            tracing::info!(version = m.version, name = %m.name, "migration applied");
            report.applied.push(m.version);
        }
        Ok(report)
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
