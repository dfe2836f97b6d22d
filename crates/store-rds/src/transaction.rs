//! [`PgTransaction`]: an open transaction on one pooled connection, rolled back when
//! dropped without commit.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::Object;
use store_core::sql::SqlTransaction;
use store_core::{Document, Result, StoreError, Value};

use crate::cancel::{cancel, limited, timed_out};
use crate::error::{BACKEND, map_pg};
use crate::store::{execute_on, query_all_on};
use crate::tls::Connector;

/// An open transaction on one pooled connection.
///
/// Dropped without [`commit`](SqlTransaction::commit) or
/// [`rollback`](SqlTransaction::rollback) (including while a panic unwinds), it is rolled back
/// before its connection returns to the pool; with no runtime left to do that, the connection
/// is closed instead, which makes the server roll back.
pub struct PgTransaction {
    conn: Option<Object>,
    failed: bool,
    /// A statement is running: if the transaction is dropped now, it is cancelled first.
    busy: bool,
    connector: Connector,
    limit: Option<Duration>,
}

impl fmt::Debug for PgTransaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTransaction")
            .field("open", &self.conn.is_some())
            .field("failed", &self.failed)
            .finish()
    }
}

impl PgTransaction {
    /// A transaction already begun on `conn`.
    pub(crate) fn begun(conn: Object, connector: Connector, limit: Option<Duration>) -> Self {
        Self {
            conn: Some(conn),
            failed: false,
            busy: false,
            connector,
            limit,
        }
    }

    /// Runs one statement within the store's time limit. Past it, the statement is cancelled
    /// on the server and fails; the transaction is then rolled back (it cannot commit).
    async fn statement<T>(
        &mut self,
        operation: &'static str,
        run: impl AsyncFnOnce(&Object) -> Result<T>,
    ) -> Result<T> {
        let Some(conn) = self.conn.as_ref() else {
            return Err(finished(operation));
        };
        self.busy = true;
        let outcome = match limited(self.limit, run(conn)).await {
            Ok(outcome) => outcome,
            Err(limit) => {
                cancel(&conn.cancel_token(), self.connector.clone()).await;
                Err(timed_out(operation, limit))
            }
        };
        self.busy = false;
        self.note(outcome)
    }

    /// The transaction's native client, for statements the trait does not cover.
    pub fn client(&self) -> Option<&tokio_postgres::Client> {
        self.conn.as_deref().map(|w| &**w)
    }

    fn note<T>(&mut self, result: Result<T>) -> Result<T> {
        if result.is_err() {
            self.failed = true;
        }
        result
    }
}

fn finished(operation: &'static str) -> StoreError {
    StoreError::invalid_input("the transaction is already finished").in_context(BACKEND, operation)
}

impl Drop for PgTransaction {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // A statement dropped halfway is cancelled, so the rollback does not wait for it.
            let running = self
                .busy
                .then(|| (conn.cancel_token(), self.connector.clone()));
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => {
                    handle.spawn(async move {
                        if let Some((token, connector)) = running {
                            cancel(&token, connector).await;
                        }
                        if conn.batch_execute("ROLLBACK").await.is_err() {
                            // Never hand a connection of unknown state back to the pool.
                            drop(Object::take(conn));
                        }
                    });
                }
                Err(_) => drop(Object::take(conn)),
            }
        }
    }
}

#[async_trait]
impl SqlTransaction for PgTransaction {
    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.statement("transaction.execute", async |conn| {
            execute_on(conn, sql, params, "transaction.execute").await
        })
        .await
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Document>> {
        self.statement("transaction.query", async |conn| {
            query_all_on(conn, sql, params, "transaction.query").await
        })
        .await
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let failed = self.failed;
        let conn = self.conn.take().ok_or_else(|| finished("commit"))?;
        async move {
            if failed {
                // PostgreSQL answers COMMIT of a failed transaction with a silent rollback;
                // say so instead of pretending the work was saved.
                let _ = conn.batch_execute("ROLLBACK").await;
                return Err(StoreError::invalid_input(
                    "a statement of this transaction failed, so it was rolled back, not committed",
                )
                .in_context(BACKEND, "commit"));
            }
            match conn.batch_execute("COMMIT").await {
                Ok(()) => Ok(()),
                Err(e) => {
                    let err = map_pg(e, "commit");
                    if conn.is_closed() {
                        drop(Object::take(conn));
                    }
                    Err(err)
                }
            }
        }
        .await
    }

    async fn rollback(mut self: Box<Self>) -> Result<()> {
        let conn = self.conn.take().ok_or_else(|| finished("rollback"))?;
        async move {
            conn.batch_execute("ROLLBACK").await.map_err(|e| {
                let err = map_pg(e, "rollback");
                drop(Object::take(conn));
                err
            })
        }
        .await
    }
}
