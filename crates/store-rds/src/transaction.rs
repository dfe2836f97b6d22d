//! [`PgTransaction`]: an open transaction on one pooled connection, rolled back when
//! dropped without commit.

use std::fmt;

use async_trait::async_trait;
use deadpool_postgres::Object;
use store_core::sql::SqlTransaction;
use store_core::{Document, Result, StoreError, Value};

use crate::error::{BACKEND, map_pg};
use crate::store::{execute_on, query_all_on};

/// An open transaction on one pooled connection.
///
/// Dropped without [`commit`](SqlTransaction::commit) or
/// [`rollback`](SqlTransaction::rollback) (including while a panic unwinds), it is rolled back
/// before its connection returns to the pool; with no runtime left to do that, the connection
/// is closed instead, which makes the server roll back.
pub struct PgTransaction {
    conn: Option<Object>,
    failed: bool,
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
    pub(crate) fn begun(conn: Object) -> Self {
        Self {
            conn: Some(conn),
            failed: false,
        }
    }

    fn conn(&self, operation: &'static str) -> Result<&Object> {
        self.conn.as_ref().ok_or_else(|| {
            StoreError::invalid_input("the transaction is already finished")
                .in_context(BACKEND, operation)
        })
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

impl Drop for PgTransaction {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => {
                    handle.spawn(async move {
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
        let result = async {
            let conn = self.conn("transaction.execute")?;
            execute_on(conn, sql, params, "transaction.execute").await
        }
        .await;
        self.note(result)
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Document>> {
        let result = async {
            let conn = self.conn("transaction.query")?;
            query_all_on(conn, sql, params, "transaction.query").await
        }
        .await;
        self.note(result)
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let failed = self.failed;
        let conn = self.conn.take().ok_or_else(|| {
            StoreError::invalid_input("the transaction is already finished")
                .in_context(BACKEND, "commit")
        })?;
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
        let conn = self.conn.take().ok_or_else(|| {
            StoreError::invalid_input("the transaction is already finished")
                .in_context(BACKEND, "rollback")
        })?;
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
