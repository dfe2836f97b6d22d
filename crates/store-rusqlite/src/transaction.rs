//! [`SqliteTransaction`]: a write transaction holding the writer connection, rolled back
//! when dropped without commit.

use std::fmt;

use async_trait::async_trait;
use store_core::sql::{IsolationLevel, SqlTransaction};
use store_core::{Document, ErrorKind, Result, StoreError, Value};

use crate::error::{BACKEND, map_sqlite};
use crate::exec;
use crate::writer::WriterGuard;

/// An open transaction (`BEGIN IMMEDIATE`) on the writer connection.
///
/// It holds the writer from `begin` to commit or rollback, so this store's other writes
/// wait for it (up to the busy timeout, then `Conflict`) while its reader connections keep
/// reading the last committed state. SQLite transactions are serializable whatever
/// [`IsolationLevel`] was asked for.
///
/// A statement that fails inside the transaction undoes only itself (SQLite's statement
/// rollback): the transaction stays open and may still commit. When SQLite itself ends the
/// transaction (an I/O error, a full disk), the handle says so on every later call, and
/// `commit` fails instead of silently running outside it.
///
/// Dropped without [`commit`](SqlTransaction::commit) or
/// [`rollback`](SqlTransaction::rollback) (including while a panic unwinds), it queues a
/// `ROLLBACK` that runs before anything else on the writer.
pub struct SqliteTransaction {
    guard: Option<WriterGuard>,
    isolation: IsolationLevel,
    /// Why the transaction is over although the handle is still open, with the kind to report.
    ended: Option<(ErrorKind, String)>,
}

impl fmt::Debug for SqliteTransaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteTransaction")
            .field("open", &self.guard.is_some())
            .field("isolation", &self.isolation)
            .field("ended", &self.ended)
            .finish()
    }
}

impl SqliteTransaction {
    pub(crate) fn begun(guard: WriterGuard, isolation: IsolationLevel) -> Self {
        Self {
            guard: Some(guard),
            isolation,
            ended: None,
        }
    }

    /// The isolation level asked for (SQLite runs every transaction serializable).
    pub fn isolation(&self) -> IsolationLevel {
        self.isolation
    }

    fn guard(&self, operation: &'static str) -> Result<&WriterGuard> {
        if let Some((kind, why)) = &self.ended {
            return Err(StoreError::new(*kind, why.clone()).in_context(BACKEND, operation));
        }
        self.guard.as_ref().ok_or_else(|| {
            StoreError::invalid_input("the transaction is already finished")
                .in_context(BACKEND, operation)
        })
    }

    /// Runs `job` in the transaction, noticing when the transaction ended under it.
    async fn step<T: Send + 'static>(
        &mut self,
        operation: &'static str,
        job: impl FnOnce(&rusqlite::Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (result, open) = self
            .guard(operation)?
            .run(move |conn| {
                let result = job(conn);
                Ok((result, !conn.is_autocommit()))
            })
            .await?;
        if !open {
            self.ended = Some(match &result {
                Err(e) => (
                    if e.kind() == ErrorKind::Conflict {
                        ErrorKind::Conflict
                    } else {
                        ErrorKind::InvalidInput
                    },
                    format!(
                        "SQLite rolled the transaction back after an error ({}); nothing of it \
                         was committed",
                        e.message()
                    ),
                ),
                Ok(_) => (
                    ErrorKind::InvalidInput,
                    "a statement run through the transaction ended it (COMMIT, ROLLBACK or \
                     END); use the handle's commit and rollback instead"
                        .to_owned(),
                ),
            });
        }
        result
    }
}

impl Drop for SqliteTransaction {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            // Queued before the lock is released, so it runs before the next holder's jobs.
            let _ = guard.spawn(|conn| exec::rollback(conn));
        }
    }
}

#[async_trait]
impl SqlTransaction for SqliteTransaction {
    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let (sql, params) = (sql.to_owned(), params.to_vec());
        self.step("transaction.execute", move |conn| {
            exec::execute(conn, &sql, &params, "transaction.execute")
        })
        .await
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Document>> {
        let (sql, params) = (sql.to_owned(), params.to_vec());
        self.step("transaction.query", move |conn| {
            exec::query_all(conn, &sql, &params, "transaction.query")
        })
        .await
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let checked = self.guard("commit").map(|_| ());
        let guard = self.guard.take();
        async move {
            checked?;
            let guard = guard.ok_or_else(|| StoreError::internal("the transaction vanished"))?;
            guard
                .run(|conn| match conn.execute_batch("COMMIT") {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        // A refused COMMIT (busy) leaves the transaction open: end it, so the
                        // outcome is known — rolled back.
                        exec::rollback(conn);
                        Err(map_sqlite(e, "commit"))
                    }
                })
                .await
        }
        .await
    }

    async fn rollback(mut self: Box<Self>) -> Result<()> {
        let ended = self.ended.is_some();
        let guard = self.guard.take().ok_or_else(|| {
            StoreError::invalid_input("the transaction is already finished")
                .in_context(BACKEND, "rollback")
        })?;
        async move {
            if ended {
                return Ok(());
            }
            guard
                .run(|conn| {
                    if conn.is_autocommit() {
                        return Ok(());
                    }
                    conn.execute_batch("ROLLBACK")
                        .map_err(|e| map_sqlite(e, "rollback"))
                })
                .await
        }
        .await
    }
}
